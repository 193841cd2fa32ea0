import Foundation
import Testing

@testable import AppHostKit

#if canImport(Glibc)
  import Glibc
#endif

/// What a second `apphost up` does to a running session, decided from the plan it runs and the new one
/// (as `ReconciliationTests` test what a first `up` does).
@Suite struct SessionChangesTests {
  static let before = #"""
    {"name": "shop", "resources": {
      "cache": {"type": "redis", "password": "First-Password-1"},
      "sessions": {"type": "valkey"},
      "web": {"type": "executable", "command": "sh", "args": ["-c", "sleep 300"], "references": ["cache"]},
      "worker": {"type": "executable", "command": "sh", "args": ["-c", "sleep 300"], "env": {"ROLE": "a"}},
      "old": {"type": "executable", "command": "sh", "args": ["-c", "sleep 300"]}
    }}
    """#

  static func plans(_ after: String, native: Bool = false) throws -> (Plan, Plan) {
    let environment = ["PATH": "/usr/bin:/bin"]
    return (
      try plan(before, environment: environment, native: native),
      try plan(after, environment: environment, native: native)
    )
  }

  static let everything: Set<String> = ["cache", "sessions", "web", "worker", "old"]

  static func changes(_ old: Plan, _ new: Plan, running: Set<String> = everything, flavor: EngineFlavor = .docker)
    -> [String]
  {
    SessionChanges.between(old, new, running: running, flavor: flavor).changes.map { "\($0.name) | \($0.summary)" }
  }

  @Test func theSameManifestChangesNothing() throws {
    let (old, new) = try Self.plans(Self.before)
    #expect(Self.changes(old, new) == [])
    #expect(SessionChanges.between(old, new, running: Self.everything, flavor: .docker).isEmpty)
  }

  @Test func aChangedCacheIsRecreatedAndWhatReferencesItRestarted() throws {
    let (old, new) = try Self.plans(Self.before.replacingOccurrences(of: "First-Password-1", with: "Second-Password-2"))
    #expect(
      Self.changes(old, new) == [
        "cache | recreated (its password changed)",
        "web | restarted (cache was recreated)",
      ])
  }

  @Test func aChangedPersistenceIsNamed() throws {
    let (old, new) = try Self.plans(
      Self.before.replacingOccurrences(
        of: #""type": "valkey"}"#, with: #""type": "valkey", "persistence": {"intervalSeconds": 30}}"#))
    let changes = Self.changes(old, new)
    #expect(changes == ["sessions | recreated (its persistence changed)"], "\(changes)")
  }

  @Test func aChangedProgramIsRestartedTheOthersUntouched() throws {
    let (old, new) = try Self.plans(Self.before.replacingOccurrences(of: #""ROLE": "a""#, with: #""ROLE": "b""#))
    #expect(Self.changes(old, new) == ["worker | restarted (its environment changed)"])
    let (_, commanded) = try Self.plans(
      Self.before.replacingOccurrences(
        of: #""old": {"type": "executable", "command": "sh", "args": ["-c", "sleep 300"]}"#,
        with: #""old": {"type": "executable", "command": "sh", "args": ["-c", "sleep 301"], "replicas": 2}"#))
    #expect(Self.changes(old, commanded) == ["old | restarted (its args and replicas (1 -> 2) changed)"])
  }

  @Test func removedResourcesAreRemovedAddedOnesAdded() throws {
    let (old, new) = try Self.plans(
      #"""
      {"name": "shop", "resources": {
        "cache": {"type": "redis", "password": "First-Password-1"},
        "web": {"type": "executable", "command": "sh", "args": ["-c", "sleep 300"], "references": ["cache"]},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "sleep 300"], "env": {"ROLE": "a"}},
        "queue": {"type": "redis"},
        "new": {"type": "executable", "command": "sh", "args": ["-c", "sleep 300"], "references": ["queue"]}
      }}
      """#)
    #expect(
      Self.changes(old, new) == [
        "old | removed",
        "queue | added",
        "sessions | removed",
        "new | added",
      ])
  }

  @Test func whatTheSessionDoesNotRunIsAdded() throws {
    let (old, new) = try Self.plans(Self.before)
    // `down cache` removed the cache, and `old` was never started (`up web worker` ran): a full `up` starts
    // them, and what needs the cache gets its new connection.
    let changes = Self.changes(old, new, running: ["sessions", "web", "worker"])
    #expect(changes == ["cache | added", "web | restarted (cache was recreated)", "old | added"], "\(changes)")
    // What is gone from the manifest and did not run has nothing to remove.
    let (_, fewer) = try Self.plans(
      #"{"name": "shop", "resources": {"sessions": {"type": "valkey"}}}"#)
    #expect(Self.changes(old, fewer, running: ["sessions"]) == [])
  }

  @Test func nativeReasonsNameNoImage() throws {
    let (old, new) = try Self.plans(
      Self.before.replacingOccurrences(of: "First-Password-1", with: "Second-Password-2"), native: true)
    #expect(
      Self.changes(old, new, flavor: .native) == [
        "cache | recreated (its password changed)",
        "web | restarted (cache was recreated)",
      ])
    let (_, imaged) = try Self.plans(
      Self.before.replacingOccurrences(
        of: #""type": "valkey"}"#, with: #""type": "valkey", "image": "docker.io/valkey/valkey:8.1"}"#),
      native: true)
    let changes = Self.changes(old, imaged, flavor: .native)
    for line in changes { #expect(!line.contains("native:"), "\(line)") }
  }

  @Test func theEnginesRecordOfANativeServerNamesNoImageEither() throws {
    let plan = try plan(#"{"name": "shop", "resources": {"cache": {"type": "redis"}}}"#, native: true)
    var record = ReconciliationTests.observed(plan, "cache", hash: "0123456789abcdef")
    record.image = "native:/usr/bin/redis-server"
    let reconciliation = try Reconciliation.plan(plan, observed: [record])
    #expect(reconciliation.steps.map(\.summary) == ["recreate cache  (its configuration changed)"])
  }

  @Test func aChangeTravelsAsJSON() throws {
    let reply = ControlReply(
      affected: ["cache"], changes: [ControlChange(name: "cache", kind: .recreated, reason: "its password changed")])
    let line = ControlCoding.line(reply)
    #expect(
      String(decoding: line, as: UTF8.self)
        == #"{"affected":["cache"],"changes":[{"kind":"recreated","name":"cache","reason":"its password changed"}],"ok":true}"#
        + "\n")
    #expect(try ControlCoding.decode(ControlReply.self, from: Array(line.dropLast())) == reply)
  }
}

/// The programs' side of carrying changes out: `Supervisor.replace` with real `sleep`s.
@Suite struct SupervisorReplaceTests {
  static func spec(_ resource: String, replica: Int = 0, of replicas: Int = 1, mark: String = "one") -> ProcessSpec {
    ProcessSpec(
      resource: resource, replica: replica, displayName: replicas > 1 ? "\(resource)-\(replica)" : resource,
      program: "/bin/sh", arguments: ["-c", "exec sleep 300"], workingDirectory: "/tmp",
      environment: ["MARK": mark], restart: .always, stage: 1)
  }

  static func pids(_ supervisor: Supervisor) async -> [String: Int32] {
    var pids: [String: Int32] = [:]
    for process in await supervisor.processes where process.state == .running {
      pids[process.name] = process.pid
    }
    return pids
  }

  static func untilRunning(_ supervisor: Supervisor, _ names: Set<String>) async throws {
    for _ in 0..<500 where Set(await pids(supervisor).keys) != names {
      try await Task.sleep(for: .milliseconds(10))
    }
  }

  @Test func aReplacedProgramGetsItsNewProcessesTheOthersKeepTheirs() async throws {
    let supervisor = Supervisor(
      specs: [Self.spec("web"), Self.spec("worker"), Self.spec("gone")], events: { _ in }, logDirectory: nil,
      state: nil, owner: .current, detached: false)
    let run = Task { await supervisor.run() }
    try await Self.untilRunning(supervisor, ["web", "worker", "gone"])
    let before = await Self.pids(supervisor)
    // web: 1 -> 2 replicas with a new environment; gone: removed.
    try await supervisor.replace(
      ["web", "gone"], with: [Self.spec("web", replica: 0, of: 2, mark: "two"), Self.spec("web", replica: 1, of: 2)])
    try await Self.untilRunning(supervisor, ["web-0", "web-1", "worker"])
    let after = await Self.pids(supervisor)
    #expect(Set(after.keys) == ["web-0", "web-1", "worker"], "\(after)")
    #expect(after["worker"] == before["worker"], "an unchanged program keeps its pid")
    #expect(await supervisor.environment(of: "web-0")?["MARK"] == "two")
    for name in ["web", "gone"] {
      let pid = try #require(before[name])
      for _ in 0..<300 where kill(pid, 0) == 0 { try await Task.sleep(for: .milliseconds(10)) }
      #expect(kill(pid, 0) != 0, "\(name)'s old process ended")
    }
    // Every program removed: the supervisor runs on, for programs a later `up` adds, until stopped.
    try await supervisor.replace(["web", "worker"], with: [])
    try await Task.sleep(for: .milliseconds(300))
    #expect(await supervisor.processes.isEmpty)
    #expect(await supervisor.isStopping == false)
    try await supervisor.add([Self.spec("late")])
    try await Self.untilRunning(supervisor, ["late"])
    await supervisor.stop(immediately: true)
    _ = await run.value
  }
}
