import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// No password in the arguments of any process that `up`, `run`, `publish` and the health checks start,
/// watched two ways for the whole test: `strace -f -e trace=execve` around every apphost command (its
/// children, the engine CLIs, the supervisor and its programs, however short-lived) and `/proc` read in a
/// loop (processes in the containers, which docker's daemon starts). Both are proven able to see a
/// leak by planting one.
@Suite(.enabled(if: TestEngines.available || NativeProject.wanted, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct SecretArgumentTests {
  static let registry = ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] ?? "localhost/apphost-fixtures"

  func passwords(_ project: EngineProject) throws -> [String] {
    let text = try #require(project.folder.read(".apphost/secrets.json"))
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: String]]
    return Array(try #require(object?["passwords"]).values)
  }

  /// The worker's line, however wide the names are padded.
  static func workerIsUsing(_ output: String) -> Bool {
    output.split(separator: "\n").contains { $0.hasPrefix("worker ") && $0.contains("| using") }
  }

  @Test(arguments: TestEngines.all)
  func noPasswordInTheArgumentsOfAnyProcess(engine: String) async throws {
    try await EngineProject.run(engine: engine, "argv") { project in
      project.manifest(
        """
        "cache": {"type": "redis"}, "sessions": {"type": "valkey", "replicas": 1},
        "g": {"type": "garnet", "dataVolume": true},
        "insight": {"type": "redisinsight"}, "commander": {"type": "rediscommander", "caches": ["cache", "g"]},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo using $REDIS_PORT; sleep 1000"],
                   "references": ["cache"], "env": {"URL": "{g.uri}"}}
        """)
      let watch = ArgumentWatch()
      let trace = ExecTrace()
      // A foreground up first, stopped with Ctrl-C once its programs run.
      let foreground = try await trace.apphost(project, ["up", "--timeout", "180"]) { pid, output in
        let deadline = ContinuousClock.now + .seconds(200)
        while !output().contains("Ctrl-C stops") && ContinuousClock.now < deadline {
          try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await eventually(timeout: .seconds(10)) {
          output()
        } until: {
          Self.workerIsUsing($0)
        }
        kill(pid, SIGINT)
      }
      #expect(foreground.status == 130, "\(foreground)")
      #expect(Self.workerIsUsing(foreground.output), "\(foreground)")
      let up = try await trace.apphost(project, ["up", "-d", "--timeout", "180"])
      try #require(up.status == 0, "\(up)")
      let passwords = try passwords(project)
      #expect(passwords.count == 3)
      let (report, execs, lingering) = try await Self.runWatched(
        [
          ["ps"], ["logs"], ["cli", "cache", "--", "PING"], ["cli", "g", "--", "SET", "k", "v"],
          ["run", "--", "sh", "-c", #"test -n "$REDIS_URL""#], ["publish", "compose", "-o", "deploy"],
          ["publish", "kubernetes", "-o", "k8s"], ["down", "--volumes"],
        ], passwords: passwords, watch: watch, trace: trace
      ) { arguments in try await trace.apphost(project, arguments) }
      // The trace saw what apphost started: the engine CLI, the supervisor, the program.
      #expect(execs.contains { $0.strings.first?.hasSuffix("/\(engine)") == true }, "no \(engine) call traced")
      #expect(execs.contains { $0.strings.contains("__supervise") }, "the background supervisor was not traced")
      #expect(execs.contains { $0.line.contains("echo using") }, "the worker was not traced")
      #expect(lingering.isEmpty, "left running after down: \(lingering.joined(separator: " | "))")
      // The watch saw the servers in the containers.
      #expect(report.commandLines.contains { $0.line.contains("/app/GarnetServer") }, "Garnet was not seen")
      #expect(report.commandLines.contains { $0.line.contains("redis-server") }, "redis-server was not seen")
      print(
        "secret-scan: \(engine): no password in the arguments of \(Set(execs.map(\.pid)).count) traced processes"
          + " (\(execs.count) execs) nor of \(report.processes) processes seen in /proc"
          + " (\(report.execEvents.map { "\($0) exec events, " } ?? "no exec events, ")\(report.passes) passes,"
          + " one per \(String(format: "%.1f", report.milliseconds)) ms)")
    }
  }

  /// The proof: a password planted in an argument once is caught, by the trace in a program apphost
  /// runs that ends at once, and by the /proc watch in a container's redis-server, which rewrites its
  /// argument list within milliseconds of starting.
  @Test(arguments: TestEngines.all)
  func bothWatchesCatchAPlantedPassword(engine: String) async throws {
    try await EngineProject.run(engine: engine, "plant") { project in
      project.manifest(#""cache": {"type": "redis", "password": false}"#)
      let marker = "planted-\(UUID().uuidString.prefix(12))"
      let watch = ArgumentWatch()
      let events = ArgumentWatch(polling: false)
      let trace = ExecTrace()
      let run = try await trace.apphost(project, ["run", "--", "sh", "-c", "exit 0", marker])
      #expect(run.status == 0, "\(run)")

      let image = "\(Self.registry)/library/redis:8.6"
      var rewritten = 0
      var caught = 0
      var caughtByEvents = 0
      var attempts = 0
      // Plants until the watch has caught two, six at the most: the leak lasts milliseconds, and on a
      // loaded machine a single miss says little; never catching two in six says the watch is blind.
      for attempt in 1...6 where caught < 2 || (getuid() == 0 && caughtByEvents < 2) {
        attempts = attempt
        let secret = "\(marker)-\(attempt)"
        let name = "\(project.name)-plant\(attempt)"
        // The secret reaches the container through the environment (not the engine CLI's arguments);
        // only the server inside it has it as an argument.
        let started = try await execute(
          engine,
          [
            "run", "-d", "--rm", "--name", name, "--label", "apphost.project=\(project.name)", "-e", "PLANTED", image,
            "sh", "-c",
            #"sleep 0.3; exec /usr/local/lib/apphost-fixture/redis-server --port 7777 --save '' --requirepass "$PLANTED""#,
          ], environment: ["PLANTED": secret])
        try #require(started.status == 0, "\(started)")
        // Until the server has rewritten its argument list (the leak is gone by then).
        let deadline = ContinuousClock.now + .seconds(20)
        var title = ""
        while ContinuousClock.now < deadline {
          title = try await execute(engine, ["exec", name, "cat", "/proc/1/cmdline"]).output
          if title.contains("redis-server") && !title.contains("--requirepass") { break }
          try await Task.sleep(for: .milliseconds(100))
        }
        if title.contains("redis-server") && !title.contains(secret) { rewritten += 1 }
        if watch.saw(secret) { caught += 1 }
        if events.saw(secret) { caughtByEvents += 1 }
        _ = try await execute(engine, ["rm", "-f", name])
      }
      // The window is a few milliseconds: under heavy load (scripts/test on both engines, load average
      // 15-27) the watch missed one of three, once two of three. Two catches are what it is held to.
      #expect(caught >= 2, "the /proc watch caught \(caught) of \(attempts) passwords in redis-server's arguments")
      #expect(
        getuid() != 0 || caughtByEvents >= 2, "the exec events alone caught \(caughtByEvents) of \(attempts)")
      let report = await watch.stop()
      _ = await events.stop()
      let (execs, _) = await trace.finish()
      try #require(report.unreadable == nil, "\(report.unreadable ?? "")")
      #expect(rewritten == attempts, "redis-server kept its arguments, so the planted leak proves less than it should")
      #expect(report.execEvents != nil || getuid() != 0, "the kernel's exec events were not available, as root")
      #expect(
        execs.contains { $0.strings.contains(marker) && $0.strings.contains("exit 0") },
        "the trace missed a password in the arguments of a program apphost ran")
      print(
        "secret-scan: \(engine): planted passwords caught: by the trace in a program apphost ran, by the /proc watch"
          + " in \(caught) of \(attempts) redis-servers (the exec events alone: \(caughtByEvents) of \(attempts)), which rewrote their"
          + " arguments \(rewritten) of 3 times"
          + " (\(report.execEvents.map { "\($0) exec events, " } ?? "no exec events, ")a pass every"
          + " \(String(format: "%.1f", report.milliseconds)) ms)"
      )
    }
  }

  /// Redis and Valkey read the password from a configuration file, where it is quoted: quotes,
  /// backslashes, `$`, spaces and the rest arrive as they are.
  @Test(arguments: TestEngines.all)
  func aPasswordWithQuotesAndBackslashesReachesTheServersIntact(engine: String) async throws {
    try await EngineProject.run(engine: engine, "quote") { project in
      let password = #"a"b\c d$e'f`g\"h;"#
      project.manifest(
        #""cache": {"type": "redis", "password": {"env": "TRICKY"}}, "sessions": {"type": "valkey", "password": {"env": "TRICKY"}}, "g": {"type": "garnet", "password": {"env": "TRICKY"}}"#
      )
      let up = try await project.apphost("up", "-d", environment: ["TRICKY": password])
      try #require(up.status == 0, "\(up)")
      let env = try await project.apphost("env", "--format", "json", environment: ["TRICKY": password])
      let environment = try #require(
        try JSONSerialization.jsonObject(with: Data(env.output.utf8)) as? [String: String], "\(env)")
      for name in ["CACHE", "SESSIONS", "G"] {
        let port = environment["\(name)_PORT"]
        #expect(try await project.redis(port: port, password: password, "PING") == "PONG", "\(name)")
        let wrong = try await project.redis(port: port, password: password + "x", "PING")
        #expect(wrong.contains("WRONGPASS") || wrong.contains("invalid password"), "\(name): \(wrong)")
      }
    }
  }

  /// Runs each command (every one must succeed), stops both watches and checks that neither saw a
  /// password; returns what they saw, for the checks of what they should have seen.
  static func runWatched(
    _ commands: [[String]], passwords: [String], watch: ArgumentWatch, trace: ExecTrace,
    run: ([String]) async throws -> CommandResult
  ) async throws -> (report: ArgumentWatch.Report, execs: [ExecTrace.Exec], lingering: [String]) {
    for arguments in commands {
      let result = try await run(arguments)
      #expect(result.status == 0, "apphost \(arguments.joined(separator: " ")): \(result)")
    }
    let report = await watch.stop()
    let (execs, lingering) = await trace.finish()
    try #require(report.unreadable == nil, "\(report.unreadable ?? "")")
    #expect(report.leaks(of: passwords).isEmpty, "\(report.leaks(of: passwords))")
    let leaking = execs.filter { exec in passwords.contains { exec.line.contains($0) } }
    #expect(leaking.isEmpty, "\(leaking.map(\.line))")
    return (report, execs, lingering)
  }

  func passwords(_ project: NativeProject) throws -> [String] {
    let text = try #require(project.folder.read(".apphost/secrets.json"))
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: String]]
    return Array(try #require(object?["passwords"]).values)
  }

  /// The same watch on the native engine, where the servers are processes apphost starts itself (with
  /// their settings in a 0600 file, never in their arguments): both watches see them, and every command.
  @Test(.enabled(if: NativeProject.wanted, "native: needs redis-server (scripts/test installs it)"))
  func noPasswordInTheArgumentsOfAnyProcessNatively() async throws {
    try await NativeProject.run("argv") { project in
      project.manifest(
        """
        "cache": {"type": "redis", "dataVolume": true, "replicas": 1}, "sessions": {"type": "valkey"},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo using $REDIS_PORT; sleep 1000"],
                   "references": ["cache"], "env": {"URL": "{sessions.uri}"}}
        """)
      let environment = project.environment.compactMapValues { $0 }.merging(["APPHOST_ENGINE": "native"]) { $1 }
      let watch = ArgumentWatch()
      let trace = ExecTrace()
      let foreground = try await trace.run(
        Binary.path, ["up", "--timeout", "180"], in: project.path, environment: environment
      ) {
        pid, output in
        _ = try await eventually(timeout: .seconds(200)) {
          output()
        } until: {
          $0.contains("worker") && $0.contains("| using")
        }
        kill(pid, SIGINT)
      }
      #expect(foreground.status == 130, "\(foreground)")
      let up = try await trace.run(
        Binary.path, ["up", "-d", "--timeout", "180"], in: project.path, environment: environment)
      try #require(up.status == 0, "\(up)")
      let passwords = try passwords(project)
      #expect(passwords.count == 2)
      let (report, execs, lingering) = try await Self.runWatched(
        [
          ["ps"], ["logs"], ["cli", "cache", "--", "PING"], ["cli", "sessions", "--", "SET", "k", "v"],
          ["env"], ["run", "--", "sh", "-c", #"test -n "$REDIS_URL""#], ["publish", "compose", "-o", "deploy"],
          ["down", "--volumes"],
        ], passwords: passwords, watch: watch, trace: trace
      ) { arguments in try await trace.run(Binary.path, arguments, in: project.path, environment: environment) }
      // The trace saw what apphost started: the servers themselves, the supervisor, the program.
      #expect(execs.contains { $0.strings.first?.hasSuffix("/redis-server") == true }, "redis-server was not traced")
      #expect(execs.contains { $0.strings.first?.hasSuffix("/valkey-server") == true }, "valkey-server was not traced")
      #expect(execs.contains { $0.strings.contains("__supervise") }, "the background supervisor was not traced")
      #expect(execs.contains { $0.line.contains("echo using") }, "the worker was not traced")
      #expect(
        !execs.contains {
          $0.strings.first?.hasSuffix("/docker") == true || $0.strings.first?.hasSuffix("/podman") == true
        })
      #expect(lingering.isEmpty, "left running after down: \(lingering.joined(separator: " | "))")
      #expect(report.commandLines.contains { $0.line.contains("redis-server") }, "redis-server was not seen in /proc")
      print(
        "secret-scan: native: no password in the arguments of \(Set(execs.map(\.pid)).count) traced processes"
          + " (\(execs.count) execs) nor of \(report.processes) processes seen in /proc (\(report.passes) passes)")
    }
  }

  /// Native servers read the password from their settings file, quoted: it arrives as it is.
  @Test(.enabled(if: NativeProject.wanted, "native: needs redis-server (scripts/test installs it)"))
  func aPasswordWithQuotesAndBackslashesReachesTheNativeServersIntact() async throws {
    try await NativeProject.run("quote") { project in
      let password = #"a"b\c d$e'f`g\"h;"#
      project.manifest(
        #""cache": {"type": "redis", "password": {"env": "TRICKY"}}, "sessions": {"type": "valkey", "password": {"env": "TRICKY"}}"#
      )
      let up = try await project.apphost("up", "-d", environment: ["TRICKY": password])
      try #require(up.status == 0, "\(up)")
      let env = try await project.apphost("env", "--format", "json", environment: ["TRICKY": password])
      let environment = try #require(
        try JSONSerialization.jsonObject(with: Data(env.output.utf8)) as? [String: String], "\(env)")
      for name in ["CACHE", "SESSIONS"] {
        let port = environment["\(name)_PORT"]
        #expect(try await project.redis(port: port, password: password, "PING") == "PONG", "\(name)")
        let wrong = try await project.redis(port: port, password: password + "x", "PING")
        #expect(wrong.contains("WRONGPASS") || wrong.contains("invalid password"), "\(name): \(wrong)")
      }
    }
  }

  @Test func anUnreadableProcFailsTheWatch() async {
    let missing = await ArgumentWatch(root: "/nonexistent-proc").stop()
    #expect(missing.unreadable?.contains("cannot list /nonexistent-proc") == true, "\(missing)")
    let empty = TemporaryFolder("apphost-proc")
    defer { empty.remove() }
    let blank = await ArgumentWatch(root: empty.path).stop()
    #expect(blank.unreadable != nil, "an empty /proc passed the watch")
    #expect(blank.processes == 0)
  }
}
