import AppHostKit
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What users and machines do to apphost: broken manifests, kills at random moments, Ctrl-C during
/// start-up, containers killed from outside, taken ports, an engine that goes away, secrets.
/// Lines starting `fault-summary:` give the figures the README's reliability section reports.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct FaultTests {
  /// Every broken manifest of the corpus, plus files that are not manifests at all.
  static func brokenManifests() -> [(name: String, bytes: [UInt8])] {
    var cases: [(String, [UInt8])] = []
    let folder = Binary.repository + "/Tests/Fixtures/manifests/invalid"
    for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    where name.hasSuffix(".json") {
      cases.append((name, [UInt8](FileManager.default.contents(atPath: "\(folder)/\(name)") ?? Data())))
    }
    cases.append(("binary", [UInt8]((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) })))
    cases.append(
      (
        "huge",
        [UInt8](#"{"resources": {"cache": {"type": "redis", "env": {"A": ""#.utf8)
          + [UInt8](repeating: 0x61, count: 2 << 20) + [UInt8](#""}}}}"#.utf8)
      ))
    cases.append(("deep", [UInt8](String(repeating: "[", count: 5000).utf8)))
    cases.append(("utf16", [0xFF, 0xFE] + [UInt8](#"{"resources": {}}"#.utf8).flatMap { [$0, 0] }))
    return cases
  }

  @Test(arguments: TestEngines.all.prefix(1))
  func everyBrokenManifestExits65AndCreatesNothing(engine: String) async throws {
    let cases = Self.brokenManifests()
    #expect(cases.count >= 40)
    var checked = 0
    for (name, bytes) in cases {
      let folder = TemporaryFolder("apphost-broken")
      defer { folder.remove() }
      _ = FileManager.default.createFile(atPath: folder.path + "/apphost.json", contents: Data(bytes))
      // Manifests that name a file next to them find it there.
      _ = FileManager.default.createFile(atPath: folder.path + "/\(name)", contents: Data(bytes))
      let before = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
      for command in [["up", "-d"], ["config"], ["up"]] {
        let result = try await execute(Binary.path, command, in: folder.path, environment: ["APPHOST_ENGINE": engine])
        #expect(result.status == 65, "\(name), apphost \(command.joined(separator: " ")): \(result)")
        #expect(result.errors.contains(": error: "), "\(name): \(result.errors)")
        #expect(result.errors.contains("nothing was started"), "\(name)")
        #expect(!result.errors.contains("Fatal") && !result.errors.contains("crashed"), "\(name)")
      }
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == before, "\(name) wrote files")
      let filter = "label=apphost.project-dir=\(folder.path)"
      for kind in [["ps", "-a", "-q"], ["network", "ls", "-q"], ["volume", "ls", "-q"]] {
        let found = try await execute(engine, kind + ["--filter", filter])
        #expect(found.output.isEmpty, "\(name) made \(kind[0])")
      }
      checked += 1
    }
    // A manifest that is a folder.
    let folder = TemporaryFolder("apphost-broken")
    defer { folder.remove() }
    try FileManager.default.createDirectory(atPath: folder.path + "/apphost.json", withIntermediateDirectories: true)
    let result = try await execute(Binary.path, ["up", "-d"], in: folder.path, environment: ["APPHOST_ENGINE": engine])
    #expect(result.status == 65)
    #expect(result.errors.contains("this is a folder, not a manifest file"))
    print(
      "fault-summary: \(checked) broken manifest files, each run with up -d, config and up, and a folder in the "
        + "manifest's place (up -d): exit 65, nothing created")
  }

  /// SIGKILL at each phase of a foreground `up`, at least `perPhase` times each; after each kill, `up -d` or
  /// `down` must leave exactly what the manifest asks for: no orphaned container, network or program, no
  /// second copy. The phases are seen from outside (`KillPhase`): the engine commands apphost starts (they
  /// carry `APPHOST_ENGINE_OWNER=<its pid>/...`), its output lines and the program's pid file.
  @Test(arguments: TestEngines.all)
  func killedAtEveryPhaseLeavesNothingOrphaned(engine: String) async throws {
    try await EngineProject.run(engine: engine, "kill") { project in
      let marker = "apphost-kill-marker-\(project.name)"
      project.manifest(
        """
        "cache": {"type": "redis"}, "keep": {"type": "valkey", "lifetime": "persistent", "dataVolume": true},
        "ui": {"type": "rediscommander"},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo $$ > worker.pid; while true; do sleep 0.1; done # \(marker)"]}
        """)
      let perPhase = 5
      var counts: [KillPhase: Int] = [:]
      var trial = 0
      var repairs = 0
      while KillPhase.aims.contains(where: { counts[$0, default: 0] < perPhase }), trial < 40 {
        // The phase this trial aims at: the first one still short of its minimum, in turn.
        let aim = KillPhase.aims.filter { counts[$0, default: 0] < perPhase }[0]
        unlink(project.path + "/worker.pid")
        let up = try await BackgroundCommand.start(project: project, "up")
        let watcher = EngineCommandWatcher(owner: up.pid)
        let hit = try await Self.killAt(aim, up: up, watcher: watcher, project: project)
        _ = try await up.wait(timeout: .seconds(10))
        counts[hit, default: 0] += 1
        trial += 1

        // Both repairs follow every phase: up -d on odd kills of a phase, down on even ones.
        let repair = counts[hit, default: 0] % 2 == 1
        if repair { repairs += 1 }
        let label = "trial \(trial) (killed \(hit.rawValue), then \(repair ? "up -d" : "down"))"
        let next = try await project.apphost(repair ? "up" : "down", repair ? "-d" : "-v")
        #expect(next.status == 0, "\(label): \(next)")
        let names = try await project.cli(
          "ps", "-a", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.Names}}"
        )
        .output.split(separator: "\n").map(String.init).sorted()
        // The worker's shell forks for each `sleep`: a child caught between fork and exec still shows the
        // worker's command line. Only processes whose parent is not one of them count.
        let marked = try await execute("pgrep", ["-f", marker]).output.split(separator: "\n").map(String.init)
        let programs = marked.filter { pid in
          let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
          let parent = stat.split(separator: ")").last?.split(separator: " ").dropFirst().first.map(String.init)
          return !(parent.map(marked.contains) ?? false)
        }
        let networks = try await project.cli("network", "ls", "--filter", "label=apphost.project=\(project.name)", "-q")
          .output.split(separator: "\n")
        if repair {
          #expect(names == ["cache", "keep", "ui"].map { "\(project.name)-\($0)" }.sorted(), "\(label): \(names)")
          #expect(programs.count == 1, "\(label): one worker, not \(programs.count)")
          #expect(networks.count == 1, "\(label)")
          let ps = try await project.succeed("ps", "--json")
          let rows = try JSONSerialization.jsonObject(with: Data(ps.output.utf8)) as? [[String: Any]] ?? []
          #expect(rows.count == 4, "\(label): \(rows)")
          for row in rows where row["type"] as? String != "executable" {
            #expect(row["health"] as? String == "healthy", "\(label): \(row)")
          }
          try await project.succeed("down")
          #expect(try await execute("pgrep", ["-f", marker]).output.isEmpty, "\(label): down left the worker")
        } else {
          #expect(names.isEmpty, "\(label): \(names)")
          #expect(programs.isEmpty, "\(label): \(programs.count) orphaned workers")
          #expect(networks.isEmpty, "\(label)")
        }
      }
      for phase in KillPhase.aims {
        #expect(counts[phase, default: 0] >= perPhase, "\(phase.rawValue): \(counts[phase, default: 0]) kills")
      }
      let split = (KillPhase.aims + [.otherStartUp]).map { "\(counts[$0, default: 0]) \($0.rawValue)" }.joined(
        separator: ", ")
      print(
        "fault-summary: \(engine): \(trial) SIGKILLs of a foreground up (\(split)), \(repairs) followed by up -d and "
          + "\(trial - repairs) by down: no orphaned container, network or program, no second copy")
    }
  }

  /// Waits for `aim` and kills `up` there; returns the phase it was in at the kill, as seen afterwards
  /// (an engine command may have begun, or the program started, between the look and the kill).
  static func killAt(_ aim: KillPhase, up: BackgroundCommand, watcher: EngineCommandWatcher, project: EngineProject)
    async throws -> KillPhase
  {
    let pidFile = project.path + "/worker.pid"
    let deadline = ContinuousClock.now + .seconds(90)
    var running: [EngineCommandWatcher.Command] = []
    var killed = false
    while !killed && ContinuousClock.now < deadline {
      let seen = watcher.scan()
      let ready = up.output.contains("| ready at")
      let programStarted = FileManager.default.fileExists(atPath: pidFile)
      switch aim {
      case .beforeEngine: killed = seen.isEmpty
      case .duringRun:
        running = seen.filter { $0.arguments.dropFirst().first == "run" && $0.isAlive }
        killed = !running.isEmpty
      case .afterReady: killed = ready && !programStarted
      case .programsRunning, .otherStartUp: killed = up.output.contains("Ctrl-C stops") && programStarted
      }
      if killed {
        up.signal(SIGKILL)
      } else {
        try await Task.sleep(for: .milliseconds(2))
      }
    }
    try #require(killed, "never reached \(aim.rawValue): \(up.output)")
    // What was true at the kill: engine commands started before it are still there (the kill does not
    // reach them: they run in their own process groups) or were seen; the program writes its pid file as
    // its first step.
    let runStillGoing = running.contains { $0.isAlive }
    let commands = watcher.scan()
    let ready = up.output.contains("| ready at")
    try await Task.sleep(for: .milliseconds(200))
    if FileManager.default.fileExists(atPath: pidFile) { return .programsRunning }
    if ready { return .afterReady }
    if runStillGoing { return .duringRun }
    if commands.isEmpty { return .beforeEngine }
    return .otherStartUp
  }

  /// Ctrl-C before the caches are ready: what the run started goes within the grace period; the
  /// persistent container and the volumes stay.
  @Test(arguments: TestEngines.all)
  func ctrlCDuringStartUpStopsWhatTheRunStarted(engine: String) async throws {
    try await EngineProject.run(engine: engine, "sigint") { project in
      project.manifest(
        """
        "cache": {"type": "redis", "dataVolume": true}, "keep": {"type": "valkey", "lifetime": "persistent", "dataVolume": true},
        "slow": {"type": "redis", "password": false, "args": ["--port", "6390"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up", "--timeout", "120")
      try await up.waitForOutput("keep  | ready", timeout: .seconds(60))
      try await up.waitForOutput("cache | ready", timeout: .seconds(60))
      #expect(!up.output.contains("Ctrl-C stops"), "still starting: slow never answers on 6379")
      let began = ContinuousClock.now
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(30)) == 130, "\(up.output)")
      #expect(ContinuousClock.now - began < .seconds(10), "within the grace period")
      let names = try await project.cli(
        "ps", "-a", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.Names}}")
      #expect(names.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(project.name)-keep")
      let volumes = try await project.cli(
        "volume", "ls", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.Name}}")
      #expect(
        Set(volumes.output.split(separator: "\n").map(String.init)) == [
          "\(project.name)-cache-data", "\(project.name)-keep-data",
        ])
      print(
        "fault-summary: \(engine): SIGINT during start-up: session containers removed in \(ContinuousClock.now - began), persistent container and volumes kept"
      )
    }
  }

  @Test(arguments: TestEngines.all)
  func aContainerKilledFromOutsideIsReportedAndRepaired(engine: String) async throws {
    try await EngineProject.run(engine: engine, "outside") { project in
      project.manifest(#""cache": {"type": "redis", "dataVolume": true}, "other": {"type": "valkey"}"#)
      // Foreground: reported at once.
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("Ctrl-C stops", timeout: .seconds(60))
      // Counted from when the engine's `kill` has returned (that CLI alone took seconds on a loaded
      // machine): the end of the container's output tells the up, no poll.
      _ = try await project.cli("kill", "\(project.name)-cache")
      let killed = ContinuousClock.now
      try await up.waitForOutput("cache stopped (", timeout: .seconds(10))
      #expect(ContinuousClock.now - killed < .seconds(10))
      let ps = try await project.succeed("ps")
      #expect(ps.output.range(of: #"cache +redis +exited"#, options: .regularExpression) != nil, "\(ps)")
      up.signal(SIGINT)
      _ = try await up.wait(timeout: .seconds(30))

      // Detached: the next up repairs it.
      try await project.succeed("up", "-d")
      let environment = try await project.environment("cache")
      _ = try await project.redis(
        port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "SET", "k", "v")
      _ = try await project.cli("stop", "\(project.name)-cache")
      let stopped = try await project.succeed("ps")
      #expect(stopped.output.range(of: #"cache +redis +exited"#, options: .regularExpression) != nil, "\(stopped)")
      let repaired = try await project.succeed("up", "-d")
      #expect(repaired.output.contains("cache | starting the stopped container"), "\(repaired)")
      let again = try await project.environment("cache")
      #expect(try await project.redis(port: again["CACHE_PORT"], password: again["CACHE_PASSWORD"], "GET", "k") == "v")
    }
  }

  @Test(arguments: TestEngines.all)
  func aPortTakenByAnotherProjectIsRefusedBeforeAnythingStarts(engine: String) async throws {
    try await EngineProject.run(engine: engine, "porta") { first in
      let port = try TCPListener.freePort()
      first.manifest(#""cache": {"type": "redis", "hostPort": \#(port)}"#)
      try await first.succeed("up", "-d")
      try await EngineProject.run(engine: engine, "portb") { second in
        second.manifest(
          #""other": {"type": "valkey", "dataVolume": true}, "cache": {"type": "redis", "hostPort": \#(port)}"#)
        let up = try await second.apphost("up", "-d")
        #expect(up.status == 1, "\(up)")
        #expect(up.errors.contains("port \(port) on 127.0.0.1 is already in use"))
        #expect(try await second.leftovers().isEmpty, "nothing half-made")
      }
    }
  }

  @Test(arguments: TestEngines.all)
  func twoProjectsStartAtOnce(engine: String) async throws {
    try await EngineProject.run(engine: engine, "twoa") { first in
      try await EngineProject.run(engine: engine, "twob") { second in
        first.manifest(#""cache": {"type": "redis"}, "ui": {"type": "rediscommander"}"#)
        second.manifest(#""cache": {"type": "redis"}, "ui": {"type": "rediscommander"}"#)
        async let a = first.apphost("up", "-d")
        async let b = second.apphost("up", "-d")
        let (one, two) = try await (a, b)
        #expect(one.status == 0, "\(one)")
        #expect(two.status == 0, "\(two)")
      }
    }
  }

  /// The engine goes away while `up` runs (its socket disappears): a clear message, and `down` cleans up
  /// once it is back.
  @Test(.enabled(if: TestEngines.all.contains("docker"), "needs the docker test engine"))
  func anEngineThatStopsAnsweringIsReported() async throws {
    let real = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? "unix:///var/run/docker.sock"
    // The proxy stands between apphost and a unix socket; an engine reached otherwise cannot be taken away
    // this way, and the test says so instead of passing without a check.
    try #require(real.hasPrefix("unix://"), "DOCKER_HOST is \(real): this test needs the engine on a unix socket")
    try await EngineProject.run(engine: "docker", "gone") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      let socket = project.path + "/docker.sock"
      var proxy = try SocketProxy(listening: socket, forwardingTo: String(real.dropFirst("unix://".count)))
      let up = try BackgroundCommand(
        Binary.path, ["up"], in: project.path,
        environment: ["APPHOST_ENGINE": "docker", "NO_COLOR": "1", "DOCKER_HOST": "unix://\(socket)"])
      try await up.waitForOutput("Ctrl-C stops", timeout: .seconds(60))
      proxy.stop()
      try await up.waitForOutput("lost contact with docker", timeout: .seconds(10))
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(60)) == 1, "\(up.output)")
      #expect(up.output.contains("the session containers could not be removed"), "\(up.output)")
      #expect(up.output.contains("Run `apphost down` once docker answers again"))
      proxy = try SocketProxy(listening: socket, forwardingTo: String(real.dropFirst("unix://".count)))
      let down = try await execute(
        Binary.path, ["down"], in: project.path,
        environment: ["APPHOST_ENGINE": "docker", "DOCKER_HOST": "unix://\(socket)"])
      #expect(down.status == 0, "\(down)")
      #expect(try await project.leftovers().isEmpty)
      proxy.stop()
      print("fault-summary: docker stopped answering mid-run: reported, and down removed everything once it was back")
    }
  }

  /// No password in any process's arguments, in ps, config, logs or messages; private files; 127.0.0.1.
  @Test(arguments: TestEngines.all)
  func secretsStaySecretAndPortsStayLocal(engine: String) async throws {
    try await EngineProject.run(engine: engine, "secret") { project in
      project.manifest(
        """
        "cache": {"type": "redis"}, "g": {"type": "garnet", "dataVolume": true},
        "insight": {"type": "redisinsight"}, "commander": {"type": "rediscommander"},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo using $REDIS_PORT; sleep 1000"], "references": ["cache"], "env": {"URL": "{g.uri}"}}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("worker    | using", timeout: .seconds(60))
      let secretsText = try #require(project.folder.read(".apphost/secrets.json"))
      let secrets = try JSONSerialization.jsonObject(with: Data(secretsText.utf8)) as? [String: [String: String]]
      let passwords = try #require(secrets?["passwords"]).values
      #expect(passwords.count == 2)
      var processes = 0
      for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
        processes += 1
        let commandLine = String(decoding: data, as: UTF8.self)
        for password in passwords { #expect(!commandLine.contains(password), "pid \(pid): \(commandLine)") }
      }
      var outputs = [up.output]
      for command in [
        ["ps"], ["ps", "--json"], ["config"], ["config", "--json"], ["logs"], ["cli", "cache", "--", "NOSUCH"],
      ] {
        let result = try await execute(Binary.path, command, in: project.path, environment: ["APPHOST_ENGINE": engine])
        outputs.append(result.output + result.errors)
      }
      for text in outputs {
        for password in passwords { #expect(!text.contains(password)) }
      }
      // .apphost: folders 0700, files 0600.
      let state = project.path + "/.apphost"
      for entry in try FileManager.default.subpathsOfDirectory(atPath: state) + [""] {
        let path = entry.isEmpty ? state : "\(state)/\(entry)"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        let isFolder = attributes[.type] as? FileAttributeType == .typeDirectory
        #expect(mode == (isFolder ? 0o700 : 0o600), "\(path): \(String(mode, radix: 8))")
      }
      // Garnet reads its password from a file of its own container, readable by the server's user only.
      let garnetFile = try await execute(
        engine, ["exec", "\(project.name)-g", "stat", "-c", "%a %U", "/tmp/apphost-garnet.conf"])
      #expect(garnetFile.output == "600 app\n", "\(garnetFile)")
      // Every published port listens on 127.0.0.1 only.
      let ps = try await project.succeed("ps", "--json")
      let rows = try JSONSerialization.jsonObject(with: Data(ps.output.utf8)) as? [[String: Any]] ?? []
      let ports = rows.compactMap { ($0["endpoint"] as? String) ?? ($0["url"] as? String) }.compactMap {
        $0.split(separator: ":").last.map(String.init)
      }
      #expect(ports.count == 4)
      let listening = try await execute("ss", ["-ltnH"]).output
      for port in ports {
        let lines = listening.split(separator: "\n").filter { $0.contains(":\(port) ") }
        #expect(!lines.isEmpty, "nothing listens on port \(port): ss cannot tell where it listens")
        for line in lines {
          let local = line.split(separator: " ", omittingEmptySubsequences: true)[3]
          #expect(local == "127.0.0.1:\(port)", "port \(port) listens on \(local)")
        }
      }
      up.signal(SIGINT)
      _ = try await up.wait(timeout: .seconds(60))
      print(
        "fault-summary: \(engine): passwords in none of \(processes) process argument lists, nor in ps, config, logs or messages; .apphost 0700/0600; \(ports.count) ports on 127.0.0.1 only"
      )
    }
  }
}

/// A unix-socket proxy to the engine's socket, which the test can take away (an engine that stops
/// answering) and bring back.
struct SocketProxy {
  let process: Process
  let path: String

  init(listening path: String, forwardingTo target: String) throws {
    let script = """
      import os, socket, sys, threading
      path, target = sys.argv[1], sys.argv[2]
      try: os.unlink(path)
      except FileNotFoundError: pass
      server = socket.socket(socket.AF_UNIX); server.bind(path); server.listen(64)
      def pump(a, b):
          try:
              while (data := a.recv(65536)): b.sendall(data)
          except OSError: pass
          finally:
              for s in (a, b):
                  try: s.shutdown(socket.SHUT_RDWR)
                  except OSError: pass
      while True:
          client, _ = server.accept()
          upstream = socket.socket(socket.AF_UNIX); upstream.connect(target)
          threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
          threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, path, target]
    unlink(path)
    try process.run()
    self.process = process
    self.path = path
    let deadline = Date().addingTimeInterval(5)
    while !FileManager.default.fileExists(atPath: path) && Date() < deadline { usleep(10_000) }
  }

  /// Kills the proxy and its socket: every connection through it breaks, new ones are refused.
  func stop() {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    unlink(path)
  }
}

/// Where a foreground `up` was when it was killed.
enum KillPhase: String {
  /// apphost had started no engine command yet.
  case beforeEngine = "before any engine call"
  /// An engine `run` (creating and starting a container) was under way.
  case duringRun = "during the engine's run"
  /// Caches or UIs were ready, no program had started.
  case afterReady = "after ready, before the programs"
  /// The program was running.
  case programsRunning = "while the program ran"
  /// Start-up between those (engine calls other than `run`): counted, not aimed at.
  case otherStartUp = "elsewhere in start-up"

  static let aims: [KillPhase] = [.beforeEngine, .duringRun, .afterReady, .programsRunning]
}

/// The engine commands one apphost started, seen through /proc: each carries
/// `APPHOST_ENGINE_OWNER=<apphost's pid>/...` in its environment.
final class EngineCommandWatcher {
  struct Command {
    var pid: Int32
    var startTime: String
    var arguments: [String]

    /// The same process (pid and start time) still exists and has not ended.
    var isAlive: Bool {
      guard let stat = EngineCommandWatcher.stat(pid) else { return false }
      return stat.startTime == startTime && stat.state != "Z"
    }
  }

  private let mark: String
  private var commands: [Int32: Command] = [:]
  private var unmarked: Set<Int32> = []

  init(owner: Int32) {
    mark = "\(OrphanScan.engineVariable)=\(owner)/"
  }

  /// Every engine command seen so far (new processes are looked at on each call).
  func scan() -> [Command] {
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
      guard let pid = Int32(entry), commands[pid] == nil, !unmarked.contains(pid) else { continue }
      guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
        let stat = Self.stat(pid)
      else { continue }
      let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
      if variables.contains(where: { $0.hasPrefix(mark) }) {
        let line = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        commands[pid] = Command(
          pid: pid, startTime: stat.startTime,
          arguments: line.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
      } else if stat.command != "apphost" {
        // A child apphost forked and has not yet replaced by the engine's CLI still has apphost's name
        // and environment: looked at again next time.
        unmarked.insert(pid)
      }
    }
    return commands.values.sorted { $0.pid < $1.pid }
  }

  static func stat(_ pid: Int32) -> (command: String, state: String, startTime: String)? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After the command: state (field 3), ..., start time (field 22).
    guard fields.count > 19 else { return nil }
    return (String(text[text.index(after: open)..<close]), String(fields[0]), String(fields[19]))
  }
}
