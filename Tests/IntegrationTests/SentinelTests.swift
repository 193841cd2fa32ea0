import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `"sentinel": true` on docker, podman (rootless, as CI runs it) and native: redis-py's Sentinel client finds
/// the primary from `CACHE_SENTINELS`, a killed primary's replica is promoted while the client carries on,
/// every write survives `down`/`up` (the cache copies the promoted replica before it stops), and `down -v`
/// leaves nothing. A UI cannot show such a cache (65, nothing created), nor does publish carry it.
@Suite(.enabled(if: !ControlEngines.all.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct SentinelTests {
  static let password = #"sen"ti nel\$1"#

  static func manifest(_ name: String, replicas: Int = 2) -> String {
    let escaped = password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    return
      #"{"name": "\#(name)", "resources": {"cache": {"type": "redis", "password": "\#(escaped)", "dataVolume": true, "replicas": \#(replicas), "sentinel": true}}}"#
  }

  /// redis-py's Sentinel client, from `CACHE_SENTINELS` and `CACHE_SENTINEL_MASTER`, runs `code` with `master`
  /// (writes go wherever the sentinels say the primary is).
  static func python(_ variables: [String: String], _ code: String) async throws -> CommandResult {
    let script = """
      import os, sys, time
      from redis.sentinel import Sentinel
      from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
      password = os.environ['PASSWORD']
      sentinels = [(h, int(p)) for h, p in (n.split(':') for n in os.environ['SENTINELS'].split(','))]
      sentinel = Sentinel(sentinels, sentinel_kwargs={'password': password}, password=password, socket_timeout=1)
      name = os.environ['MASTER']
      master = sentinel.master_for(name, socket_timeout=1, decode_responses=True)
      \(code)
      """
    return try await execute(
      "python3", ["-c", script],
      environment: [
        "SENTINELS": variables["CACHE_SENTINELS"] ?? "", "MASTER": variables["CACHE_SENTINEL_MASTER"] ?? "",
        "PASSWORD": password,
      ])
  }

  /// redis-cli on 127.0.0.1:`port`, the password in its environment.
  static func redis(_ port: String, _ command: String...) async throws -> String {
    let result = try await execute(
      "redis-cli", ["-h", "127.0.0.1", "-p", port, "--no-auth-warning"] + command,
      environment: ["REDISCLI_AUTH": password])
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func pid(ofServerOn port: String) async throws -> Int32 {
    let info = try await Self.redis(port, "INFO", "server")
    return try #require(
      info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }.flatMap {
        Int32($0.dropFirst("process_id:".count).trimmingCharacters(in: .whitespaces))
      })
  }

  /// Kills the server of `resource` at once (no save): natively its process, else its container.
  static func kill(_ resource: String, port: String, of project: ReplicaTests.Project) async throws {
    if project.engine == "native" {
      Glibc.kill(try await pid(ofServerOn: port), SIGKILL)
    } else {
      let container = try #require(try await project.ps()[resource]?["container"])
      let killed = try await execute(project.engine, ["kill", container])
      #expect(killed.status == 0, "\(killed)")
    }
  }

  @Test(arguments: ControlEngines.all)
  func sentinelsPromoteAReplicaTheClientCarriesOnAndDownKeepsEveryWrite(engine: String) async throws {
    try await ReplicaTests.withProject(engine, "sentinel") { project, folder in
      folder.write("apphost.json", Self.manifest(project.name))
      let up = try await project.succeed("up", "-d")
      for index in 1...3 {
        #expect(up.output.contains("cache-sentinel-\(index) | ready at 127.0.0.1:"), "\(up.output)")
      }

      let variables = try await project.variables()
      let sentinels = try #require(variables["CACHE_SENTINELS"]).split(separator: ",")
      #expect(sentinels.count == 3 && sentinels.allSatisfy { $0.hasPrefix("127.0.0.1:") }, "\(sentinels)")
      #expect(variables["CACHE_SENTINEL_MASTER"] == "cache")
      let primaryPort = try #require(variables["CACHE_PORT"])
      let rows = try await project.ps()
      #expect(rows["cache"]?["role"] == "primary" && rows["cache-replica-2"]?["role"] == "replica", "\(rows)")
      #expect(rows["cache-sentinel-1"]?["role"] == "sentinel", "\(rows)")
      #expect(rows.values.allSatisfy { $0["health"] == "healthy" }, "\(rows)")
      // Every sentinel hands out the primary, at an address this machine reaches, and knows the replicas.
      for sentinel in sentinels {
        let port = ReplicaTests.port(String(sentinel))
        let master = try await Self.redis(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "cache")
        #expect(master == "127.0.0.1\n\(primaryPort)", "sentinel \(port): \(master)")
      }
      // Nobody reaches a sentinel without the password.
      let refused = try await execute(
        "redis-cli", ["-h", "127.0.0.1", "-p", ReplicaTests.port(String(sentinels[0])), "SENTINEL", "MASTERS"])
      #expect(refused.output.contains("NOAUTH"), "\(refused)")

      let written = try await Self.python(
        variables,
        """
        for i in range(1000): master.set(f'key:{i}', i)
        print('primary', sentinel.discover_master(name)[1], 'replicas', len(sentinel.discover_slaves(name)))
        """)
      #expect(written.output.contains("primary \(primaryPort) replicas 2"), "\(written)")

      // The primary dies: the sentinels promote a replica, the client finds it and carries on writing.
      try await Self.kill("cache", port: primaryPort, of: project)
      let carriedOn = try await Self.python(
        variables,
        """
        started = time.time()
        for i in range(1000, 2000):
            while True:
                try:
                    master.set(f'key:{i}', i); break
                except (ConnectionError, ReadOnlyError, TimeoutError):
                    if time.time() - started > 60: raise
                    time.sleep(0.1)
        print('promoted', sentinel.discover_master(name)[1], 'after %.1f s' % (time.time() - started))
        print('keys', master.dbsize())
        """)
      #expect(carriedOn.status == 0, "\(carriedOn)")
      #expect(carriedOn.output.contains("keys 2000"), "\(carriedOn)")
      #expect(!carriedOn.output.contains("promoted \(primaryPort) "), "\(carriedOn)")
      print("sentinel-summary: \(engine): \(carriedOn.output.split(separator: "\n").first ?? "")")
      let promoted = try await project.ps()
      let newPrimary = try #require(
        promoted.first { $0.value["role"] == "primary" }?.key, "no primary after the failover: \(promoted)")
      #expect(newPrimary.hasPrefix("cache-replica-"), "\(promoted)")
      #expect(promoted[newPrimary]?["health"] == "healthy", "\(promoted)")

      // down: the cache copies the promoted replica before it stops; up starts it as the primary again.
      let down = try await project.succeed("down")
      #expect(
        down.output.contains("cache: \(newPrimary) had taken over as primary; cache copied its data before stopping"),
        "\(down.output)")
      #expect(try await project.leftovers().count == 3, "only the three volumes stay")
      try await project.succeed("up", "-d")
      let again = try await project.variables()
      #expect(try await Self.redis(try #require(again["CACHE_PORT"]), "DBSIZE") == "2000")
      let after = try await project.ps()
      #expect(after["cache"]?["role"] == "primary" && after[newPrimary]?["role"] == "replica", "\(after)")
      let found = try await Self.python(again, "print('keys', master.dbsize(), master.get('key:1999'))")
      #expect(found.output.contains("keys 2000 1999"), "\(found)")

      // The primary dies and down follows at once, before any failover: the cache copies a replica.
      try await Self.kill("cache", port: try #require(again["CACHE_PORT"]), of: project)
      let quick = try await project.succeed("down")
      #expect(
        quick.output.contains("cache: cache had stopped while cache-replica-"), "\(quick.output)")
      try await project.succeed("up", "-d")
      let third = try await project.variables()
      #expect(try await Self.redis(try #require(third["CACHE_PORT"]), "DBSIZE") == "2000")

      try await project.succeed("down", "-v")
      let left = try await project.leftovers()
      #expect(left.isEmpty, "left behind: \(left)")
    }
  }

  @Test(arguments: TestEngines.all)
  func aUICannotShowASentinelCacheAndPublishDoesNotCarryIt(engine: String) async throws {
    try await ReplicaTests.withProject(engine, "sentinel-refused") { project, folder in
      let manifest = Self.manifest(project.name, replicas: 1)
      folder.write(
        "apphost.json",
        String(manifest.dropLast(2)) + #", "ui": {"type": "redisinsight", "acceptTerms": true}}}"#)
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 65, "\(up)")
      #expect(up.errors.contains("resources.ui.caches") && up.errors.contains("ui cannot show cache yet"), "\(up)")
      #expect(try await project.leftovers().isEmpty)
      folder.write("apphost.json", manifest)
      let publish = try await project.apphost("publish", "compose", "--output", "out")
      #expect(publish.status == 65 && publish.errors.contains("publish does not carry sentinels yet"), "\(publish)")
    }
  }
}
