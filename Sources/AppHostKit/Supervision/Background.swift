import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Starts `program` in the background, its input empty and its output in `.apphost/logs/LOG` (0600, made
/// anew): the background supervisor and the dashboard. Returns its pid and the log's path.
package func spawnInBackground(
  _ program: String, arguments: [String], environment: [String: String], log name: String, state: StateDirectory,
  resource: String
) throws(AppHostError) -> (pid: Int32, logPath: String) {
  try state.create()
  let logDirectory = ExecutableState.logDirectory(state)
  try? FileManager.default.createDirectory(
    atPath: logDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
  let logPath = (logDirectory as NSString).appendingPathComponent(name)
  let descriptor = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
  guard descriptor >= 0 else { throw .stateUnwritable(path: logPath, reason: String(cString: strerror(errno))) }
  let log = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
  let process = Process()
  process.executableURL = URL(fileURLWithPath: program)
  process.arguments = arguments
  process.environment = environment
  process.standardInput = FileHandle.nullDevice
  process.standardOutput = log
  process.standardError = log
  do {
    try process.run()
  } catch {
    throw .cannotStart(resource: resource, command: program, reason: "\(error)")
  }
  return (process.processIdentifier, logPath)
}

/// The programs of `up --detach`: a background apphost (`apphost __supervise`) runs them with their
/// restart policies and their output in `.apphost/logs/`, until `down` (or the next `up`) stops it.
package enum BackgroundSupervisor {
  /// This apphost binary, for starting the background one.
  package static var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  }

  /// Starts the background supervisor and waits until it has started every program (or has failed).
  /// `environment`: added to the supervisor's (the dashboard's token and port).
  package static func start(
    arguments: [String], state: StateDirectory, timeout: Duration, environment: [String: String] = [:]
  )
    async throws(AppHostError) -> ExecutableState
  {
    ExecutableState.remove(state)
    let (pid, logPath) = try spawnInBackground(
      executablePath, arguments: ["__supervise"] + arguments,
      environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, log: "supervisor.log",
      state: state, resource: "apphost")
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if let current = ExecutableState.load(state), current.ownerPID == pid {
        if let failure = current.failure {
          // It stops the rest itself; what it started is gone once it has.
          while ChildProcess.isRunning(pid) && ContinuousClock.now < deadline + ChildProcess.grace {
            try? await Task.sleep(for: .milliseconds(20))
          }
          throw .startFailed([failure.reported(state: state)])
        }
        if current.ready { return current }
      }
      if !ChildProcess.isRunning(pid) {
        let reason = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw .cannotStart(
          resource: "programs", command: "apphost __supervise",
          reason: reason.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").suffix(5)
            .joined(separator: "\n"))
      }
      try? await Task.sleep(for: .milliseconds(10))
    }
    kill(pid, SIGTERM)
    throw .cannotStart(resource: "programs", command: "apphost __supervise", reason: "they did not start in time")
  }

  /// How long `start` waits: the longest readiness timeout of the programs, or `timeout` when longer.
  package static func waitLimit(_ specs: [ProcessSpec], timeout: Duration) -> Duration {
    max(timeout, (specs.map(\.readinessTimeout).max() ?? .zero) + .seconds(5))
  }

  /// Stops the programs of the project, whoever runs them: asks a live supervisor (background, or the
  /// programs part of a foreground `up`) to stop and waits for it, then stops what a dead one left.
  /// Returns the names of the programs that were running.
  @discardableResult
  package static func stop(_ state: StateDirectory, events: EventSink) async -> [String] {
    var names: [String] = []
    if let recorded = ExecutableState.load(state) {
      names = recorded.processes.filter { $0.liveIdentity != nil }.map(\.name)
      let owner = recorded.owner
      if owner.isAlive && owner.pid != getpid() {
        for name in names { events(.stopping(resource: name)) }
        kill(owner.pid, SIGTERM)
        let deadline = ContinuousClock.now + ChildProcess.grace + .seconds(5)
        while owner.isAlive && ContinuousClock.now < deadline {
          try? await Task.sleep(for: .milliseconds(20))
        }
      }
      // Programs of a supervisor that died (or did not stop in time).
      let leftovers = await ExecutableState.stopLeftovers(state)
      for name in leftovers { events(.note("stopped \(name), left running by an apphost that is gone")) }
    }
    // Whatever else a dead apphost left, found by the mark in its environment (also when it was killed
    // before it could write its state file).
    let projectDirectory = (state.path as NSString).deletingLastPathComponent
    let others = await OrphanScan.stop(projectDirectory: projectDirectory)
    if others > 0 { events(.note("stopped \(others) process(es) left running by an apphost that is gone")) }
    await DashboardProcess.stopLeftover(state)
    ExecutableState.remove(state)
    return names
  }
}

extension ExecutableState.Failure {
  /// The failure with the last lines of the program's log file.
  package func reported(state: StateDirectory) -> ResourceFailure {
    let path = (ExecutableState.logDirectory(state) as NSString).appendingPathComponent("\(name).log")
    let tail = ProgramLogs.read(path, tail: LogWatch.tailLength).lines
    return ResourceFailure(resource: name, reason: reason, logTail: tail)
  }
}
