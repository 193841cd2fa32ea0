import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `"replicas": N` on a cache, on docker, podman and native: the replicas copy what the primary is given,
/// refuse writes, are listed with their roles, keep their data across `down`/`up` and leave nothing after
/// `down -v`.
@Suite(.enabled(if: !ControlEngines.all.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ReplicaTests {
  /// A password that needs quoting in redis.conf and in a shell.
  static let password = #"re"pli ca\$1"#

  /// A project on one engine: apphost with the engine's environment, and what the engine still has of it.
  struct Project: Sendable {
    var engine: String
    var name: String
    var path: String
    var environment: [String: String?]

    func apphost(_ arguments: String...) async throws -> CommandResult {
      try await execute(Binary.path, arguments, in: path, environment: environment)
    }

    @discardableResult
    func succeed(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws
      -> CommandResult
    {
      let result = try await execute(Binary.path, arguments, in: path, environment: environment)
      try #require(
        result.status == 0, "apphost \(arguments.joined(separator: " ")): \(result)", sourceLocation: sourceLocation)
      return result
    }

    func variables() async throws -> [String: String] {
      let result = try await succeed("env", "--format", "json")
      return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String]) ?? [:]
    }

    func ps() async throws -> [String: [String: String]] {
      let result = try await succeed("ps", "--json")
      return rowsByName(psJSON: result.output)
    }

    /// `down -v`, after which nothing of the project is left.
    func downLeavesNothing(sourceLocation: SourceLocation = #_sourceLocation) async throws {
      try await succeed("down", "-v", sourceLocation: sourceLocation)
      let left = try await leftovers()
      #expect(left.isEmpty, "left behind: \(left)", sourceLocation: sourceLocation)
    }

    /// Containers, volumes and server records of the project that are still there.
    func leftovers() async throws -> [String] {
      if engine == "native" {
        let state = path + "/.apphost"
        let records = ((try? FileManager.default.contentsOfDirectory(atPath: state + "/native")) ?? []).filter {
          $0.hasSuffix(".json")
        }
        let volumes = (try? FileManager.default.contentsOfDirectory(atPath: state + "/volumes")) ?? []
        let processes = try await execute("pgrep", ["-f", "\(path)/.apphost"]).output
        return records + volumes + processes.split(separator: "\n").map { "pid \($0)" }
      }
      let filter = "label=apphost.project=\(name)"
      let containers = try await execute(engine, ["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]).output
      let volumes = try await execute(engine, ["volume", "ls", "--filter", filter, "--format", "{{.Name}}"]).output
      return (containers + volumes).split(separator: "\n").map(String.init)
    }
  }

  static func withProject(_ engine: String, _ label: String, _ body: (Project, ProjectFolder) async throws -> Void)
    async throws
  {
    if engine == "native" {
      try await NativeProject.run(label) { native in
        var environment = native.environment
        environment["APPHOST_ENGINE"] = "native"
        try await body(
          Project(engine: engine, name: native.name, path: native.path, environment: environment), native.folder)
      }
    } else {
      try await EngineProject.run(engine: engine, label) { project in
        try await body(
          Project(
            engine: engine, name: project.name, path: project.path,
            environment: ["APPHOST_ENGINE": engine, "NO_COLOR": "1"]), project.folder)
      }
    }
  }

  /// redis-cli on 127.0.0.1:`port`, the password in its environment.
  static func redis(_ port: String, _ command: String...) async throws -> String {
    let result = try await execute(
      "redis-cli", ["-h", "127.0.0.1", "-p", port, "--no-auth-warning"] + command,
      environment: ["REDISCLI_AUTH": password])
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func port(_ address: String) -> String { String(address.split(separator: ":").last ?? "") }

  @Test(arguments: ControlEngines.all)
  func replicasCopyThePrimaryRefuseWritesAndKeepTheirData(engine: String) async throws {
    try await Self.withProject(engine, "replicas") { project, folder in
      let escaped = jsonEscaped(Self.password)
      let manifest = { (count: Int) in
        #"{"name": "\#(project.name)", "resources": {"cache": {"type": "redis", "password": "\#(escaped)", "dataVolume": true, "replicas": \#(count)}}}"#
      }
      folder.write("apphost.json", manifest(2))
      let dryRun = try await project.succeed("up", "--dry-run")
      #expect(dryRun.output.contains("create   cache-replica-1") && dryRun.output.contains("create   cache-replica-2"))
      try await project.succeed("up", "-d", "--timeout", "180")

      let variables = try await project.variables()
      let primary = try #require(variables["CACHE_PORT"])
      let replicas = try #require(variables["CACHE_REPLICAS"]).split(separator: ",").map(String.init)
      #expect(replicas.count == 2 && replicas.allSatisfy { $0.hasPrefix("127.0.0.1:") })
      #expect(
        variables["ConnectionStrings__cache"]
          == "127.0.0.1:\(primary),\(replicas.joined(separator: ",")),password=\(Self.password)")

      // Ready means linked: each replica says so at once.
      for replica in replicas {
        let role = try await Self.redis(Self.port(replica), "ROLE")
        #expect(role.hasPrefix("slave\n"), "\(role)")
        let info = try await Self.redis(Self.port(replica), "INFO", "replication")
        #expect(info.contains("master_link_status:up"), "\(info)")
      }

      #expect(try await Self.redis(primary, "SET", "greeting", "hello from the primary") == "OK")
      #expect(try await Self.redis(primary, "RPUSH", "list", "a", "b", "c") == "3")
      for replica in replicas {
        let port = Self.port(replica)
        let copied = try await eventually(timeout: .seconds(30)) {
          try await Self.redis(port, "GET", "greeting")
        } until: {
          $0 == "hello from the primary"
        }
        #expect(copied == "hello from the primary", "replica \(replica)")
        let refused = try await Self.redis(port, "SET", "greeting", "from a replica")
        #expect(refused.hasPrefix("READONLY"), "\(refused)")
        let python = try await execute(
          "python3",
          [
            "-c",
            "import os, redis; r = redis.Redis(host='127.0.0.1', port=int(os.environ['PORT']), "
              + "password=os.environ['PASSWORD'], decode_responses=True); "
              + "print(r.get('greeting'), r.lrange('list', 0, -1), r.info('replication')['role'])",
          ], environment: ["PORT": port, "PASSWORD": Self.password])
        #expect(python.output.contains("hello from the primary ['a', 'b', 'c'] slave"), "\(python)")
      }

      let rows = try await project.ps()
      #expect(rows["cache"]?["role"] == "primary")
      for index in 1...2 {
        let row = rows["cache-replica-\(index)"]
        #expect(row?["role"] == "replica" && row?["replicaOf"] == "cache", "\(rows)")
        #expect(row?["endpoint"] == replicas[index - 1] && row?["health"] == "healthy", "\(rows)")
      }
      let logs = try await project.succeed("logs", "cache")
      #expect(logs.output.contains("cache-replica-2 |"), "\(logs.output)")

      // down keeps the volumes: everything is still there on every node.
      try await project.succeed("down")
      try await project.succeed("up", "-d", "--timeout", "180")
      let again = try await project.variables()
      let newReplicas = try #require(again["CACHE_REPLICAS"]).split(separator: ",").map(String.init)
      #expect(try await Self.redis(try #require(again["CACHE_PORT"]), "GET", "greeting") == "hello from the primary")
      for replica in newReplicas {
        #expect(try await Self.redis(Self.port(replica), "LRANGE", "list", "0", "-1") == "a\nb\nc", "\(replica)")
      }

      // One replica fewer: the second goes, the first stays as it was.
      folder.write("apphost.json", manifest(1))
      let fewer = try await project.succeed("up", "-d", "--timeout", "180")
      #expect(fewer.output.contains("cache-replica-2"), "\(fewer.output)")
      let remaining = try await project.ps()
      #expect(
        remaining["cache-replica-1"]?["health"] == "healthy" && remaining["cache-replica-2"] == nil, "\(remaining)")

      // stop and start name the cache and act on every node.
      let stop = try await project.succeed("stop", "cache")
      #expect(stop.output.contains("cache-replica-1"), "\(stop.output)")
      let stopped = try await project.ps()
      #expect(
        stopped["cache"]?["state"] != "running" && stopped["cache-replica-1"]?["state"] != "running", "\(stopped)")
      try await project.succeed("start", "cache")
      let started = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
        try await project.ps()
      } until: { rows in
        rows["cache"]?["health"] == "healthy" && rows["cache-replica-1"]?["health"] == "healthy"
      }
      #expect(started["cache-replica-1"]?["health"] == "healthy", "\(started)")

      try await project.downLeavesNothing()
    }
  }

  /// The primary stops (killed: no save) while its replica runs on with the data: `down` has it copy the
  /// replica first, so that the next `up`, whose replicas copy the primary, keeps every write.
  @Test(arguments: ControlEngines.all)
  func aStoppedPrimaryCopiesItsReplicaBeforeDown(engine: String) async throws {
    try await Self.withProject(engine, "replica-failback") { project, folder in
      let escaped = jsonEscaped(Self.password)
      folder.write(
        "apphost.json",
        #"{"name": "\#(project.name)", "resources": {"cache": {"type": "redis", "password": "\#(escaped)", "dataVolume": true, "replicas": 1}}}"#
      )
      try await project.succeed("up", "-d", "--timeout", "180")
      let variables = try await project.variables()
      let primary = try #require(variables["CACHE_PORT"])
      let replica = Self.port(try #require(variables["CACHE_REPLICAS"]))
      let written = try await execute(
        "python3",
        [
          "-c",
          "import os, redis; r = redis.Redis(host='127.0.0.1', port=int(os.environ['PORT']), "
            + "password=os.environ['PASSWORD']); p = r.pipeline(); [p.set(f'key:{i}', i) for i in range(500)]; "
            + "p.execute(); print(r.dbsize())",
        ], environment: ["PORT": primary, "PASSWORD": Self.password])
      #expect(written.output.contains("500"), "\(written)")
      let copied = try await eventually(timeout: .seconds(30)) {
        try await Self.redis(replica, "DBSIZE")
      } until: {
        $0 == "500"
      }
      #expect(copied == "500")

      if engine == "native" {
        let info = try await Self.redis(primary, "INFO", "server")
        let pid = try #require(processID(fromInfo: info))
        kill(pid, SIGKILL)
      } else {
        let container = try #require(try await project.ps()["cache"]?["container"])
        let killed = try await execute(engine, ["kill", container])
        #expect(killed.status == 0, "\(killed)")
      }
      let down = try await project.succeed("down")
      #expect(
        down.output.contains(
          "cache: cache had stopped while cache-replica-1 ran on; cache copied its data before stopping"),
        "\(down.output)")
      try await project.succeed("up", "-d", "--timeout", "180")
      let again = try await project.variables()
      #expect(try await Self.redis(try #require(again["CACHE_PORT"]), "DBSIZE") == "500")
      let replicaAgain = Self.port(try #require(again["CACHE_REPLICAS"]))
      let kept = try await eventually(timeout: .seconds(30)) {
        try await Self.redis(replicaAgain, "DBSIZE")
      } until: {
        $0 == "500"
      }
      #expect(kept == "500")

      try await project.downLeavesNothing()
    }
  }
}
