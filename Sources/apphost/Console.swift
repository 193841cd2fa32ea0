import AppHostKit
import Foundation

/// Writes to the terminal. Messages for the user go to standard error, results to standard output;
/// every line is written with one `write` call so that lines from several tasks never mix.
struct Console: Sendable {
  var useColor: Bool
  /// Results to standard error too (`run`, whose standard output belongs to the command it runs).
  var outputToStandardError = false

  init(environment: [String: String] = ProcessInfo.processInfo.environment, outputToStandardError: Bool = false) {
    self.outputToStandardError = outputToStandardError
    useColor =
      environment["NO_COLOR"].map { $0.isEmpty } ?? true
      && isatty(STDOUT_FILENO) == 1 && environment["TERM"] != "dumb"
  }

  func output(_ text: String) {
    write(text.hasSuffix("\n") ? text : text + "\n", to: outputToStandardError ? STDERR_FILENO : STDOUT_FILENO)
  }

  /// Writes `bytes` to standard output as they are (a cache's reply, which may not be text).
  func outputBytes(_ bytes: [UInt8]) {
    write(bytes[...], to: outputToStandardError ? STDERR_FILENO : STDOUT_FILENO)
  }

  func error(_ text: String) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let body = lines.map { line in
      if line.contains(": error: ") { return paint(String(line), "31") }
      if line.contains(": warning: ") { return paint(String(line), "33") }
      return String(line)
    }.joined(separator: "\n")
    write(body + "\n", to: STDERR_FILENO)
  }

  /// A line for the person at the terminal, on standard error (standard output may belong to a program).
  func note(_ text: String) {
    write("apphost: " + text + "\n", to: STDERR_FILENO)
  }

  func warning(_ text: String) {
    write(paint(text, "33") + "\n", to: STDERR_FILENO)
  }

  func paint(_ text: String, _ code: String) -> String {
    useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
  }

  /// Ten colours that tell resources apart on a terminal (cyan, yellow, green, magenta, blue, then their
  /// bright forms).
  static let palette = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]

  /// `name | ` padded to `width`, in `colour` (an SGR code; by default one picked from the name) on a
  /// terminal.
  func prefix(_ name: String, width: Int, colour: String? = nil) -> String {
    let padded = name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0)
    guard useColor else { return "\(padded) | " }
    var hash: UInt32 = 5381
    for byte in name.utf8 { hash = (hash &* 33) ^ UInt32(byte) }
    return paint(padded, colour ?? Self.palette[Int(hash % UInt32(Self.palette.count))]) + " | "
  }

  /// One line per call, never mixed with another task's line.
  private static let lock = NSLock()

  private func write(_ text: String, to descriptor: Int32) {
    write(Array(text.utf8)[...], to: descriptor)
  }

  private func write(_ bytes: ArraySlice<UInt8>, to descriptor: Int32) {
    Console.lock.lock()
    defer { Console.lock.unlock() }
    var bytes = bytes
    while !bytes.isEmpty {
      let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        // The reader went away (`apphost up | head`): say so once, so that apphost stops cleanly.
        if errno == EPIPE { OutputClosed.shared.fire() }
        return
      }
      bytes = bytes.dropFirst(written)
    }
  }
}

/// Called once when standard output or error is a pipe whose reader has gone (SIGPIPE is ignored, so
/// writes fail with EPIPE instead of killing apphost before it cleans up).
final class OutputClosed: @unchecked Sendable {
  static let shared = OutputClosed()
  private let lock = NSLock()
  private var fired = false
  private var handler: (@Sendable () -> Void)?

  func onClose(_ handler: @escaping @Sendable () -> Void) {
    lock.lock()
    self.handler = handler
    let already = fired
    lock.unlock()
    if already { handler() }
  }

  func fire() {
    lock.lock()
    let first = !fired
    fired = true
    let handler = self.handler
    lock.unlock()
    if first { handler?() }
  }
}
