import Foundation
import TestSupport
import Testing

/// `"configFile"` on the real engines and natively: the server takes the file's settings, its
/// `requirepass` is the password every variable carries, and apphost's own settings follow it.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ConfigFileIntegrationTests {
  static let conf = """
    # the cache's own settings
    maxmemory 12345678
    maxmemory-policy allkeys-lru
    requirepass "from the file"
    """

  static let garnetConf = "requirepass from-the-file\nmaxmemory 1gb\n"

  @Test(arguments: TestEngines.all)
  func theServerRunsOnTheFileWithItsPassword(engine: String) async throws {
    try await EngineProject.run(engine: engine, "conf") { project in
      project.folder.write("redis.conf", Self.conf)
      project.folder.write("garnet.conf", Self.garnetConf)
      project.manifest(
        #""cache": {"type": "redis", "configFile": "./redis.conf"}, "sessions": {"type": "valkey", "configFile": "redis.conf", "password": false}, "#
          + #""garnet": {"type": "garnet", "configFile": "garnet.conf"}"#)
      // A password in the file and `password: false` both: refused, naming both.
      let refused = try await project.apphost("up", "-d")
      #expect(refused.status == 65, "\(refused)")
      #expect(refused.errors.contains("resources.sessions.password: the password is set twice"), "\(refused)")
      #expect(refused.errors.contains("requirepass in redis.conf:4"), "\(refused)")
      project.manifest(
        #""cache": {"type": "redis", "configFile": "./redis.conf"}, "sessions": {"type": "valkey", "configFile": "redis.conf"}, "#
          + #""garnet": {"type": "garnet", "configFile": "garnet.conf"}"#)
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 0, "\(up)")
      let environment = try await project.environment()
      #expect(environment["CACHE_PASSWORD"] == "from the file")
      #expect(environment["CACHE_URL"]?.hasPrefix("redis://default:from%20the%20file@127.0.0.1:") == true)
      for name in ["CACHE", "SESSIONS"] {
        let port = environment["\(name)_PORT"]
        #expect(
          try await project.redis(port: port, password: "from the file", "CONFIG", "GET", "maxmemory")
            == "maxmemory\n12345678")
        #expect(
          try await project.redis(port: port, password: "from the file", "CONFIG", "GET", "maxmemory-policy")
            == "maxmemory-policy\nallkeys-lru")
        #expect(try await project.redis(port: port, password: nil, "PING").contains("NOAUTH"))
      }
      #expect(environment["GARNET_PASSWORD"] == "from-the-file")
      #expect(try await project.redis(port: environment["GARNET_PORT"], password: "from-the-file", "PING") == "PONG")
      // Mounted read-only.
      let mounts = try await project.cli(
        "inspect", "--format", "{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}", "\(project.name)-cache")
      #expect(mounts.output.contains("/usr/local/etc/apphost/server.conf:false"), "\(mounts)")

      // A changed file recreates the cache.
      project.folder.write("redis.conf", Self.conf.replacingOccurrences(of: "12345678", with: "23456789"))
      let again = try await project.apphost("up", "-d")
      #expect(again.status == 0, "\(again)")
      #expect(again.output.contains("cache    | recreating: its configuration changed"), "\(again)")
      #expect(
        try await project.redis(
          port: (try await project.environment())["CACHE_PORT"], password: "from the file", "CONFIG", "GET", "maxmemory"
        ) == "maxmemory\n23456789")
    }
  }
}

@Suite(.enabled(if: NativeProject.wanted), .serialized)
struct NativeConfigFileTests {
  @Test func aNativeServerReadsTheFileInPlace() async throws {
    try await NativeProject.run("conf") { project in
      project.folder.write("redis.conf", ConfigFileIntegrationTests.conf)
      project.manifest(#""cache": {"type": "redis", "configFile": "redis.conf"}"#)
      try await project.succeed("up", "-d")
      let environment = try await project.environment()
      #expect(environment["CACHE_PASSWORD"] == "from the file")
      let port = environment["CACHE_PORT"]
      #expect(
        try await project.redis(port: port, password: "from the file", "CONFIG", "GET", "maxmemory")
          == "maxmemory\n12345678")
      #expect(try await project.redis(port: port, password: nil, "PING").contains("NOAUTH"))
      // apphost's settings follow the file: 127.0.0.1 and the port apphost chose.
      let listeners = try await execute("ss", ["-Hltn", "sport", "= :\(port ?? "0")"]).output
      #expect(listeners.contains("127.0.0.1:\(port ?? "")"), "\(listeners)")
      let commandLines = try ProcessScan.commandLines()
      #expect(commandLines.allSatisfy { !$0.contains("from the file") })
    }
  }
}
