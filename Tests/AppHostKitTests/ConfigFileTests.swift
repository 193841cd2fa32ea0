import Foundation
import TestSupport
import Testing

@testable import AppHostKit

/// `"configFile"`: read when the manifest loads, its password taken, what the server would not use refused.
@Suite struct ConfigFileTests {
  static func project(_ conf: String, name: String = "redis.conf") -> TemporaryFolder {
    let folder = TemporaryFolder("apphost-conf")
    folder.write(name, conf)
    return folder
  }

  @Test func redisConfLinesAreSplitAsTheServerSplitsThem() {
    #expect(CacheConfigFile.splitArguments(#"requirepass "a b\"c\\d""#) == ["requirepass", #"a b"c\d"#])
    #expect(CacheConfigFile.splitArguments("maxmemory   256mb ") == ["maxmemory", "256mb"])
    #expect(CacheConfigFile.splitArguments(#"requirepass 'it\'s'"#) == ["requirepass", "it's"])
    #expect(CacheConfigFile.splitArguments(#"requirepass "\x41B""#) == ["requirepass", "AB"])
    #expect(CacheConfigFile.splitArguments(#"requirepass "open"#) == nil)
    #expect(CacheConfigFile.splitArguments(#"requirepass "a"b"#) == nil)
  }

  @Test func requirepassIsTheCachesPassword() throws {
    let folder = Self.project("# settings\nmaxmemory 64mb\nrequirepass \"From File 1\"\n")
    defer { folder.remove() }
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "configFile": "./redis.conf"}}}"#,
      folder: folder.path)
    let endpoint = try #require(plan.endpoint("cache"))
    #expect(endpoint.password?.revealed() == "From File 1")
    let container = try #require(plan.container("cache"))
    #expect(
      container.mounts.contains(
        Mount(source: .bind(folder.path + "/redis.conf"), target: "/usr/local/etc/apphost/server.conf", readOnly: true))
    )
    let command = try #require(container.command.last)
    // The file first (included), then apphost's password line, then its flags.
    #expect(command.hasPrefix("(umask 077 && { printf 'include %s\\n' /usr/local/etc/apphost/server.conf && printf"))
    #expect(command.hasSuffix("exec docker-entrypoint.sh redis-server - --save '' < /tmp/apphost-redis.conf"))
    #expect(!command.contains("From File 1"))
    #expect(
      container.runArguments(flavor: .podman, owner: nil).contains(
        "\(folder.path)/redis.conf:/usr/local/etc/apphost/server.conf:ro,Z"))
  }

  @Test func aPasswordInBothPlacesIsRefusedNamingBoth() {
    let folder = Self.project("requirepass secret1\n")
    defer { folder.remove() }
    let found = diagnostics(
      #"{"resources": {"cache": {"type": "valkey", "password": "other", "configFile": "redis.conf"}}}"#,
      folder: folder.path)
    #expect(found.count == 1)
    #expect(found.first?.path.description == "resources.cache.password")
    #expect(found.first?.message.contains("requirepass in redis.conf:1") == true)
    #expect(found.first?.location != nil)
  }

  @Test func settingsApphostOwnsAreRefusedWithTheirLine() {
    let folder = Self.project("port 7000\nmaxmemory 1gb\nsave 900 1\ninclude /etc/other.conf\n")
    defer { folder.remove() }
    let found = diagnostics(
      #"{"resources": {"cache": {"type": "redis", "configFile": "redis.conf"}}}"#, folder: folder.path)
    let messages = found.map(\.message)
    #expect(messages.count == 3)
    #expect(messages.contains { $0.hasPrefix("redis.conf:1: port:") && $0.contains("hostPort") })
    #expect(messages.contains { $0.hasPrefix("redis.conf:3: save:") && $0.contains("persistence") })
    #expect(messages.contains { $0.hasPrefix("redis.conf:4: include:") })
    #expect(found.allSatisfy { $0.path.description == "resources.cache.configFile" })
  }

  @Test func aMissingFileIsAManifestError() {
    let found = diagnostics(#"{"resources": {"cache": {"type": "redis", "configFile": "./nope.conf"}}}"#)
    #expect(found.first?.message.contains("does not exist") == true)
  }

  @Test func garnetRefusesWhatItsImporterWouldDropOrMisread() {
    let folder = Self.project(
      "requirepass \"quoted\"\nappendonly yes\nloglevel\nmaxmemory 1gb\nlatency-tracking yes \n")
    defer { folder.remove() }
    let found = diagnostics(
      #"{"resources": {"cache": {"type": "garnet", "configFile": "redis.conf"}}}"#, folder: folder.path)
    let messages = found.map(\.message)
    #expect(messages.contains { $0.hasPrefix("redis.conf:1:") && $0.contains("does not unquote") })
    #expect(messages.contains { $0.hasPrefix("redis.conf:2:") && $0.contains("does not import \"appendonly\"") })
    #expect(messages.contains { $0.hasPrefix("redis.conf:3:") && $0.contains("without a space") })
    #expect(messages.contains { $0.hasPrefix("redis.conf:5:") && $0.contains("spaces") })
    #expect(!messages.contains { $0.hasPrefix("redis.conf:4:") })
  }

  @Test func garnetImportsTheFileThatHoldsThePasswordOrBothInOne() throws {
    let withPassword = Self.project("requirepass Pa ss\nmaxmemory 1gb\n")
    defer { withPassword.remove() }
    var planned = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "garnet", "configFile": "redis.conf"}}}"#,
      folder: withPassword.path)
    // Garnet takes the rest of the line: the password has its space.
    #expect(planned.endpoint("cache")?.password?.revealed() == "Pa ss")
    var command = try #require(planned.container("cache")?.command.last)
    #expect(
      command == "exec /app/GarnetServer --config-import-path /usr/local/etc/apphost/server.conf "
        + "--config-import-format RedisConf --protected-mode no --auth Password")
    let without = Self.project("maxmemory 1gb\n")
    defer { without.remove() }
    planned = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "garnet", "configFile": "redis.conf"}}}"#,
      folder: without.path)
    command = try #require(planned.container("cache")?.command.last)
    #expect(
      command.hasPrefix(
        #"(umask 077 && { printf 'requirepass %s\n' "$GARNET_PASSWORD" && cat /usr/local/etc/apphost/server.conf; }"#))
  }

  @Test func aChangedFileChangesTheConfigHash() throws {
    let folder = Self.project("maxmemory 64mb\n")
    defer { folder.remove() }
    let manifest = #"{"name": "shop", "resources": {"cache": {"type": "redis", "configFile": "redis.conf"}}}"#
    let before = try plan(manifest, folder: folder.path).container("cache")?.configHash
    folder.write("redis.conf", "maxmemory 128mb\n")
    let after = try plan(manifest, folder: folder.path).container("cache")?.configHash
    #expect(before != nil && before != after)
  }

  @Test func nativeServersReadTheFileInPlaceFirst() throws {
    let folder = Self.project("maxmemory 64mb\n")
    defer { folder.remove() }
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "configFile": "redis.conf"}}}"#,
      folder: folder.path, native: true)
    let server = try #require(plan.container("cache")?.server)
    let launch = NativeLaunch.make(
      server: server, program: "/usr/bin/redis-server", port: 7001, dataFolder: "/d", secretFile: "/s/cache.conf")
    let lines = launch.secretFileContents?.split(separator: "\n").map(String.init) ?? []
    #expect(lines.first == "include \"\(folder.path)/redis.conf\"")
    #expect(lines.contains("port 7001"))
    #expect(launch.arguments == ["/usr/bin/redis-server", "/s/cache.conf"])
  }
}
