import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `restart`, `stop`, `start`, `down NAME`, `wait`, `events` and `up --json` against a running `up`, on
/// docker, podman and native: through the control socket, and without one for detached containers.
enum ControlEngines {
  static let all: [String] = TestEngines.all + (NativeProject.wanted ? ["native"] : [])
}

@Suite(.enabled(if: !ControlEngines.all.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ControlTests {

  /// A project on one engine, however that engine's tests make theirs.
  struct Target: Sendable {
    var engine: String
    var name: String
    var path: String
    var environment: [String: String]
    var write: @Sendable (String) -> Void

    func apphost(_ arguments: String...) async throws -> CommandResult {
      try await execute(Binary.path, arguments, in: path, environment: environment)
    }

    func background(_ arguments: String...) throws -> BackgroundCommand {
      try BackgroundCommand(Binary.path, arguments, in: path, environment: environment)
    }

    /// `ps --json`, by name.
    func ps() async throws -> [String: [String: Any]] {
      let result = try await apphost("ps", "--json")
      let rows = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]) ?? []
      return Dictionary(rows.compactMap { row in (row["name"] as? String).map { ($0, row) } }) { first, _ in first }
    }

    func pid(_ name: String) async throws -> Int32? {
      (try await ps()[name]?["pid"] as? NSNumber)?.int32Value
    }
  }

  /// Whether a process runs (a zombie does not).
  static func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    return !stat[close...].dropFirst(2).hasPrefix("Z")
  }

  static func withProject(_ engine: String, _ label: String, _ body: (Target) async throws -> Void) async throws {
    if engine == "native" {
      try await NativeProject.run(label) { project in
        var environment = project.environment.compactMapValues { $0 }
        environment["APPHOST_ENGINE"] = "native"
        let name = project.name
        let folder = project.folder
        try await body(
          Target(
            engine: engine, name: name, path: project.path, environment: environment,
            write: { folder.write("apphost.json", #"{"name": "\#(name)", "resources": {\#($0)}}"#) }))
      }
    } else {
      try await EngineProject.run(engine: engine, label) { project in
        let name = project.name
        let folder = project.folder
        try await body(
          Target(
            engine: engine, name: name, path: project.path, environment: ["APPHOST_ENGINE": engine, "NO_COLOR": "1"],
            write: { folder.write("apphost.json", #"{"name": "\#(name)", "resources": {\#($0)}}"#) }))
      }
    }
  }

  static let programs = """
    "cache": {"type": "redis"},
    "web": {"type": "executable", "command": "sh", "args": ["-c", "echo web $APPHOST_REPLICA; exec sleep 300"],
            "replicas": 2, "references": ["cache"]},
    "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo worker; exec sleep 300"],
               "references": ["cache"], "restart": "always"}
    """

  @Test(arguments: ControlEngines.all)
  func restartStopAndStartReachOneResourceOfAForegroundUp(engine: String) async throws {
    try await Self.withProject(engine, "ctl-fg") { project in
      project.write(Self.programs)
      let up = try project.background("up")
      defer { up.signal(SIGKILL) }
      let waited = try await project.apphost("wait", "--timeout", "90")
      try #require(waited.status == 0, "\(waited)\n\(up.output)")
      #expect(waited.output.contains("ready: cache, web-0, web-1, worker"), "\(waited)")
      var info = stat()
      #expect(lstat(project.path + "/.apphost/control.sock", &info) == 0 && info.st_mode & 0o777 == 0o600)

      // One replica: its pid changes, the other's and the worker's do not.
      let before = (try await project.pid("web-0"), try await project.pid("web-1"), try await project.pid("worker"))
      let rows = try await project.ps()
      #expect(before.0 != nil && before.1 != nil && before.2 != nil, "\(rows)")
      let restart = try await project.apphost("restart", "web-1")
      #expect(restart.status == 0 && restart.output.contains("restarted web-1"), "\(restart)")
      let web1 = try await project.pid("web-1")
      #expect(web1 != nil && web1 != before.1)
      #expect(try await project.pid("web-0") == before.0)
      #expect(try await project.pid("worker") == before.2)
      #expect(!Self.isAlive(before.1!), "the old replica is gone")

      // Stop keeps it stopped, even with restart "always"; start brings it back.
      let stop = try await project.apphost("stop", "worker")
      #expect(stop.status == 0, "\(stop)")
      #expect(!Self.isAlive(before.2!))
      try await Task.sleep(for: .seconds(1.5))
      let stopped = try await project.ps()
      #expect(stopped["worker"]?["state"] as? String == "stopped", "\(stopped)")
      let notReady = try await project.apphost("wait", "worker", "--timeout", "1")
      #expect(notReady.status == 1 && notReady.errors.contains("worker (stopped"), "\(notReady)")
      let start = try await project.apphost("start", "worker")
      #expect(start.status == 0, "\(start)")
      let worker = try await project.pid("worker")
      #expect(worker != nil && worker != before.2)

      // The cache: restarted through the engine, in the session, answering again; programs untouched.
      let cacheRestart = try await project.apphost("restart", "cache")
      #expect(cacheRestart.status == 0, "\(cacheRestart)\n\(up.output)")
      #expect(try await project.ps()["cache"]?["health"] as? String == "healthy")
      #expect(try await project.pid("web-0") == before.0)
      try await up.waitForOutput("cache  | ready at", timeout: .seconds(5))

      // Unknown names: the known ones are named.
      let unknown = try await project.apphost("restart", "wbe")
      #expect(unknown.status != 0 && unknown.errors.contains("web-1"), "\(unknown)")

      // `down NAME`: the cache goes, the up and its programs stay.
      let down = try await project.apphost("down", "cache")
      #expect(down.status == 0, "\(down)")
      let removed = try await project.ps()
      #expect(removed["cache"]?["state"] as? String == "not created", "\(removed)")
      #expect(try await project.pid("web-0") == before.0)

      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(60)) == 130, "\(up.output)")
      #expect(!FileManager.default.fileExists(atPath: project.path + "/.apphost/control.sock"))
      let after = try await project.apphost("restart", "web")
      #expect(after.status == 1 && after.errors.contains("no apphost up is running"), "\(after)")
    }
  }

  @Test(arguments: ControlEngines.all)
  func eventsShowACrashAndTheRestartThatFollows(engine: String) async throws {
    try await Self.withProject(engine, "ctl-ev") { project in
      project.write(
        """
        "cache": {"type": "redis"},
        "crashy": {"type": "executable", "command": "sh", "args": ["-c", "sleep 1; exit 3"], "restart": "on-failure"}
        """)
      let up = try project.background("up", "--json")
      defer { up.signal(SIGKILL) }
      try #require(try await project.apphost("wait", "--timeout", "90").status == 0, "\(up.output)")
      let events = try project.background("events")
      defer { events.signal(SIGKILL) }
      try await events.waitForOutput(#""type":"restarting""#, timeout: .seconds(20))
      up.signal(SIGTERM)
      let status = try await up.wait(timeout: .seconds(60))
      #expect(status == 143, "\(up.output)")
      #expect(try await events.wait(timeout: .seconds(10)) == 0, "events ends with the up")

      for (source, text) in [("up --json", up.output), ("events", events.output)] {
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = lines.compactMap {
          try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.count == lines.count, "\(source): every line is a JSON object")
        let crashy = objects.filter { $0["process"] as? String == "crashy" }
        let exited = crashy.firstIndex { $0["type"] as? String == "exited" && $0["exitCode"] as? Int == 3 }
        let restarting = crashy.firstIndex { $0["type"] as? String == "restarting" }
        #expect(exited != nil && restarting != nil && exited! < restarting!, "\(source): \(crashy)")
        if let restarting {
          // `events` may have subscribed after the first restart; `up --json` saw every one.
          let attempt = crashy[restarting]["attempt"] as? Int ?? 0
          #expect(source == "events" ? attempt >= 1 : attempt == 1, "\(source): \(crashy)")
          #expect((crashy[restarting]["delaySeconds"] as? Double ?? 0) >= 1)
          #expect(crashy[restarting]["resource"] as? String == "crashy" && crashy[restarting]["time"] is String)
        }
        if source == "up --json" {
          #expect(objects.contains { $0["process"] as? String == "cache" && $0["type"] as? String == "ready" })
          #expect(objects.contains { $0["process"] as? String == "crashy" && $0["type"] as? String == "stopped" })
        }
      }
    }
  }

  @Test(arguments: ControlEngines.all)
  func waitWorksOnDetachedContainersWithoutAnUp(engine: String) async throws {
    try await Self.withProject(engine, "ctl-wait") { project in
      project.write(#""cache": {"type": "redis"}, "sessions": {"type": "valkey"}"#)
      let up = try await project.apphost("up", "-d")
      try #require(up.status == 0, "\(up)")
      #expect(!FileManager.default.fileExists(atPath: project.path + "/.apphost/control.sock"), "no up runs")
      let wait = try await project.apphost("wait", "--timeout", "30")
      #expect(wait.status == 0 && wait.output.contains("ready: cache, sessions"), "\(wait)")
      // Without an up, the containers are stopped and started through the engine.
      let stop = try await project.apphost("stop", "cache")
      #expect(stop.status == 0, "\(stop)")
      let timedOut = try await project.apphost("wait", "cache", "--timeout", "1")
      #expect(timedOut.status == 1, "\(timedOut)")
      #expect(timedOut.errors.contains("not ready after 1 s: cache ("), "\(timedOut)")
      let sessions = try await project.apphost("wait", "sessions", "--timeout", "5")
      #expect(sessions.status == 0, "the other one stays: \(sessions)")
      let start = try await project.apphost("start", "cache")
      #expect(start.status == 0, "\(start)")
      #expect(try await project.apphost("wait", "cache", "--timeout", "30").status == 0)
      let unknown = try await project.apphost("wait", "nope", "--timeout", "1")
      #expect(unknown.status == 64 && unknown.errors.contains("nope"), "\(unknown)")
    }
  }

  @Test(arguments: ControlEngines.all)
  func execRunsInsideTheContainerOrWithTheCachesVariables(engine: String) async throws {
    try await Self.withProject(engine, "ctl-exec") { project in
      project.write(#""cache": {"type": "redis"}"#)
      let up = try await project.apphost("up", "-d")
      try #require(up.status == 0, "\(up)")
      let status = try await project.apphost("exec", "cache", "--", "sh", "-c", "exit 7")
      #expect(status.status == 7, "the command's exit code: \(status)")
      let variables = try await project.apphost("env", "cache", "--format", "json")
      let port =
        (try JSONSerialization.jsonObject(with: Data(variables.output.utf8)) as? [String: String])?["CACHE_PORT"]
      if engine == "native" {
        // No container: the command runs here with the cache's variables.
        let echo = try await project.apphost("exec", "cache", "--", "sh", "-c", "echo $CACHE_PORT $REDIS_URL; pwd")
        #expect(echo.status == 0 && echo.output.hasPrefix("\(port ?? "?") redis://"), "\(echo)")
        #expect(echo.output.contains(project.path), "\(echo)")
      } else {
        let name = try await execute(engine, ["ps", "--format", "{{.Names}}"]).output.split(separator: "\n")
          .first { $0.hasSuffix("-cache") && $0.contains("ctl-exec") }
        let hostname = try await execute(engine, ["inspect", "--format", "{{.Config.Hostname}}", String(name ?? "")])
        let inside = try await project.apphost("exec", "cache", "--", "hostname")
        #expect(inside.status == 0, "\(inside)")
        #expect(
          !hostname.output.isEmpty && inside.output == hostname.output, "inside the container: \(inside) \(hostname)")
        // The default is a shell, reading standard input when it is no terminal.
        let shell = try await execute(
          "/bin/sh", ["-c", "echo 'echo in-the-shell; exit 5' | \(Binary.path) exec cache"], in: project.path,
          environment: project.environment)
        #expect(shell.status == 5 && shell.output.contains("in-the-shell"), "\(shell)")
      }
      _ = try await project.apphost("stop", "cache")
      let stopped = try await project.apphost("exec", "cache", "--", "true")
      #expect(stopped.status == 1 && stopped.errors.contains("cache is not running"), "\(stopped)")
    }
  }

  @Test(arguments: ControlEngines.all)
  func logsSinceAndTimestampsForContainersAndPrograms(engine: String) async throws {
    try await Self.withProject(engine, "ctl-logs") { project in
      project.write(
        """
        "cache": {"type": "redis"},
        "talker": {"type": "executable", "command": "sh",
                   "args": ["-c", "echo early; sleep 3; echo late; exec sleep 300"]}
        """)
      let up = try await project.apphost("up", "-d")
      try #require(up.status == 0, "\(up)")
      _ = try await eventually(timeout: .seconds(20)) {
        try await project.apphost("logs", "talker")
      } until: {
        $0.output.contains("talker | late")
      }
      // From a second after `early` was written (`late` came 3 s after it), whatever the load.
      let stampedEarly = try await project.apphost("logs", "talker", "--timestamps")
      let earlyLine = stampedEarly.output.split(separator: "\n").first { $0.hasSuffix(" early") } ?? ""
      let earlyStamp = earlyLine.split(separator: " ").dropFirst(2).first.map(String.init) ?? ""
      let early = try #require(
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(earlyStamp), "\(stampedEarly)")
      let cut = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(early.addingTimeInterval(1))
      let recent = try await project.apphost("logs", "talker", "--since", cut)
      #expect(recent.status == 0 && recent.output.contains("late") && !recent.output.contains("early"), "\(recent)")
      let all = try await project.apphost("logs", "talker", "--since", "10m")
      #expect(all.output.contains("talker | early\n") && all.output.contains("talker | late\n"), "\(all)")
      let stamped = try await project.apphost("-f", "apphost.json", "logs", "--timestamps", "cache", "talker")
      let lines = stamped.output.split(separator: "\n")
      #expect(!lines.isEmpty && stamped.status == 0, "\(stamped)")
      let pattern = #"^(cache|talker) *\| 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[.\d]*(Z|[+-]\d\d:\d\d) "#
      for line in lines {
        #expect(line.range(of: pattern, options: .regularExpression) != nil, "not stamped: \(line)")
      }
      #expect(lines.contains { $0.hasPrefix("cache ") } && lines.contains { $0.hasSuffix(" late") })
      // A cache's lines from the last hour, none from the future.
      let cache = try await project.apphost("logs", "cache", "--since", "1h")
      #expect(cache.output.contains("cache |"), "\(cache)")
      let future = try await project.apphost("logs", "cache", "--since", "2099-01-01T00:00:00Z")
      #expect(!future.output.contains("cache |"), "\(future)")
    }
  }

  @Test(arguments: ControlEngines.all)
  func aSecondUpAddsNewResourcesToTheRunningSession(engine: String) async throws {
    try await Self.withProject(engine, "ctl-apply") { project in
      let first = """
        "cache": {"type": "redis"},
        "web": {"type": "executable", "command": "sh", "args": ["-c", "echo web; exec sleep 300"], "references": ["cache"]}
        """
      project.write(first)
      let up = try project.background("up")
      defer { up.signal(SIGKILL) }
      try #require(try await project.apphost("wait", "--timeout", "90").status == 0, "\(up.output)")
      let web = try await project.pid("web")
      project.write(
        first + """
          ,
          "sessions": {"type": "valkey"},
          "extra": {"type": "executable", "command": "sh",
                    "args": ["-c", "echo extra sees $SESSIONS_PORT; exec sleep 300"], "references": ["sessions"]}
          """)
      let second = try await project.apphost("up")
      let lines = second.output.split(separator: "\n")
      for name in ["sessions", "extra"] {
        #expect(lines.contains { $0.hasPrefix(name + " ") && $0.hasSuffix("| added") }, "\(second)\n\(up.output)")
      }
      #expect(second.status == 0, "\(second)\n\(up.output)")
      let rows = try await project.ps()
      #expect(rows["sessions"]?["health"] as? String == "healthy", "\(rows)")
      #expect(rows["extra"]?["state"] as? String == "running", "\(rows)")
      #expect(try await project.pid("web") == web, "what ran keeps running")
      let port = rows["sessions"]?["endpoint"] as? String ?? "?"
      try await up.waitForOutput("extra sees \(port.split(separator: ":").last ?? "?")", timeout: .seconds(10))
      let again = try await project.apphost("up")
      #expect(again.status == 0 && again.output.contains("nothing changed"), "\(again)")
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(60)) == 130, "\(up.output)")
      // What was added went with the session.
      let after = try await project.ps()
      #expect(after["sessions"]?["state"] as? String == "not created", "\(after)")
      #expect(up.output.contains("sessions | removed"), "\(up.output)")
    }
  }

  /// Root can open any file, the socket's mode included: the peer's uid is what refuses it.
  @Test(.enabled(if: geteuid() == 0, "needs root to run an up as another user"))
  func theSocketRefusesAnotherUser() async throws {
    let (uid, gid) = try await NonRootTests.ensureUser()
    let folder = ProjectFolder("apphost-ctl-uid")
    defer { folder.remove() }
    folder.write(
      "apphost.json",
      #"{"name": "ctl-uid", "resources": {"app": {"type": "executable", "command": "sleep", "args": ["300"]}}}"#)
    chown(folder.path, uid, gid)
    chown(folder.path + "/apphost.json", uid, gid)
    chmod(folder.path, 0o755)
    let up = try BackgroundCommand(
      "/usr/sbin/runuser",
      [
        "-u", NonRootTests.user, "--", "env", "NO_COLOR=1", "PATH=/usr/bin:/bin", "HOME=/tmp", Binary.path, "up",
        "--engine", "native",
      ],
      in: folder.path)
    defer { up.signal(SIGKILL) }
    try await up.waitForOutput("app | started", timeout: .seconds(30))
    let socket = folder.path + "/.apphost/control.sock"
    _ = try await eventually(timeout: .seconds(10)) {
      FileManager.default.fileExists(atPath: socket)
    } until: {
      $0
    }
    var info = stat()
    #expect(lstat(socket, &info) == 0 && info.st_uid == uid && info.st_mode & 0o777 == 0o600)
    let refused = try await apphost("restart", "app", "--engine", "native", in: folder.path)
    #expect(refused.status == 1 && refused.errors.contains("refused"), "\(refused)")
    let events = try await apphost("events", "--engine", "native", in: folder.path)
    #expect(events.status == 1 && events.errors.contains("refused"), "\(events)")
    // Its owner is served.
    let owner = try await execute(
      "/usr/sbin/runuser",
      [
        "-u", NonRootTests.user, "--", "env", "NO_COLOR=1", "PATH=/usr/bin:/bin", Binary.path, "restart", "app",
        "--engine", "native",
      ], in: folder.path)
    #expect(owner.status == 0 && owner.output.contains("restarted app"), "\(owner)")
    up.signal(SIGTERM)
    #expect(try await up.wait(timeout: .seconds(30)) == 143, "\(up.output)")
  }
}
