import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs the developer's programs: starts them stage by stage, restarts them by their policy with a
/// growing pause, and stops them (SIGTERM to each process group, SIGKILL after the grace period).
/// Output goes to the event sink as whole lines and, when a log folder is given, to one file per process.
package actor Supervisor {
  package let specs: [ProcessSpec]
  let events: EventSink
  private let logDirectory: String?
  private let state: StateDirectory?
  private(set) var record: ExecutableState
  var running: [String: Int32] = [:]
  private(set) var stopping: Bool = false
  /// Who waits for the next change of a process's state (a stage waiting for its programs to start).
  private var changeWaiters: [CheckedContinuation<Void, Never>] = []
  /// The pauses before restarts, cut short by `stop`.
  var pauses: [String: Task<Void, Never>] = [:]
  /// One file per process (`.apphost/logs/NAME.log`), written as output arrives.
  private let logFiles: [String: LogFile]
  /// Control requests (`Supervisor+Control.swift`): processes stopped until started again, processes to
  /// start again at once when they end, how often each has been started, and supervision loops that
  /// run (a program that ended for good has none until it is started again).
  var held: Set<String> = []
  var restartAtOnce: Set<String> = []
  var starts: [String: Int] = [:]
  var supervising: Set<String> = []
  var restartedLoops: [Task<Int32?, Never>] = []
  var finished = false

  /// The first pause before a restart; it doubles up to `maximumBackoff`, and starts again from here
  /// once a process ran for `stableAfter`.
  package static let firstBackoff: Duration = .seconds(1)
  package static let maximumBackoff: Duration = .seconds(30)
  package static let stableAfter: Duration = .seconds(10)

  package init(
    specs: [ProcessSpec], events: @escaping EventSink, logDirectory: String?, state: StateDirectory?,
    owner: ProcessIdentity, detached: Bool
  ) {
    self.specs = specs
    self.events = events
    self.logDirectory = logDirectory
    var files: [String: LogFile] = [:]
    if let logDirectory {
      try? FileManager.default.createDirectory(
        atPath: logDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      for spec in specs {
        files[spec.displayName] = LogFile(
          path: (logDirectory as NSString).appendingPathComponent("\(spec.displayName).log"))
      }
    }
    self.logFiles = files
    self.state = state
    self.record = ExecutableState(
      owner: owner, detached: detached, fingerprint: ProcessSpec.fingerprint(specs),
      processes: specs.map { ExecutableState.Process(resource: $0.resource, replica: $0.replica, name: $0.displayName) }
    )
  }

  /// Runs until every process has ended for good, or `stop` was called. Returns the exit code of the
  /// first process that failed and was not restarted (nil when none failed).
  package func run() async -> Int32? {
    persist()
    var firstFailure: Int32?
    await withTaskGroup(of: Int32?.self) { group in
      for stage in Set(specs.map(\.stage)).sorted() {
        let inStage = specs.filter { $0.stage == stage }
        for spec in inStage {
          group.addTask { await self.supervise(spec) }
        }
        // The next stage waits for this one to run: a program that waits for another is started after it.
        while !stopping && !inStage.allSatisfy({ hasStarted($0.displayName) }) {
          await nextChange()
        }
      }
      record.ready = true
      persist()
      for await failure in group where failure != nil && firstFailure == nil {
        firstFailure = failure
      }
    }
    // Programs started again through the control socket after they had ended for good.
    while !restartedLoops.isEmpty {
      let failure = await restartedLoops.removeFirst().value
      if firstFailure == nil { firstFailure = failure }
    }
    finished = true
    return firstFailure
  }

  /// Stops every process: SIGTERM to its group and SIGKILL after the grace period, or SIGKILL at once.
  package func stop(immediately: Bool) {
    stopping = true
    for pause in pauses.values { pause.cancel() }
    // Those waiting to be restarted are stopped now (those running say so when they have ended).
    for spec in specs where pauses[spec.displayName] != nil && running[spec.displayName] == nil {
      update(spec) { $0.state = .stopped }
      events(.stopped(resource: spec.displayName, code: nil))
    }
    announceChange()
    for name in running.keys.sorted() { events(.stopping(resource: name)) }
    let groups = running.values.map { -$0 }
    if immediately {
      for group in groups { kill(group, SIGKILL) }
      return
    }
    Task { await GracefulStop.stop(groups, grace: ChildProcess.grace, remaining: GracefulStop.alive) }
  }

  package var isStopping: Bool { stopping }

  private func hasStarted(_ name: String) -> Bool {
    record.processes.first { $0.name == name }.map { $0.state != .starting } ?? true
  }

  /// One process, restarted by its policy; returns its exit code when it failed for good.
  func supervise(_ spec: ProcessSpec) async -> Int32? {
    supervising.insert(spec.displayName)
    defer { supervising.remove(spec.displayName) }
    var backoff = RestartBackoff()
    while !stopping {
      // Stopped through the control socket: waits for a start.
      while held.contains(spec.displayName) && !stopping { await nextChange() }
      if stopping { break }
      let began = ContinuousClock.now
      let status: Int32
      do {
        status = try await ChildProcess.run(
          spec, started: { pid in await self.started(spec, pid: pid) },
          output: { [events, logFiles] lines in
            logFiles[spec.displayName]?.append(lines)
            events(.logLines(resource: spec.displayName, lines: lines))
          })
      } catch {
        update(spec) { $0.state = .exited }
        if stopping { return nil }
        events(.failed(ResourceFailure(resource: spec.displayName, reason: error.errorDescription ?? "\(error)")))
        return 126
      }
      running[spec.displayName] = nil
      if stopping || held.contains(spec.displayName) || restartAtOnce.contains(spec.displayName) {
        update(spec) {
          $0.state = .stopped
          $0.exitCode = status
        }
        events(.stopped(resource: spec.displayName, code: status))
        if stopping { return nil }
        // Asked for: a restart starts it again at once, whatever its policy; a stop waits above.
        restartAtOnce.remove(spec.displayName)
        backoff = RestartBackoff()
        continue
      }
      update(spec) {
        $0.state = .exited
        $0.exitCode = status
      }
      events(.exited(resource: spec.displayName, code: status))
      guard let pause = backoff.next(status: status, ran: ContinuousClock.now - began, policy: spec.restart) else {
        return status == 0 ? nil : status
      }
      update(spec) {
        $0.state = .restarting
        $0.restarts += 1
      }
      events(.restarting(resource: spec.displayName, after: pause.seconds))
      let sleeping = Task<Void, Never> { try? await Task.sleep(for: pause) }
      pauses[spec.displayName] = sleeping
      await sleeping.value
      pauses[spec.displayName] = nil
    }
    return nil
  }

  /// Suspends until a process's state changes (or `stop`).
  func nextChange() async {
    await withCheckedContinuation { changeWaiters.append($0) }
  }

  func announceChange() {
    let waiters = changeWaiters
    changeWaiters = []
    for waiter in waiters { waiter.resume() }
  }

  private func started(_ spec: ProcessSpec, pid: Int32) {
    running[spec.displayName] = pid
    starts[spec.displayName, default: 0] += 1
    if stopping { kill(-pid, SIGTERM) }
    let identity = ProcessIdentity(pid: pid, startTime: ProcessIdentity.startTime(of: pid) ?? "")
    update(spec) {
      $0.pid = pid
      $0.startTime = identity.startTime
      $0.state = .running
      $0.exitCode = nil
    }
    events(.started(resource: spec.displayName, pid: pid))
  }

  func update(_ spec: ProcessSpec, _ change: (inout ExecutableState.Process) -> Void) {
    guard let index = record.processes.firstIndex(where: { $0.name == spec.displayName }) else { return }
    change(&record.processes[index])
    persist()
    announceChange()
  }

  private func persist() {
    guard let state else { return }
    do {
      try record.save(state)
    } catch {
      Log.debug("could not record the programs' state: \(error.errorDescription ?? "\(error)")")
    }
  }

}

/// When to start a program again after it ended, by its restart policy: after a pause that starts at
/// `first`, doubles with each restart up to `maximum`, and starts again from `first` once a run lasted
/// `stableAfter`. A value, so that the policy is tested without a clock.
package struct RestartBackoff: Sendable, Equatable {
  package var first: Duration = Supervisor.firstBackoff
  package var maximum: Duration = Supervisor.maximumBackoff
  package var stableAfter: Duration = Supervisor.stableAfter
  private var upcoming: Duration?

  package init() {}

  /// The pause before the next start, or nil when the policy says the program stays ended.
  package mutating func next(status: Int32, ran: Duration, policy: RestartPolicy) -> Duration? {
    let restart: Bool
    switch policy {
    case .no: restart = false
    case .onFailure: restart = status != 0
    case .always: restart = true
    }
    guard restart else { return nil }
    let pause = ran >= stableAfter ? first : (upcoming ?? first)
    upcoming = min(pause * 2, maximum)
    return pause
  }
}

/// A process's log file: created empty (mode 0600) when the supervisor starts, appended line batches.
package final class LogFile: @unchecked Sendable {
  private let descriptor: Int32
  private let lock = NSLock()

  package init?(path: String) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { return nil }
    self.descriptor = descriptor
  }

  deinit {
    close(descriptor)
  }

  package func append(_ lines: [String]) {
    var text = lines.joined(separator: "\n")
    text.append("\n")
    lock.lock()
    defer { lock.unlock() }
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        return
      }
      bytes = bytes.dropFirst(written)
    }
  }
}
