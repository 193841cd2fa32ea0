import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Steering single processes of a running supervisor (the control socket's `restart`, `stop`, `start`).
extension Supervisor {
  /// The processes `names` mean: a program's name is every replica (`web` → `web-0`, `web-1`), a
  /// replica's name (`web-1`) that one. Unknown names are an error naming the known ones.
  package func processNames(_ names: [String]) throws(AppHostError) -> [String] {
    var result: [String] = []
    for name in names {
      let matching = specs.filter { $0.resource == name || $0.displayName == name }.map(\.displayName)
      guard !matching.isEmpty else {
        throw .unknownResource(name: name, known: Array(Set(specs.map(\.resource))).sorted())
      }
      for process in matching where !result.contains(process) { result.append(process) }
    }
    return result
  }

  /// The recorded state of every process.
  package var processes: [ExecutableState.Process] { record.processes }

  /// The environment a process runs with (set on top of apphost's own).
  package func environment(of process: String) -> [String: String]? {
    specs.first { $0.displayName == process }?.environment
  }

  /// Stops the processes (SIGTERM to their group, SIGKILL after the grace period) and keeps them
  /// stopped, by any restart policy, until `start`. Returns once they have ended.
  package func stopProcesses(_ names: [String]) async {
    var groups: [Int32] = []
    for name in names {
      held.insert(name)
      pauses[name]?.cancel()
      if let pid = running[name] {
        groups.append(-pid)
      } else if let spec = specs.first(where: { $0.displayName == name }),
        let process = record.processes.first(where: { $0.name == name }), process.state != .stopped
      {
        // Not running (ended, or pausing before a restart): recorded as stopped from now on.
        setState(spec, .stopped)
        events(.stopped(resource: name, code: process.exitCode))
      }
    }
    announceChange()
    await GracefulStop.stop(groups, grace: ChildProcess.grace, remaining: GracefulStop.alive)
    while !isStopping && names.contains(where: { running[$0] != nil }) { await nextChange() }
  }

  /// Starts stopped (or ended) processes again; those that run are left as they are. Returns once each
  /// has been started (or could not be).
  package func startProcesses(_ names: [String]) async throws(AppHostError) {
    try await launch(names.filter { running[$0] == nil }, restarting: [])
  }

  /// Stops and starts the processes again (those that do not run: starts them). The others keep running.
  package func restartProcesses(_ names: [String]) async throws(AppHostError) {
    let live = names.filter { running[$0] != nil }
    try await launch(names, restarting: live)
  }

  private func launch(_ names: [String], restarting live: [String]) async throws(AppHostError) {
    guard !finished && !isStopping else {
      throw .controlFailed(reason: "this apphost up is stopping; start it again with `apphost up`")
    }
    let before = Dictionary(uniqueKeysWithValues: names.map { ($0, starts[$0] ?? 0) })
    for name in names {
      held.remove(name)
      pauses[name]?.cancel()
      if live.contains(name) { restartAtOnce.insert(name) }
      // A program that ended for good has no loop watching it any more: it gets a new one.
      if !supervising.contains(name), let spec = specs.first(where: { $0.displayName == name }) {
        supervising.insert(name)
        restartedLoops.append(Task { await self.supervise(spec) })
      }
    }
    announceChange()
    let groups = live.compactMap { running[$0] }.map { -$0 }
    await GracefulStop.stop(groups, grace: ChildProcess.grace, remaining: GracefulStop.alive)
    // Until every one has started once more (or its loop gave up: it could not be started).
    while !isStopping
      && names.contains(where: { (starts[$0] ?? 0) == before[$0] && supervising.contains($0) })
    {
      await nextChange()
    }
    let failed = names.filter { (starts[$0] ?? 0) == before[$0] }
    if !failed.isEmpty && !isStopping {
      throw .controlFailed(reason: "\(failed.joined(separator: ", ")) could not be started; see `apphost logs`")
    }
  }

  private func setState(_ spec: ProcessSpec, _ state: ProcessState) {
    update(spec) { $0.state = state }
  }
}
