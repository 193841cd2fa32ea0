import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A process told apart from a later one that reuses its pid: the pid and its start time (clock ticks
/// after boot, from /proc). Session containers carry their owner's identity, so that a later run can
/// tell whether the `up` that made them still runs.
package struct ProcessIdentity: Sendable, Hashable, CustomStringConvertible {
  package var pid: Int32
  package var startTime: String

  package init(pid: Int32, startTime: String) {
    self.pid = pid
    self.startTime = startTime
  }

  package static var current: ProcessIdentity {
    let pid = getpid()
    return ProcessIdentity(pid: pid, startTime: startTime(of: pid) ?? "unknown")
  }

  /// The start time of a running process, or nil when there is none with that pid.
  package static func startTime(of pid: Int32) -> String? {
    guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
    // The command name, in parentheses, may itself contain spaces and parentheses.
    guard let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the name: state is field 3, starttime field 22.
    guard fields.count > 19 else { return nil }
    if fields[0] == "Z" { return nil }
    return String(fields[19])
  }

  /// True while this very process runs (same pid, same start time).
  package var isAlive: Bool {
    ProcessIdentity.startTime(of: pid) == startTime
  }

  package var owner: Owner { Owner(pid: String(pid), startTime: startTime) }

  package var description: String { "pid \(pid)" }
}
