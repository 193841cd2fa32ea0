import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The one way apphost stops processes: SIGTERM, a grace period, then SIGKILL for whatever is still
/// there. Programs, their stragglers, the leftovers of a killed apphost and native cache servers all go
/// this way. A target is a process (`pid`) or a whole process group (`-pgid`).
package enum GracefulStop {
  /// How often liveness is read during the grace period (processes that are not our children cannot be
  /// waited for; /proc is read instead).
  package static let interval: Duration = .milliseconds(20)

  /// Signals `targets` with SIGTERM, waits until `remaining` names none of them (or `grace` has passed),
  /// then sends SIGKILL to those it still names. Returns the targets that had to be killed.
  @discardableResult
  package static func stop(
    _ targets: [Int32], grace: Duration, remaining: @Sendable ([Int32]) -> [Int32]
  ) async -> [Int32] {
    let targets = targets.filter { $0 != 0 && $0 != 1 && $0 != -1 }
    guard !targets.isEmpty else { return [] }
    for target in targets { kill(target, SIGTERM) }
    let deadline = ContinuousClock.now + grace
    var left = remaining(targets)
    while !left.isEmpty && ContinuousClock.now < deadline {
      do { try await Task.sleep(for: interval) } catch { break }
      left = remaining(left)
    }
    for target in left { kill(target, SIGKILL) }
    if !left.isEmpty {
      Log.debug("killed (SIGKILL) after the grace period: \(left.map(String.init).joined(separator: " "))")
    }
    return left
  }

  /// Whether a target still has a live process: a pid that runs, or a group with a live member.
  package static func isAlive(_ target: Int32) -> Bool {
    if target < 0 { return kill(target, 0) == 0 && !ChildProcess.members(of: -target, includingLeader: true).isEmpty }
    return ChildProcess.isRunning(target)
  }

  /// The targets that are still alive.
  package static func alive(_ targets: [Int32]) -> [Int32] { targets.filter(isAlive) }
}
