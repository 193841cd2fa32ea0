import Foundation
import TestSupport
import Testing

/// `up`, `down`, `ps`, `env`, `logs` of caches, with the built binary against real engines.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct CacheTests {
  static let threeCaches = """
    "cache": {"type": "redis"}, "sessions": {"type": "valkey"}, "garnet": {"type": "garnet"}
    """

  @Test(arguments: TestEngines.all)
  func upGivesHealthyCachesWhoseEnvWorksWithRedisCLI(engine: String) async throws {
    try await EngineProject.run(engine: engine, "env") { project in
      project.manifest(Self.threeCaches)
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 0, "\(up)")
      #expect(up.output.contains("ready at 127.0.0.1:"))
      let environment = try await project.environment()
      for name in ["CACHE", "SESSIONS", "GARNET"] {
        let port = environment["\(name)_PORT"]
        let password = try #require(environment["\(name)_PASSWORD"])
        #expect(password.count == 22)
        #expect(environment["\(name)_HOST"] == "127.0.0.1")
        #expect(try await project.redis(port: port, password: password, "PING") == "PONG", "\(name)")
        #expect(try await project.redis(port: port, password: password, "SET", "k", name) == "OK")
        #expect(try await project.redis(port: port, password: password, "GET", "k") == name)
        // A wrong password, or none, is refused.
        let wrong = try await project.redis(port: port, password: "wrong-password", "GET", "k")
        #expect(wrong.contains("WRONGPASS") || wrong.contains("invalid password"), "\(name): \(wrong)")
        #expect(try await project.redis(port: port, password: nil, "GET", "k").contains("NOAUTH"), "\(name)")
      }
      #expect(
        environment["REDIS_URL"]
          == "redis://default:\(environment["CACHE_PASSWORD"]!)@127.0.0.1:\(environment["CACHE_PORT"]!)/0"
      )
      #expect(environment["SESSIONS_URI"]?.hasPrefix("valkey://") == true)
      #expect(
        environment["ConnectionStrings__garnet"]
          == "127.0.0.1:\(environment["GARNET_PORT"]!),password=\(environment["GARNET_PASSWORD"]!)")

      // Published on 127.0.0.1 only.
      let inspect = try await project.cli(
        "inspect", "--format", "{{json .NetworkSettings.Ports}}", "\(project.name)-cache")
      #expect(inspect.output.contains(#""HostIp":"127.0.0.1""#), "\(inspect.output)")
      #expect(!inspect.output.contains(#""HostIp":"0.0.0.0""#) && !inspect.output.contains(#""HostIp":"""#))

      // No password in any process's arguments: SecretArgumentTests (a snapshot here would miss it).
      let passwords = ["CACHE", "SESSIONS", "GARNET"].compactMap { environment["\($0)_PASSWORD"] }

      let ps = try await project.apphost("ps", "--json")
      #expect(ps.status == 0, "\(ps)")
      let rows = try #require(try JSONSerialization.jsonObject(with: Data(ps.output.utf8)) as? [[String: Any]])
      #expect(rows.map { $0["name"] as? String } == ["cache", "sessions", "garnet"])
      for row in rows {
        #expect(row["state"] as? String == "running")
        #expect(row["health"] as? String == "healthy")
        #expect((row["endpoint"] as? String)?.hasPrefix("127.0.0.1:") == true)
      }
      for password in passwords { #expect(!ps.output.contains(password)) }

      let shell = try await project.apphost("env", "cache", "--format", "shell")
      #expect(shell.output.contains("export CACHE_PASSWORD='\(environment["CACHE_PASSWORD"]!)'"))
      let dotenv = try await project.apphost("env", "sessions")
      #expect(dotenv.output.split(separator: "\n").contains("SESSIONS_PORT=\(environment["SESSIONS_PORT"]!)"))

      let logs = try await project.apphost("logs", "cache")
      #expect(logs.status == 0, "\(logs)")
      #expect(logs.output.contains("cache | "), "\(logs)")
      #expect(logs.output.contains("Ready to accept connections"))

      // Nothing changed: nothing to do, and it says so.
      let again = try await project.apphost("up", "-d")
      #expect(again.status == 0)
      #expect(again.output.contains("nothing changed"), "\(again)")
    }
  }

  enum Storage: String, CaseIterable {
    case volume, bindMount

    var json: String {
      switch self {
      case .volume: #""dataVolume": true"#
      case .bindMount: #""dataBindMount": {"source": "./data"}"#
      }
    }
  }

  static let persistenceCases: [(String, String, Storage)] = TestEngines.all.flatMap { engine in
    ["redis", "valkey", "garnet"].flatMap { server in Storage.allCases.map { (engine, server, $0) } }
  }

  /// 10,000 keys written before `down` are all there after `up` (saved on the way down); `down -v` removes
  /// the volume.
  @Test(arguments: persistenceCases)
  func dataSurvivesDownAndUp(engine: String, server: String, storage: Storage) async throws {
    try await EngineProject.run(engine: engine, "data") { project in
      project.manifest(#""cache": {"type": "\#(server)", \#(storage.json)}"#)
      let first = try await project.apphost("up", "-d")
      try #require(first.status == 0, "\(first)")
      var environment = try await project.environment()
      // 10,000 keys through a real client (the `redis` package), in one pipeline.
      let write = try await execute(
        "python3",
        [
          "-c",
          "import os,redis,sys\nc=redis.Redis(port=int(sys.argv[1]),password=os.environ['CACHE_PASSWORD'])\n"
            + "p=c.pipeline(transaction=False)\n[p.set('key:%d' % i, 'value %d' % i) for i in range(10000)]\np.execute()",
          environment["CACHE_PORT"] ?? "0",
        ], environment: ["CACHE_PASSWORD": environment["CACHE_PASSWORD"] ?? ""])
      #expect(write.status == 0, "\(write)")
      let down = try await project.apphost("down")
      #expect(down.status == 0, "\(down)")
      #expect(down.output.contains("saving data before stopping"))
      #expect(
        try await project.cli("ps", "-a", "--filter", "label=apphost.project=\(project.name)", "-q").output.isEmpty)

      let up = try await project.apphost("up", "-d")
      #expect(up.status == 0, "\(up)")
      environment = try await project.environment()
      let size = try await project.redis(
        port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "DBSIZE")
      #expect(size == "10000", "\(server) with a \(storage): \(size)")
      let value = try await project.redis(
        port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "GET", "key:9999")
      #expect(value == "value 9999")

      let volumes = try await project.cli(
        "volume", "ls", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.Name}}")
      #expect(volumes.output.contains("\(project.name)-cache-data") == (storage == .volume))
      let downVolumes = try await project.apphost("down", "--volumes")
      #expect(downVolumes.status == 0)
      #expect(try await project.leftovers().isEmpty)
      if storage == .bindMount {
        // Data in the user's folder is the user's: down -v leaves it.
        let files = try FileManager.default.subpathsOfDirectory(atPath: project.path + "/data")
        #expect(!files.isEmpty)
      }
    }
  }

  @Test(arguments: TestEngines.all)
  func readOnlyVolumeMountsReadOnly(engine: String) async throws {
    try await EngineProject.run(engine: engine, "ro") { project in
      let volume = "\(project.name)-seed"
      #expect(
        try await project.cli(
          "volume", "create", "--label", "apphost.project=\(project.name)", "--label",
          "apphost.project-dir=\(project.path)", volume
        ).status == 0)
      project.manifest(
        #""cache": {"type": "redis", "password": false, "dataVolume": {"name": "\#(volume)", "readOnly": true}}"#)
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 0, "\(up)")
      let mounts = try await project.cli(
        "inspect", "--format", "{{range .Mounts}}{{.Name}} {{.RW}}{{end}}", "\(project.name)-cache")
      #expect(mounts.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(volume) false")
      let config = try await project.apphost("config")
      #expect(config.output.contains("--volume \(volume):/data:ro"))
    }
  }

  @Test(arguments: TestEngines.all)
  func persistentContainersAreReusedUntilTheirConfigurationChanges(engine: String) async throws {
    try await EngineProject.run(engine: engine, "life") { project in
      project.manifest(
        #""cache": {"type": "redis", "lifetime": "persistent", "dataVolume": true}, "temp": {"type": "valkey"}"#)
      try await project.succeed("up", "-d")
      let id = try await project.cli("inspect", "--format", "{{.Id}}", "\(project.name)-cache").output
      var environment = try await project.environment()
      _ = try await project.redis(
        port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "SET", "kept", "yes")

      let again = try await project.apphost("up", "-d")
      #expect(again.output.contains("nothing changed"), "\(again)")
      #expect(try await project.cli("inspect", "--format", "{{.Id}}", "\(project.name)-cache").output == id)

      // A changed configuration recreates it; its volume (and data) stays.
      project.manifest(
        #""cache": {"type": "redis", "lifetime": "persistent", "dataVolume": true, "args": ["--maxmemory", "64mb"]}, "temp": {"type": "valkey"}"#
      )
      let changed = try await project.apphost("up", "-d")
      #expect(changed.status == 0, "\(changed)")
      #expect(changed.output.contains("cache | recreating: its configuration changed"), "\(changed)")
      #expect(changed.output.contains("temp  | unchanged"), "\(changed)")
      #expect(try await project.cli("inspect", "--format", "{{.Id}}", "\(project.name)-cache").output != id)
      environment = try await project.environment()
      #expect(
        try await project.redis(port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "GET", "kept")
          == "yes")

      // A resource removed from the manifest is removed from the engine.
      project.manifest(
        #""cache": {"type": "redis", "lifetime": "persistent", "dataVolume": true, "args": ["--maxmemory", "64mb"]}"#)
      let removed = try await project.apphost("up", "-d")
      #expect(removed.output.contains("removing \(project.name)-temp: no longer in apphost.json"), "\(removed)")
    }
  }

  @Test(arguments: TestEngines.all)
  func foregroundUpRemovesSessionContainersAndKeepsPersistentOnes(engine: String) async throws {
    try await EngineProject.run(engine: engine, "fg") { project in
      project.manifest(#""cache": {"type": "redis"}, "keep": {"type": "valkey", "lifetime": "persistent"}"#)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("Ctrl-C stops", timeout: .seconds(30))
      // A second up goes to the running one (issue 15), which has everything already.
      let second = try await project.apphost("up", "-d")
      #expect(second.status == 0, "\(second)")
      #expect(second.output.contains("the running apphost up has every resource"), "\(second)")
      up.signal(SIGINT)
      let status = try await up.wait(timeout: .seconds(30))
      #expect(status == 130, "\(up.output)")
      let names = try await project.cli(
        "ps", "-a", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.Names}}")
      #expect(names.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(project.name)-keep")
    }
  }

  /// A crashed foreground `up` (SIGKILL) leaves its session containers; the next `up` or `down` removes them.
  @Test(arguments: TestEngines.all)
  func leftoversOfACrashedUpAreRemoved(engine: String) async throws {
    try await EngineProject.run(engine: engine, "crash") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("Ctrl-C stops", timeout: .seconds(30))
      up.signal(SIGKILL)
      _ = try await up.wait(timeout: .seconds(10))
      let before = try await project.cli("inspect", "--format", "{{.Id}}", "\(project.name)-cache")
      #expect(before.status == 0, "the killed up left its container behind")

      let ps = try await project.apphost("ps")
      #expect(ps.output.contains("left over from an apphost up that is gone"), "\(ps)")
      let again = try await project.apphost("up", "-d")
      #expect(again.status == 0, "\(again)")
      #expect(again.output.contains("left over from an apphost up that is gone"), "\(again)")
      let after = try await project.cli("inspect", "--format", "{{.Id}}", "\(project.name)-cache")
      #expect(after.output != before.output)
      let count = try await project.cli("ps", "-a", "--filter", "label=apphost.project=\(project.name)", "-q")
      #expect(count.output.split(separator: "\n").count == 1, "never a second copy")
    }
  }

  @Test(arguments: TestEngines.all)
  func aFailedStartRemovesWhatItMadeAndShowsTheLog(engine: String) async throws {
    try await EngineProject.run(engine: engine, "fail") { project in
      project.manifest(
        #""cache": {"type": "redis", "args": ["--no-such-option", "1"]}, "other": {"type": "valkey", "dataVolume": true}"#
      )
      let up = try await project.apphost("up", "-d", "--timeout", "20")
      #expect(up.status == 1, "\(up)")
      #expect(up.errors.contains("cache did not start"), "\(up)")
      #expect(up.errors.contains("no-such-option"), "the log tail names the problem: \(up)")
      #expect(up.errors.contains("Everything this run started was removed"))
      #expect(try await project.leftovers().isEmpty)
    }
  }

  @Test(arguments: TestEngines.all)
  func aTakenPortIsRefusedBeforeAnythingStarts(engine: String) async throws {
    try await EngineProject.run(engine: engine, "port") { project in
      let listener = try TCPListener()
      defer { listener.close() }
      project.manifest(#""other": {"type": "valkey"}, "cache": {"type": "redis", "hostPort": \#(listener.port)}"#)
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 1, "\(up)")
      #expect(up.errors.contains("port \(listener.port) on 127.0.0.1 is already in use"), "\(up)")
      #expect(up.errors.contains("resources.cache.hostPort"))
      #expect(try await project.leftovers().isEmpty)
    }
  }

  @Test(arguments: TestEngines.all)
  func aMissingImageIsReportedWithTheEnginesReason(engine: String) async throws {
    try await EngineProject.run(engine: engine, "image") { project in
      project.manifest(#""cache": {"type": "redis", "tag": "0.0-does-not-exist"}"#)
      let up = try await project.apphost("up", "-d", "--timeout", "30")
      #expect(up.status == 1, "\(up)")
      #expect(up.errors.contains("0.0-does-not-exist is not on this machine and could not be pulled"), "\(up)")
      #expect(try await project.leftovers().isEmpty)
    }
  }

  @Test(arguments: TestEngines.all)
  func aSameNamedProjectInAnotherFolderIsNotTouched(engine: String) async throws {
    try await EngineProject.run(engine: engine, "twin") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      try await project.succeed("up", "-d")
      let twin = ProjectFolder("apphost-twin")
      defer { twin.remove() }
      twin.write("apphost.json", #"{"name": "\#(project.name)", "resources": {"cache": {"type": "redis"}}}"#)
      let up = try await execute(Binary.path, ["up", "-d"], in: twin.path, environment: ["APPHOST_ENGINE": engine])
      #expect(up.status == 1, "\(up)")
      #expect(up.errors.contains("belongs to the apphost project in \(project.path)"), "\(up)")
      let down = try await execute(Binary.path, ["down", "-v"], in: twin.path, environment: ["APPHOST_ENGINE": engine])
      #expect(down.status == 0)
      let ps = try await project.apphost("ps")
      #expect(ps.output.contains("running"), "the other folder's down left this project alone: \(ps)")
    }
  }

  @Test func withoutAnEngineItSaysHowToGetOne() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    folder.write("apphost.json", #"{"resources": {"cache": {"type": "redis"}}}"#)
    let empty = ProjectFolder("apphost-path")
    defer { empty.remove() }
    let none = try await execute(
      Binary.path, ["up", "-d"], in: folder.path, environment: ["PATH": empty.path, "APPHOST_ENGINE": nil])
    // No engine: the native engine is tried, and it needs redis-server, which this PATH lacks either.
    #expect(none.status == 69, "\(none)")
    #expect(none.errors.contains("neither docker nor podman is installed"), "\(none)")
    #expect(none.errors.contains("needs redis-server, which is not on PATH"), "\(none)")
    #expect(none.errors.contains("apt-get install redis-server"), "\(none)")
    let requested = try await execute(
      Binary.path, ["ps"], in: folder.path, environment: ["PATH": empty.path, "APPHOST_ENGINE": "podman"])
    #expect(requested.status == 69)
    #expect(requested.errors.contains("podman is not installed"))
    // docker installed, its daemon not answering.
    let unreachable = try await execute(
      Binary.path, ["ps", "--engine", "docker"], in: folder.path,
      environment: ["DOCKER_HOST": "unix:///nonexistent/docker.sock"])
    #expect(unreachable.status == 69, "\(unreachable)")
    #expect(unreachable.errors.contains("docker does not answer"), "\(unreachable)")
  }
}
