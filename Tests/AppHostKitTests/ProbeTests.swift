import Foundation
import TestSupport
import Testing

@testable import AppHostKit

/// The readiness probes and SAVE against a real redis-server process (Debian's redis-server, which
/// scripts/test installs), and HTTP against a real listener.
@Suite struct ProbeTests {
  /// A redis-server on a free port, stopped by `stop()`.
  final class Server: @unchecked Sendable {
    let process: Process
    let port: Int
    let folder = TemporaryFolder("apphost-redis")

    /// Starts the server and waits until it listens; a port a parallel test took first between the
    /// check and the start makes it exit, and another port is tried.
    init(password: String?) throws {
      for _ in 0..<10 {
        let candidate = try Self.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments =
          ["--port", String(candidate), "--bind", "127.0.0.1", "--save", "", "--dir", folder.path]
          + (password.map { ["--requirepass", $0] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && LocalPorts.isFree(candidate) && Date() < deadline { usleep(5_000) }
        if process.isRunning && !LocalPorts.isFree(candidate) {
          self.process = process
          port = candidate
          return
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
      throw POSIXError(.EADDRINUSE)
    }

    static func freePort() throws -> Int {
      for candidate in (20_000...40_000).shuffled() where LocalPorts.isFree(candidate) { return candidate }
      throw CancellationError()
    }

    func stop() {
      // SIGKILL: the test runner may hand its children an ignored SIGTERM.
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      folder.remove()
    }
  }

  @Test func aCacheIsReadyOnlyWhenPingAnswersAfterAuth() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server"), "install redis-server")
    // Port 1 on 127.0.0.1: privileged and unused, so nothing a parallel test starts can listen there.
    #expect(await Probe.resp(port: 1, password: nil) == .notReady("connection refused"))

    let server = try Server(password: "right")
    defer { server.stop() }
    let outcome = try await Probe.waitUntilReady(
      .resp(password: .secret("right")), port: server.port, deadline: .now + .seconds(10))
    #expect(outcome == .ready)
    guard case .failed(let reason) = await Probe.resp(port: server.port, password: "wrong") else {
      Issue.record("a wrong password must fail at once")
      return
    }
    #expect(reason.contains("refused the password"))
    guard case .failed(let noPassword) = await Probe.resp(port: server.port, password: nil) else {
      Issue.record("no password must fail at once")
      return
    }
    #expect(noPassword.contains("wants a password"))
    #expect(await Probe.save(port: server.port, password: "right") == nil)
    #expect(FileManager.default.fileExists(atPath: server.folder.path + "/dump.rdb"))
    #expect(await Probe.save(port: server.port, password: "wrong")?.contains("AUTH failed") == true)
  }

  @Test func waitingGivesUpAtTheDeadlineWithTheLastReason() async throws {
    let port = 1  // nothing listens there (see above)
    let started = ContinuousClock.now
    let outcome = try await Probe.waitUntilReady(.resp(password: nil), port: port, deadline: .now + .milliseconds(300))
    // At the deadline, not at some later default (60 s): at least the 300 ms, and under the 30 s that a
    // loaded 2-core machine can add to it (14.8 s seen at load average 10, with the other tests'
    // processes and builds beside it).
    let elapsed = ContinuousClock.now - started
    #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(30), "\(elapsed)")
    #expect(outcome == .notReady("not ready in time (last check: connection refused)"))
  }

  /// A port whose connects go unanswered from the first check on ends the wait with `Unreachable` when
  /// asked; a port that refuses (a server still starting) does not. The silent port is a real listener
  /// whose accept queue is full: Linux then drops new SYNs, as a rule leading to a gone container does.
  @Test func aSilentPortIsUnreachableARefusingOneIsNot() async throws {
    let refusing = try await Probe.waitUntilReady(
      .resp(password: nil), port: 1, deadline: .now + .seconds(1), unreachableAfter: .milliseconds(300))
    #expect(refusing == .notReady("not ready in time (last check: connection refused)"))

    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #expect(listener >= 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
    }
    #expect(bound == 0 && listen(listener, 0) == 0)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
    }
    let port = Int(UInt16(bigEndian: address.sin_port))
    // Fill the accept queue, never accepting.
    var fillers: [Int32] = []
    defer { for filler in fillers { close(filler) } }
    for _ in 0..<3 {
      let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
      _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) }
      }
      fillers.append(filler)
    }
    try await Task.sleep(for: .milliseconds(200))
    #expect(await Probe.resp(port: port, password: nil) == .notReady(Probe.unansweredReason))
    await #expect(throws: Probe.Unreachable(port: port, after: .milliseconds(600))) {
      try await Probe.waitUntilReady(
        .resp(password: nil), port: port, deadline: .now + .seconds(20), unreachableAfter: .milliseconds(600))
    }
  }

  @Test func aDeadContainerEndsTheWaitEarly() async throws {
    let port = 1
    let outcome = try await Probe.waitUntilReady(
      .resp(password: nil), port: port, deadline: .now + .seconds(30), stillRunning: { "it exited" })
    #expect(outcome == .failed("it exited"))
  }

  @Test func httpHealth() async throws {
    let folder = TemporaryFolder("apphost-http")
    defer { folder.remove() }
    _ = folder.write("healthcheck", "ok")
    // Until one listens: a port a parallel test took first makes the server exit.
    var started: (Process, Int)?
    for _ in 0..<10 where started == nil {
      let port = try Server.freePort()
      let server = Process()
      server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      server.arguments = [
        "python3", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", folder.path,
      ]
      server.standardOutput = FileHandle.nullDevice
      server.standardError = FileHandle.nullDevice
      try server.run()
      let deadline = ContinuousClock.now + .seconds(10)
      while server.isRunning && LocalPorts.isFree(port) && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(10))
      }
      if server.isRunning && !LocalPorts.isFree(port) {
        started = (server, port)
      } else {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
      }
    }
    let (server, port) = try #require(started, "no HTTP server could listen")
    defer {
      kill(server.processIdentifier, SIGKILL)
      server.waitUntilExit()
    }
    #expect(
      try await Probe.waitUntilReady(.http(path: "/healthcheck"), port: port, deadline: .now + .seconds(10)) == .ready)
    #expect(await Probe.http(port: port, path: "/missing") == .notReady("GET /missing answered 404"))
  }
}

@Suite struct SelectionTests {
  @Test func namedResourcesBringWhatTheyNeed() throws {
    let plan = try plan(
      """
      {"resources": {"cache": {"type": "redis"}, "other": {"type": "valkey"}, "third": {"type": "garnet"},
        "ui": {"type": "rediscommander", "caches": ["third"]},
        "legacy": {"type": "connectionString", "value": "h:1"},
        "api": {"type": "executable", "command": "sh", "references": ["cache", "legacy"], "env": {"X": "{other.port}"}}}}
      """)
    #expect(try plan.closure(of: []) == ["cache", "other", "third", "ui", "api"])
    #expect(try plan.closure(of: ["api"]) == ["api", "cache", "other"])
    #expect(try plan.closure(of: ["ui"]) == ["ui", "third"])
    #expect(throws: AppHostError.self) { try plan.closure(of: ["nope"]) }
  }
}
