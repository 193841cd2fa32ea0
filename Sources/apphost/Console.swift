import AppHostKit
import Foundation

/// Writes to the terminal. Messages for the user go to standard error, results to standard output;
/// every line is written with one `write` call so that lines from several tasks never mix.
struct Console: Sendable {
  var useColor: Bool

  init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    useColor =
      environment["NO_COLOR"].map { $0.isEmpty } ?? true
      && isatty(STDERR_FILENO) == 1 && environment["TERM"] != "dumb"
  }

  func output(_ text: String) {
    write(text.hasSuffix("\n") ? text : text + "\n", to: STDOUT_FILENO)
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

  func warning(_ text: String) {
    write(paint(text, "33") + "\n", to: STDERR_FILENO)
  }

  func paint(_ text: String, _ code: String) -> String {
    useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
  }

  private func write(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        return
      }
      bytes = bytes.dropFirst(written)
    }
  }
}
