import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A command running in the background whose output the test reads as it comes.
final class BackgroundCommand: @unchecked Sendable {
  private let process = Process()
  private let lock = NSLock()
  private var collected = ""
  private var ended = false

  var pid: Int32 { process.processIdentifier }

  var output: String {
    lock.lock()
    defer { lock.unlock() }
    return collected
  }

  static func start(project: EngineProject, _ arguments: String..., environment: [String: String] = [:]) async throws
    -> BackgroundCommand
  {
    try BackgroundCommand(
      Binary.path, arguments, in: project.path,
      environment: environment.merging(["APPHOST_ENGINE": project.engine, "NO_COLOR": "1"]) { given, _ in given })
  }

  init(_ program: String, _ arguments: [String], in folder: String, environment: [String: String] = [:]) throws {
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let data = handle.availableData
      guard let self else { return }
      self.lock.lock()
      if data.isEmpty {
        // End of file: every process holding the pipe has closed it.
        self.ended = true
        handle.readabilityHandler = nil
      } else {
        self.collected += String(decoding: data, as: UTF8.self)
      }
      self.lock.unlock()
    }
    try process.run()
  }

  deinit {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
  }

  struct Timeout: Error, CustomStringConvertible {
    var waitingFor: String
    var output: String
    var description: String { "timed out waiting for \(waitingFor); output so far:\n\(output)" }
  }

  func waitForOutput(_ text: String, timeout: Duration) async throws {
    let deadline = ContinuousClock.now + timeout
    while !output.contains(text) {
      if ContinuousClock.now > deadline || !process.isRunning && !output.contains(text) {
        // It ended: what it wrote last may still be in the pipe.
        let drained = ContinuousClock.now + .seconds(5)
        while !process.isRunning && !lock.withLock({ ended }) && ContinuousClock.now < drained {
          try await Task.sleep(for: .milliseconds(10))
        }
        if output.contains(text) { return }
        throw Timeout(waitingFor: quoted(text), output: output)
      }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  /// The number printed after `label` (`worker | pid 123` -> 123).
  func number(after label: String) -> Int32? {
    let text = output
    guard let start = text.range(of: label) else { return nil }
    return Int32(text[start.upperBound...].prefix { $0.isNumber })
  }

  func signal(_ number: Int32) {
    kill(process.processIdentifier, number)
  }

  /// The exit status (128 + signal when killed by one).
  func wait(timeout: Duration) async throws -> Int32 {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
      if ContinuousClock.now > deadline { throw Timeout(waitingFor: "the process to exit", output: output) }
      try await Task.sleep(for: .milliseconds(20))
    }
    // The last output has arrived when the pipe reaches its end (a process the command left running
    // may hold it open: then at most a few seconds more).
    let drained = ContinuousClock.now + .seconds(5)
    while !lock.withLock({ ended }) && ContinuousClock.now < drained {
      try await Task.sleep(for: .milliseconds(10))
    }
    return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
  }
}

private func quoted(_ text: String) -> String { "\"\(text)\"" }

/// A TCP port on 127.0.0.1 held open by the test.
final class TCPListener {
  let descriptor: Int32
  let port: Int

  init() throws {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    self.descriptor = descriptor
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    listen(descriptor, 1)
    var bound = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &bound) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    self.port = Int(UInt16(bigEndian: bound.sin_port))
  }

  func close() {
    Glibc.close(descriptor)
  }

  /// A port on 127.0.0.1 that was free a moment ago.
  static func freePort() throws -> Int {
    let listener = try TCPListener()
    defer { listener.close() }
    return listener.port
  }

  /// A free port on 127.0.0.1 below the kernel's ephemeral range (32768 and up, where the engines and
  /// `freePort` take theirs), picked at random: for a fixed `hostPort`, which a test running in
  /// parallel would otherwise be free to take between the check and `up`.
  static func unassignedPort() throws -> Int {
    for _ in 0..<200 {
      let port = Int.random(in: 20000..<32000)
      let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { Glibc.close(descriptor) }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = in_port_t(UInt16(port).bigEndian)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      if bound == 0 { return port }
    }
    throw POSIXError(.EADDRINUSE)
  }
}
