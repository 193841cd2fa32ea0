import Foundation
import Subprocess

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

#if canImport(Glibc)
  import Glibc
#endif

/// Runs one process of an executable to its end: in a process group of its own (so that it and
/// everything it starts can be signalled together), with its output delivered as whole lines.
package enum ChildProcess {
  /// How long a process group gets between SIGTERM and SIGKILL.
  package static let grace: Duration = .seconds(10)

  /// Runs `spec` once and returns its exit status (128 + the signal when one ended it). `started` is
  /// called with the pid (which is also the process group) as soon as it runs; `output` with batches
  /// of whole lines, stdout and stderr alike.
  package static func run(
    _ spec: ProcessSpec, started: @escaping @Sendable (Int32) async -> Void,
    output: @escaping @Sendable ([String]) -> Void
  ) async throws(AppHostError) -> Int32 {
    var updates: [Environment.Key: String?] = [:]
    for (key, value) in spec.environment { updates[Environment.Key(stringLiteral: key)] = value }
    // Marks the program and everything it starts as this apphost's, for the project: if apphost is
    // killed, the next `up` or `down` finds them by it (see `OrphanScan`).
    updates[Environment.Key(stringLiteral: OrphanScan.variable)] = OrphanScan.mark(
      owner: .current, projectDirectory: spec.projectDirectory)
    var options = PlatformOptions()
    // Its own process group: the terminal's Ctrl-C reaches apphost only, which stops the programs in
    // order; SIGTERM and SIGKILL then go to the whole group.
    options.processGroupID = 0
    options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: grace)]
    do {
      let result = try await Subprocess.run(
        .path(FilePath(spec.program)), arguments: Arguments(spec.arguments),
        environment: .inherit.updating(updates), workingDirectory: FilePath(spec.workingDirectory),
        platformOptions: options, input: .none, output: .sequence, error: .sequence
      ) { execution in
        let pid = execution.processIdentifier.value
        await started(pid)
        await withTaskGroup(of: Void.self) { group in
          group.addTask { await read(execution.standardOutput, into: output) }
          group.addTask { await read(execution.standardError, into: output) }
        }
        // The output ends when the program does. Whatever it started and left behind in its group goes
        // too: SIGTERM, then SIGKILL after the grace period. Nothing outlives the program.
        await endStragglers(of: pid)
      }
      switch result.terminationStatus {
      case .exited(let code): return code
      case .signaled(let signal): return 128 + signal
      }
    } catch {
      if Task.isCancelled { throw .cancelled }
      throw .cannotStart(resource: spec.displayName, command: spec.program, reason: "\(error)")
    }
  }

  private static func read(_ stream: SubprocessOutputSequence, into output: @Sendable ([String]) -> Void) async {
    var splitter = LineSplitter()
    do {
      for try await buffer in stream {
        let lines = buffer.withUnsafeBytes { splitter.lines(in: $0) }
        if !lines.isEmpty { output(lines) }
      }
    } catch {
      // The pipe broke: what was read is delivered below.
    }
    if let last = splitter.finish() { output([last]) }
  }

  /// Sends the rest of the process group SIGTERM, and SIGKILL after the grace period if any of it is
  /// still there.
  private static func endStragglers(of group: Int32) async {
    guard !members(of: group).isEmpty else { return }
    await GracefulStop.stop([-group], grace: grace) { targets in
      targets.filter { !members(of: -$0).isEmpty }
    }
  }

  /// The live processes of a process group, other than its leader unless `includingLeader` (from /proc).
  package static func members(of group: Int32, includingLeader: Bool = false) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
      guard let pid = Int32(entry), includingLeader || pid != group, let status = ProcessStatus.read(pid),
        status.isRunning, status.group == group
      else { return nil }
      return pid
    }
  }

  /// True while the process runs (a zombie has ended).
  package static func isRunning(_ pid: Int32) -> Bool {
    ProcessStatus.read(pid)?.isRunning ?? false
  }
}
