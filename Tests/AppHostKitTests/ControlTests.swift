import Foundation
import TestSupport
import Testing

@testable import AppHostKit

#if canImport(Glibc)
  import Glibc
#endif

/// The control socket against a real supervisor running `sleep`s, and a FakeEngine for containers.
@Suite struct ControlSocketTests {
  /// A project folder with programs `web` (2 replicas) and `worker`, and a redis `cache` on the fake engine.
  struct Running {
    let folder: TemporaryFolder
    let state: StateDirectory
    let plan: Plan
    let supervisor: Supervisor
    let hub: EventHub
    let engine: FakeEngine
    let control: SessionControl
    let run: Task<Int32?, Never>

    func stop() async {
      await supervisor.stop(immediately: true)
      _ = await run.value
      control.server?.close()
    }
  }

  static func start(restart: String = "no") async throws -> Running {
    let folder = TemporaryFolder("apphost-control")
    let plan = try plan(
      """
      {"resources": {"cache": {"type": "redis", "password": false},
        "web": {"type": "executable", "command": "sleep", "args": ["300"], "replicas": 2, "restart": "\(restart)"},
        "worker": {"type": "executable", "command": "sleep", "args": ["300"], "env": {"ROLE": "worker"}}}}
      """, folder: folder.path, environment: ["PATH": "/usr/bin:/bin"])
    let engine = FakeEngine()
    let launcher = Launcher(
      engine: engine, plan: plan, owner: .current, events: { _ in },
      readiness: { _, _, _, _, _ in .ready })
    _ = try await launcher.start(existing: [], options: Launcher.Options())
    let state = StateDirectory(projectDirectory: folder.path)
    let specs = try ProcessSpec.specs(plan: plan, ports: ["cache": 6379], selection: ["cache", "web", "worker"])
    let hub = EventHub(plan: plan)
    let events: EventSink = { hub.publish($0) }
    let supervisor = Supervisor(
      specs: specs, events: events, logDirectory: nil, state: nil, owner: .current, detached: false)
    let control = SessionControl.serve(
      plan: plan, engine: engine, supervisor: supervisor, state: state, hub: hub, events: events)
    let run = Task { await supervisor.run() }
    // Until every program runs.
    for _ in 0..<500 where await supervisor.processes.contains(where: { $0.state != .running }) {
      try await Task.sleep(for: .milliseconds(10))
    }
    return Running(
      folder: folder, state: state, plan: plan, supervisor: supervisor, hub: hub, engine: engine, control: control,
      run: run)
  }

  @Test func theSocketIsTheOwnersOnly() async throws {
    let running = try await Self.start()
    defer { Task { await running.stop() } }
    let path = ControlSocket.path(running.state)
    var info = stat()
    #expect(lstat(path, &info) == 0)
    #expect(info.st_mode & S_IFMT == S_IFSOCK)
    #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
    #expect(info.st_uid == getuid())
    await running.stop()
    #expect(!FileManager.default.fileExists(atPath: path), "the socket goes with the session")
    #expect(throws: AppHostError.self) { try ControlClient.connect(running.state) }
  }

  @Test func listShowsProgramsAndContainers() async throws {
    let running = try await Self.start()
    defer { Task { await running.stop() } }
    let client = try ControlClient.connect(running.state)
    let rows = try await client.list()
    #expect(rows.map(\.name) == ["cache", "web-0", "web-1", "worker"])
    let web1 = try #require(rows.first { $0.name == "web-1" })
    #expect(web1.resource == "web" && web1.replica == 1 && web1.kind == "program" && web1.state == "running")
    #expect(web1.ready && web1.pid.map { $0 > 0 } == true && web1.restarts == 0)
    let cache = try #require(rows.first { $0.name == "cache" })
    #expect(cache.kind == "container" && cache.type == "redis")
    #expect(try await client.environment(of: "worker")["ROLE"] == "worker")
    #expect(try await client.environment(of: "web-1")["APPHOST_REPLICA"] == "1")
    await running.stop()
  }

  @Test func restartOneReplicaChangesItsPidOnly() async throws {
    let running = try await Self.start()
    defer { Task { await running.stop() } }
    let client = try ControlClient.connect(running.state)
    let before = Dictionary(uniqueKeysWithValues: try await client.list().map { ($0.name, $0.pid) })
    #expect(try await client.restart(["web-1"]) == ["web-1"])
    let after = Dictionary(uniqueKeysWithValues: try await client.list().map { ($0.name, $0.pid) })
    #expect(after["web-1"] != before["web-1"] && after["web-1"]! != nil, "\(before) -> \(after)")
    #expect(after["web-0"] == before["web-0"])
    #expect(after["worker"] == before["worker"])
    // The whole program: both replicas.
    #expect(try await client.restart(["web"]) == ["web-0", "web-1"])
    let again = Dictionary(uniqueKeysWithValues: try await client.list().map { ($0.name, $0.pid) })
    #expect(again["web-0"] != after["web-0"] && again["web-1"] != after["web-1"])
    #expect(again["worker"] == before["worker"])
    await running.stop()
  }

  @Test func stopKeepsItStoppedUntilStart() async throws {
    let running = try await Self.start(restart: "always")
    defer { Task { await running.stop() } }
    let client = try ControlClient.connect(running.state)
    let pid = try #require(try await client.list().first { $0.name == "web-0" }?.pid)
    try await client.stop(["web-0"])
    #expect(!ChildProcess.isRunning(pid))
    // "always" does not bring it back while it is stopped by request.
    try await Task.sleep(for: .milliseconds(1500))
    let stopped = try #require(try await client.list().first { $0.name == "web-0" })
    #expect(stopped.state == "stopped" && stopped.pid == nil && !stopped.ready)
    try await client.start(["web-0"])
    let started = try #require(try await client.list().first { $0.name == "web-0" })
    #expect(started.state == "running" && started.pid != nil && started.pid != pid)
    await running.stop()
  }

  @Test func aProgramThatEndedForGoodStartsAgain() async throws {
    let running = try await Self.start()
    defer { Task { await running.stop() } }
    let client = try ControlClient.connect(running.state)
    let pid = try #require(try await client.list().first { $0.name == "worker" }?.pid)
    kill(-pid, SIGTERM)
    for _ in 0..<300 where try await client.list().first(where: { $0.name == "worker" })?.state != "exited" {
      try await Task.sleep(for: .milliseconds(10))
    }
    #expect(try await client.list().first { $0.name == "worker" }?.exitCode == 143)
    try await client.start(["worker"])
    #expect(try await client.list().first { $0.name == "worker" }?.state == "running")
    await running.stop()
  }

  @Test func containersRestartThroughTheEngine() async throws {
    let running = try await Self.start()
    defer { Task { await running.stop() } }
    let client = try ControlClient.connect(running.state)
    try await client.stop(["cache"])
    #expect(running.engine.record(running.plan.container("cache")!.containerName)?.state == .exited)
    #expect(try await client.list().first { $0.name == "cache" }?.state == "stopped")
    try await client.down(["cache"])
    #expect(running.engine.record(running.plan.container("cache")!.containerName) == nil)
    await #expect(throws: AppHostError.self) { try await client.start(["cache"]) }
    await running.stop()
  }

  @Test func unknownNamesAreRefusedWithTheKnownOnes() async throws {
    let running = try await Self.start()
    defer { Task { await running.stop() } }
    let client = try ControlClient.connect(running.state)
    do {
      try await client.restart(["wbe"])
      Issue.record("accepted an unknown name")
    } catch {
      #expect(error.errorDescription?.contains("wbe") == true)
      #expect(error.errorDescription?.contains("web-1") == true, "\(error.errorDescription ?? "")")
    }
    // The connection still answers after a failed request.
    #expect(try await client.list().count == 4)
    await running.stop()
  }

  @Test func subscribersSeeACrashAndTheRestart() async throws {
    let running = try await Self.start(restart: "on-failure")
    defer { Task { await running.stop() } }
    let client = try ControlClient.connect(running.state)
    let pid = try #require(try await client.list().first { $0.name == "web-1" }?.pid)
    let events = try await ControlClient.connect(running.state).events()
    kill(-pid, SIGKILL)
    var seen: [ControlEvent] = []
    for await event in events {
      seen.append(event)
      if event.type == .ready && event.process == "web-1" { break }
    }
    #expect(seen.map(\.type) == [.exited, .restarting, .starting, .ready], "\(seen)")
    #expect(seen[0].exitCode == 137 && seen[0].resource == "web" && seen[0].replica == 1)
    #expect(seen[1].attempt == 1 && seen[1].delaySeconds == 1)
    #expect(seen[3].pid != nil && seen[3].pid != pid)
    await running.stop()
  }

  @Test func badRequestsGetAnErrorLine() async throws {
    let running = try await Self.start()
    defer { Task { await running.stop() } }
    let descriptor = ControlSocket.newSocket()
    defer { close(descriptor) }
    #expect(ControlSocket.withAddress(ControlSocket.path(running.state)) { connect(descriptor, $0, $1) } == 0)
    ControlSocket.write(descriptor, Array("{\"command\":\"explode\"}\n{\"command\":\"restart\"}\n".utf8))
    let reader = ControlSocket.LineReader(descriptor)
    let first = try ControlCoding.decode(ControlReply.self, from: try #require(reader.next()))
    #expect(first.ok == false && first.error?.contains("explode") == true)
    let second = try ControlCoding.decode(ControlReply.self, from: try #require(reader.next()))
    #expect(second.ok == false && second.error?.contains("name at least one") == true)
    await running.stop()
  }

  @Test func longProjectPathsStillGetASocket() async throws {
    let deep = TemporaryFolder("apphost-control-" + String(repeating: "d", count: 120))
    let state = StateDirectory(projectDirectory: deep.path)
    #expect(ControlSocket.path(state).utf8.count > 108)
    let hub = EventHub()
    let server = try ControlServer.start(state: state, service: NoService(), hub: hub)
    defer { server.close() }
    #expect(try await ControlClient.connect(state).list().isEmpty)
  }

  struct NoService: ControlService {
    func list() async -> [ControlResource] { [] }
    func perform(_ command: ControlCommand, names: [String]) async throws(AppHostError) -> [String] { names }
    func environment(of name: String) async throws(AppHostError) -> [String: String] { [:] }
    func apply() async throws(AppHostError) -> [ControlChange] { [] }
  }
}

@Suite struct EventHubTests {
  @Test func orchestrationEventsBecomeStateChanges() {
    let hub = EventHub(processes: ["web-1": ("web", 1)])
    #expect(hub.stateChanges(.creating(resource: "cache", image: "redis")).map(\.type) == [.starting])
    let ready = hub.stateChanges(.ready(resource: "cache", address: "127.0.0.1:1", seconds: 0.1))
    #expect(ready.first?.endpoint == "127.0.0.1:1" && ready.first?.replica == nil)
    #expect(hub.stateChanges(.started(resource: "web-1", pid: 9)).map(\.type) == [.starting, .ready])
    let restarts = [2.0, 4.0].flatMap { hub.stateChanges(.restarting(resource: "web-1", after: $0)) }
    #expect(restarts.map(\.attempt) == [1, 2] && restarts.map(\.delaySeconds) == [2, 4])
    #expect(hub.stateChanges(.stopped(resource: "web-1", code: 143)).first?.exitCode == 143)
    #expect(hub.stateChanges(.log(resource: "cache", line: "x")).isEmpty)
    #expect(hub.stateChanges(.note("x")).isEmpty)
  }

  @Test func eventLinesHaveStableFieldNames() throws {
    var event = ControlEvent(type: .exited, resource: "web", process: "web-1", time: Date(timeIntervalSince1970: 0))
    event.replica = 1
    event.exitCode = 3
    let line = String(decoding: ControlCoding.line(event), as: UTF8.self)
    #expect(
      line
        == #"{"exitCode":3,"process":"web-1","replica":1,"resource":"web","time":"1970-01-01T00:00:00.000Z","type":"exited"}"#
        + "\n")
  }
}

@Suite struct LogTimeTests {
  @Test func sinceTakesDurationsAndTimes() throws {
    let now = Date(timeIntervalSince1970: 1_000_000)
    #expect(LogTime.since("10m", now: now) == now.addingTimeInterval(-600))
    #expect(LogTime.since("1h30m", now: now) == now.addingTimeInterval(-5400))
    #expect(LogTime.since("45s", now: now) == now.addingTimeInterval(-45))
    #expect(LogTime.since("2d", now: now) == now.addingTimeInterval(-172_800))
    #expect(LogTime.since("1970-01-12T13:46:40Z", now: now) == now)
    #expect(LogTime.since("1970-01-12T13:46:40.500Z", now: now) == now.addingTimeInterval(0.5))
    for bad in ["", "10", "m", "10x", "yesterday", "1h30"] {
      #expect(LogTime.since(bad, now: now) == nil, "\(bad)")
    }
  }

  @Test func programLinesKeepTheirTime() {
    let time = Date(timeIntervalSince1970: 1_000_000.25)
    let line = LogTime.stamp(time) + " hello world"
    let (parsed, text) = LogTime.split(line)
    #expect(parsed == time && text == "hello world")
    #expect(LogTime.split("plain line").time == nil)
    #expect(LogTime.split("2026 is not a stamp at all, really").time == nil)
    let lines = [LogTime.stamp(time) + " old", LogTime.stamp(time.addingTimeInterval(60)) + " new", "unstamped"]
    #expect(ProgramLogs.present(lines, since: nil, timestamps: false) == ["old", "new", "unstamped"])
    #expect(ProgramLogs.present(lines, since: time.addingTimeInterval(30), timestamps: false) == ["new"])
    #expect(
      ProgramLogs.present(lines, since: nil, timestamps: true).first
        == line.replacingOccurrences(of: "hello world", with: "old"))
  }

  @Test func serverLinesCarryTheirTimeToTheLinesAfter() {
    let formatter = LogTime.serverFormatter()
    let early = "7:M 02 Dec 2026 10:00:00.000 * Ready to accept connections"
    let late = "7:M 02 Dec 2026 10:05:00.000 * Background saving started"
    let lines = [early, "a continuation", late, "another continuation"]
    let cut = formatter.date(from: "02 Dec 2026 10:01:00.000")
    var last: Date?
    #expect(
      LogTime.filterServerLines(lines, since: cut, timestamps: false, last: &last) == [late, "another continuation"])
    last = nil
    let stamped = LogTime.filterServerLines(lines, since: nil, timestamps: true, last: &last)
    #expect(stamped.count == 4 && stamped[1].hasSuffix(" a continuation") && stamped[1].hasPrefix("20"))
  }
}
