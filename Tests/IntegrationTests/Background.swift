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
