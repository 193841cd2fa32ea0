import Foundation
import TestSupport
import Testing

@testable import AppHostKit

/// A server that speaks just enough RESP to answer a probe with scripted replies: connection N (from 0)
/// gets `replies(N)` once its request holds a PING, then is closed.
final class FakeRESPServer: @unchecked Sendable {
  let descriptor: Int32
  let port: Int
  private let replies: @Sendable (Int) -> String
  private let lock = NSLock()
  private var served: [String] = []

  init(replies: @escaping @Sendable (Int) -> String) throws {
    self.replies = replies
    let taken = try TCPListener()
    descriptor = taken.descriptor
    port = taken.port
    _ = listen(descriptor, 16)
    let thread = Thread { [self] in serve() }
    thread.start()
  }

  /// The requests received, one string per connection.
  var requests: [String] { lock.withLock { served } }

  private func serve() {
    while true {
      let client = accept(descriptor, nil, nil)
      guard client >= 0 else { return }
      var request: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 4096)
      while !String(decoding: request, as: UTF8.self).contains("PING\r\n") {
        let count = read(client, &buffer, buffer.count)
        guard count > 0 else { break }
        request += buffer[0..<count]
      }
      let index = lock.withLock {
        served.append(String(decoding: request, as: UTF8.self))
        return served.count - 1
      }
      let reply = Array(replies(index).utf8)
      _ = reply.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
      close(client)
    }
  }

  func stop() {
    shutdown(descriptor, Int32(SHUT_RDWR))
    close(descriptor)
  }
}

@Suite struct ReadinessTests {
  static let loading = "-LOADING Redis is loading the dataset in memory\r\n"
  static let busy = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
  static let masterDown =
    "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"

  @Test(arguments: [
    (loading, "still loading its dataset"), (busy, "busy running a script"),
    (masterDown, "a replica without its master yet"),
  ])
  func aServerThatIsNotDoneYetIsNotReadyWhateverItAnswers(reply: String, reason: String) async throws {
    // To AUTH (Garnet and proxies answer LOADING there too), and to PING after AUTH or without one.
    for (password, replies) in [("pw", reply + "-ERR not read\r\n"), ("pw", "+OK\r\n" + reply), (nil, reply)] {
      let server = try FakeRESPServer { _ in replies }
      defer { server.stop() }
      let outcome = await Probe.resp(port: server.port, password: password)
      guard case .notReady(let message) = outcome else {
        Issue.record("\(replies.debugDescription) gave \(outcome)")
        continue
      }
      #expect(message.hasPrefix(reason), "\(message)")
      #expect(message.contains(String(reply.dropFirst().prefix { $0 != " " })), "\(message)")
    }
  }

  @Test func waitingGoesOnThroughLoadingBusyAndMasterdownUntilPong() async throws {
    let script = [Self.loading, Self.busy, Self.masterDown, "+PONG\r\n"]
    let server = try FakeRESPServer { index in "+OK\r\n" + script[min(index, script.count - 1)] }
    defer { server.stop() }
    let outcome = try await Probe.waitUntilReady(
      .resp(password: .secret("p@ss word")), port: server.port, deadline: .now + .seconds(30),
      interval: .milliseconds(1))
    #expect(outcome == .ready)
    #expect(server.requests.count == 4)
    #expect(server.requests.first == "*2\r\n$4\r\nAUTH\r\n$9\r\np@ss word\r\n*1\r\n$4\r\nPING\r\n")
  }

  @Test func aServerStillLoadingAtTheDeadlineSaysSo() async throws {
    let server = try FakeRESPServer { _ in Self.loading }
    defer { server.stop() }
    let outcome = try await Probe.waitUntilReady(
      .resp(password: nil), port: server.port, deadline: .now + .milliseconds(200))
    #expect(
      outcome
        == .notReady(
          "not ready in time (last check: still loading its dataset (LOADING Redis is loading the dataset in memory))"))
  }

  @Test(arguments: [
    ("-WRONGPASS invalid username-password pair or user is disabled.\r\n", "pw", "refused the password"),
    ("-ERR AUTH <password> called without any password configured\r\n", "pw", "refused the password"),
    ("-NOAUTH Authentication required.\r\n", nil, "wants a password"),
  ])
  func otherErrorsStillFailAtOnce(reply: String, password: String?, reason: String) async throws {
    let server = try FakeRESPServer { _ in reply }
    defer { server.stop() }
    guard case .failed(let message) = await Probe.resp(port: server.port, password: password) else {
      Issue.record("\(reply.debugDescription) must fail at once")
      return
    }
    #expect(message.contains(reason), "\(message)")
  }

  /// Debian's redis-server loading an RDB slowly (`key-load-delay`, a debugging setting of Redis 7)
  /// answers -LOADING: not ready, then ready once loaded. (Without
  /// `loading-process-events-interval-bytes` a small RDB loads before the server answers anyone.)
  @Test func aRealServerLoadingItsDatasetIsNotReadyUntilLoaded() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server"), "install redis-server")
    let folder = TemporaryFolder("apphost-loading")
    defer { folder.remove() }
    func start(_ extra: [String]) throws -> (Process, Int) {
      let port = try ProbeTests.Server.freePort()
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
      process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", folder.path] + extra
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      return (process, port)
    }
    func stop(_ process: Process) {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    // 20,000 keys saved to dump.rdb.
    let (writer, writerPort) = try start(["--save", ""])
    #expect(
      try await Probe.waitUntilReady(.resp(password: nil), port: writerPort, deadline: .now + .seconds(30)) == .ready)
    let connection = try Connection.open(port: writerPort, timeout: .seconds(1))
    let fill = "for i = 1, 20000 do redis.call('SET', 'key:' .. i, i) end return redis.call('DBSIZE')"
    #expect(try connection.call(["EVAL", fill, "0"], timeout: .seconds(10)) == .integer(20000))
    connection.close()
    #expect(await Probe.save(port: writerPort, password: nil) == nil)
    stop(writer)

    // 100 µs a key: about two seconds of loading, answering clients every KiB read.
    let (loader, port) = try start([
      "--save", "", "--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024",
      "--requirepass", "pw",
    ])
    defer { stop(loader) }
    var sawLoading = false
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      let outcome = await Probe.resp(port: port, password: "pw")
      if case .notReady(let reason) = outcome, reason.hasPrefix("still loading its dataset") { sawLoading = true }
      if outcome == .ready { break }
      if case .failed(let reason) = outcome { Issue.record("failed while loading: \(reason)") }
      try await Task.sleep(for: .milliseconds(20))
    }
    #expect(sawLoading, "the server never answered -LOADING")
    #expect(await Probe.resp(port: port, password: "pw") == .ready)
  }
}
