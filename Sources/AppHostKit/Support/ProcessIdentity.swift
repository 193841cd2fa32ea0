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
    guard let status = ProcessStatus.read(pid), status.isRunning else { return nil }
    return status.startTime
  }

  /// True while this very process runs (same pid, same start time).
  package var isAlive: Bool {
    ProcessIdentity.startTime(of: pid) == startTime
  }

  package var owner: Owner { Owner(pid: String(pid), startTime: startTime) }

  package var description: String { "pid \(pid)" }
}

/// What `/proc/PID/stat` says of a process: its state, process group and start time.
package struct ProcessStatus: Sendable, Equatable {
  /// `R`, `S`, `D`, ... ; `Z` and `X` have ended.
  package var state: Character
  /// The parent's pid (1, or a subreaper's, once the parent is gone).
  package var parent: Int32
  package var group: Int32
  /// Clock ticks after boot.
  package var startTime: String

  package var isRunning: Bool { state != "Z" && state != "X" }

  package static func read(_ pid: Int32) -> ProcessStatus? {
    guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      // The command name, in parentheses, may itself contain spaces and parentheses.
      let close = stat.lastIndex(of: ")")
    else { return nil }
    // After the name: state (field 3), parent, process group (5), ... start time (22).
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 19, let state = fields[0].first, let parent = Int32(fields[1]), let group = Int32(fields[2])
    else { return nil }
    return ProcessStatus(state: state, parent: parent, group: group, startTime: String(fields[19]))
  }
}
