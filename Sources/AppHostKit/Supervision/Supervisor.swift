import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs the developer's programs: starts them stage by stage, restarts them by their policy with a
/// growing pause, and stops them (SIGTERM to each process group, SIGKILL after the grace period).
/// Output goes to the event sink as whole lines and, when a log folder is given, to one file per process.
package actor Supervisor {
  package private(set) var specs: [ProcessSpec]
  let events: EventSink
  private let logDirectory: String?
  private let state: StateDirectory?
  private(set) var record: ExecutableState
  var running: [String: Int32] = [:]
  private(set) var stopping: Bool = false
  /// The processes that are ready (tasks: completed with 0).
  private var readyNames: Set<String> = []
  /// The program that could not get ready, which ended the run.
  private var fatal: ExecutableState.Failure?
  /// `run` has returned.
  var finished = false
  /// Processes stopped to be started again at once (`restart` by `watch`), whatever their policy.
  private var restartRequested: Set<String> = []
  /// Who waits for the next change of a process's state (a stage waiting for its programs to start).
  private var changeWaiters: [CheckedContinuation<Void, Never>] = []
  /// The pauses before restarts, cut short by `stop`.
  var pauses: [String: Task<Void, Never>] = [:]
  /// One file per process (`.apphost/logs/NAME.log`), written as output arrives.
  private var logFiles: [String: LogFile]
  /// Control requests (`Supervisor+Control.swift`): processes stopped until started again, processes to
  /// start again at once when they end, how often each has been started, and supervision loops that
  /// run (a program that ended for good has none until it is started again).
  var held: Set<String> = []
  var restartAtOnce: Set<String> = []
  var starts: [String: Int] = [:]
  var supervising: Set<String> = []
  var restartedLoops: [Task<Int32?, Never>] = []
  /// Bumped when a process is replaced (`replace`): a loop supervising an older generation ends.
  var generations: [String: Int] = [:]
  /// Every process was removed by request (`replace`): `run` waits, until stopped, for new ones.
  private var keepsRunningEmpty = false

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
      processes: specs.map { spec in
        var process = ExecutableState.Process(resource: spec.resource, replica: spec.replica, name: spec.displayName)
        process.ports = spec.ports.isEmpty ? nil : Dictionary(spec.ports.map { ($0.name, $0.port) }) { a, _ in a }
        process.task = spec.isTask ? true : nil
        return process
      }
    )
    if specs.isEmpty { record.ready = true }
    // The ports apphost serves for replicas (`ReplicaProxies`): this project's while it runs.
    var shared: [String: Int] = [:]
    for spec in specs {
      for (endpoint, port) in spec.sharedPorts { shared["\(spec.resource).\(endpoint)"] = port }
    }
    record.endpoints = shared.isEmpty ? nil : shared
  }

  /// Runs until every process has ended for good, or `stop` was called. Returns the exit code of the
  /// first process that failed and was not restarted (nil when none failed); when a program could not get
  /// ready (a task failed, a program ended before it was ready or was not ready in time) that program's
  /// code, having stopped the rest. Each process starts once the programs it waits for are ready.
  package func run() async -> Int32? {
    persist()
    var firstFailure: Int32?
    await withTaskGroup(of: Int32?.self) { group in
      for spec in specs {
        group.addTask { await self.supervise(spec) }
      }
      for await failure in group where failure != nil && firstFailure == nil {
        firstFailure = failure
      }
    }
    // Programs started again (or added) through the control socket after the others had ended.
    repeat {
      while !restartedLoops.isEmpty {
        let failure = await restartedLoops.removeFirst().value
        if firstFailure == nil { firstFailure = failure }
      }
      // A second `up` removed every program: the session runs on without any, until it is stopped.
      while keepsRunningEmpty && specs.isEmpty && restartedLoops.isEmpty && !stopping { await nextChange() }
    } while !restartedLoops.isEmpty
    finished = true
    announceChange()
    return fatal?.exitCode ?? firstFailure
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

  /// Adds processes to a running supervisor (a second `up` that adds programs) and starts them.
  package func add(_ added: [ProcessSpec]) throws(AppHostError) {
    guard !finished && !stopping else {
      throw .controlFailed(
        reason: stopping
          ? "this apphost up is stopping; start it again with `apphost up`"
          : "this apphost up runs no programs any more (it started without any, or all have ended); stop it and "
            + "run `apphost up` again to start them")
    }
    append(added)
    record.fingerprint = ProcessSpec.fingerprint(specs)
    persist()
  }

  /// Stops every process of `resources` for good and forgets them (a second `up` removed them, or changed
  /// them: then `replacements` are their new processes), then starts `replacements` and returns once each
  /// has started (or could not be: an error naming them). The other processes keep running. A supervisor
  /// left without processes this way runs on, for programs a later `up` adds, until it is stopped.
  package func replace(_ resources: Set<String>, with replacements: [ProcessSpec]) async throws(AppHostError) {
    guard !finished && !stopping else {
      throw .controlFailed(reason: "this apphost up is stopping; start it again with `apphost up`")
    }
    let old = specs.filter { resources.contains($0.resource) }.map(\.displayName)
    for name in old where running[name] != nil { events(.stopping(resource: name)) }
    await stopProcesses(old)
    guard !stopping else { return }
    // From here to the start of the replacements nothing waits: the old loops end (their generation is
    // over) only once the new ones are there, so that `run` never finds every loop ended in between.
    for name in old {
      generations[name, default: 0] += 1
      held.remove(name)
      restartAtOnce.remove(name)
      restartRequested.remove(name)
      readyNames.remove(name)
      logFiles[name] = nil
    }
    specs.removeAll { old.contains($0.displayName) }
    record.processes.removeAll { old.contains($0.name) }
    keepsRunningEmpty = keepsRunningEmpty || specs.isEmpty
    let before = Dictionary(replacements.map { ($0.displayName, starts[$0.displayName] ?? 0) }) { a, _ in a }
    append(replacements)
    record.fingerprint = ProcessSpec.fingerprint(specs)
    record.ready = readyNames.count == specs.count
    persist()
    announceChange()
    let names = replacements.map(\.displayName)
    while !stopping && names.contains(where: { (starts[$0] ?? 0) == before[$0] && supervising.contains($0) }) {
      await nextChange()
    }
    let failed = names.filter { (starts[$0] ?? 0) == before[$0] }
    if !failed.isEmpty && !stopping {
      throw .controlFailed(reason: "\(failed.joined(separator: ", ")) could not be started; see `apphost logs`")
    }
  }

  /// New processes: recorded, and each supervised by a loop of its own.
  private func append(_ added: [ProcessSpec]) {
    for spec in added where !specs.contains(where: { $0.displayName == spec.displayName }) {
      specs.append(spec)
      if let logDirectory {
        logFiles[spec.displayName] = LogFile(
          path: (logDirectory as NSString).appendingPathComponent("\(spec.displayName).log"))
      }
      var process = ExecutableState.Process(resource: spec.resource, replica: spec.replica, name: spec.displayName)
      process.ports = spec.ports.isEmpty ? nil : Dictionary(spec.ports.map { ($0.name, $0.port) }) { a, _ in a }
      process.task = spec.isTask ? true : nil
      record.processes.append(process)
      supervising.insert(spec.displayName)
      restartedLoops.append(Task { await self.supervise(spec) })
    }
  }

  /// Whether a loop still supervises the process (it was not replaced by a second `up`).
  private func isCurrent(_ spec: ProcessSpec, _ generation: Int) -> Bool {
    generations[spec.displayName, default: 0] == generation
  }

  private func hasStarted(_ name: String) -> Bool {
    record.processes.first { $0.name == name }.map { $0.state != .starting } ?? true
  }

  /// Stops the running copies of `resource` (SIGTERM to each group, SIGKILL after the grace period) and
  /// starts them again at once: `watch` after a change.
  package func restart(resource: String) {
    guard !stopping else { return }
    for spec in specs where spec.resource == resource {
      guard let pid = running[spec.displayName] else { continue }
      restartRequested.insert(spec.displayName)
      events(.stopping(resource: spec.displayName))
      Task { await GracefulStop.stop([-pid], grace: ChildProcess.grace, remaining: GracefulStop.alive) }
    }
  }

  /// Waits until every process is ready (tasks: completed) and returns their record; nil when the run
  /// stops first (a program could not get ready, or Ctrl-C).
  package func readiness() async -> ExecutableState? {
    while !stopping {
      if record.ready { return record }
      if finished { return nil }
      await nextChange()
    }
    return nil
  }

  /// One process, restarted by its policy; returns its exit code when it failed for good.
  func supervise(_ spec: ProcessSpec) async -> Int32? {
    let generation = generations[spec.displayName, default: 0]
    supervising.insert(spec.displayName)
    defer { if isCurrent(spec, generation) { supervising.remove(spec.displayName) } }
    guard await prerequisitesReady(spec) else { return nil }
    var backoff = RestartBackoff()
    let watch = LogWatch(spec.readiness)
    let firstStart = ContinuousClock.now
    let deadline = firstStart + spec.readinessTimeout
    while !stopping {
      // Stopped through the control socket: waits for a start (or, replaced, ends).
      while held.contains(spec.displayName) && !stopping && isCurrent(spec, generation) { await nextChange() }
      if stopping || !isCurrent(spec, generation) { break }
      let began = ContinuousClock.now
      let status: Int32
      watch.reset()
      do {
        status = try await ChildProcess.run(
          spec,
          started: { pid in
            await self.started(spec, pid: pid)
            await self.watchReadiness(spec, pid: pid, watch: watch, since: firstStart, deadline: deadline)
          },
          output: { [events, logFile = logFiles[spec.displayName]] lines in
            logFile?.append(lines)
            watch.feed(lines)
            events(.logLines(resource: spec.displayName, lines: lines))
          })
      } catch {
        update(spec) { $0.state = .exited }
        if stopping { return nil }
        let reason = error.errorDescription ?? "\(error)"
        events(.failed(ResourceFailure(resource: spec.displayName, reason: reason)))
        if !isReady(spec) { failBeforeReady(spec, code: 126, reason: reason, tail: []) }
        return 126
      }
      running[spec.displayName] = nil
      if restartRequested.remove(spec.displayName) != nil, !stopping {
        update(spec) { $0.restarts += 1 }
        continue
      }
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
      if spec.isTask {
        if status == 0 {
          markReady(spec, since: firstStart)
          return nil
        }
        failBeforeReady(spec, code: status, reason: "the task exited with code \(status)", tail: watch.tail)
        return status
      }
      guard let pause = backoff.next(status: status, ran: ContinuousClock.now - began, policy: spec.restart) else {
        if !isReady(spec) {
          failBeforeReady(
            spec, code: status == 0 ? 1 : status, reason: "it exited with code \(status) before it was ready",
            tail: watch.tail)
        }
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

  // MARK: Readiness

  /// Waits until every process of the programs `spec` waits for is ready; false when one never will be
  /// (or apphost is stopping).
  private func prerequisitesReady(_ spec: ProcessSpec) async -> Bool {
    while !stopping {
      let needed = record.processes.filter { spec.waitFor.contains($0.resource) }
      if needed.allSatisfy({ readyNames.contains($0.name) }) { return true }
      await nextChange()
    }
    return false
  }

  private func isReady(_ spec: ProcessSpec) -> Bool { readyNames.contains(spec.displayName) }

  /// After a start: ready at once (`started`), at exit (tasks), or when its check passes.
  private func watchReadiness(
    _ spec: ProcessSpec, pid: Int32, watch: LogWatch, since: ContinuousClock.Instant,
    deadline: ContinuousClock.Instant
  ) {
    guard !spec.isTask, !isReady(spec) else { return }
    if spec.readiness == .started {
      markReady(spec, since: since)
      return
    }
    Task {
      let result = await ProgramProbe.waitUntilReady(spec, log: watch, deadline: deadline) {
        await self.runningPID(spec.displayName) != pid
      }
      switch result {
      case .ready: self.markReady(spec, since: since)
      case .ended: break
      case .timedOut(let reason):
        let parts = spec.readinessTimeout.components
        let seconds = Double(parts.seconds) + Double(parts.attoseconds) / 1e18
        self.failBeforeReady(
          spec, code: 1,
          reason:
            "not ready after \(String(format: "%g", seconds)) s (\(spec.readiness.summary); last check: \(reason))",
          tail: watch.tail)
      }
    }
  }

  private func runningPID(_ name: String) -> Int32? { running[name] }

  private func markReady(_ spec: ProcessSpec, since: ContinuousClock.Instant) {
    guard !stopping, readyNames.insert(spec.displayName).inserted else { return }
    if spec.readiness != .started && !spec.isTask {
      let elapsed = ContinuousClock.now - since
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      let address = spec.ports.first.map { "http://\(Planner.host):\($0.port)" } ?? spec.readiness.summary
      events(.ready(resource: spec.displayName, address: address, seconds: seconds))
    }
    if readyNames.count == specs.count { record.ready = true }
    update(spec) { $0.ready = true }
  }

  /// A program that will not get ready: said with its last lines, recorded (for `up -d`), and everything
  /// stopped. The first one wins.
  private func failBeforeReady(_ spec: ProcessSpec, code: Int32, reason: String, tail: [String]) {
    guard fatal == nil, !stopping else { return }
    fatal = ExecutableState.Failure(name: spec.displayName, reason: reason, exitCode: code)
    record.failure = fatal
    events(.failed(ResourceFailure(resource: spec.displayName, reason: reason, logTail: tail)))
    persist()
    stop(immediately: false)
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

  /// Each line after the time it arrived (`LogTime.stamp`), for `logs --since` and `--timestamps`.
  package func append(_ lines: [String]) {
    let stamp = LogTime.stamp(Date()) + " "
    var text = lines.map { stamp + $0 }.joined(separator: "\n")
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
