import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Where a program's process is in its life, as `executables.json` records it (the raw values are the
/// file's words).
package enum ProcessState: String, Sendable, Codable, Equatable {
  case starting, running, exited, stopped, restarting
}

/// `.apphost/executables.json`: the programs apphost runs for the project, who runs them and how they
/// are. `ps` shows it; `down` and the next `up` use it to stop what a crashed apphost left running.
package struct ExecutableState: Codable, Sendable, Equatable {
  package struct Process: Codable, Sendable, Equatable {
    package var resource: String
    package var replica: Int
    package var name: String
    package var pid: Int32?
    package var startTime: String?
    /// `starting`, `running`, `restarting`, `exited`, `stopped`.
    package var state: ProcessState
    package var exitCode: Int32?
    package var restarts: Int
    /// True once its readiness check passed (a task: once it exited with 0).
    package var ready: Bool?
    /// Its endpoints' ports (this replica's own), by endpoint name.
    package var ports: [String: Int]?
    /// True for a task (ps shows `completed (0)`).
    package var task: Bool?

    package init(resource: String, replica: Int, name: String) {
      self.resource = resource
      self.replica = replica
      self.name = name
      self.state = .starting
      self.restarts = 0
    }

    /// The process, when it still runs (same pid and start time).
    package var liveIdentity: ProcessIdentity? {
      guard let pid, let startTime else { return nil }
      let identity = ProcessIdentity(pid: pid, startTime: startTime)
      return identity.isAlive ? identity : nil
    }
  }

  package var ownerPID: Int32
  package var ownerStart: String
  package var detached: Bool
  package var fingerprint: String
  /// True once every process is ready (a task: completed).
  package var ready: Bool
  package var processes: [Process]
  /// Why the programs did not all get ready (a program ended before it was ready, a task failed).
  package var failure: Failure?
  /// The ports apphost serves for replicas behind one port (`api.http` -> port).
  package var endpoints: [String: Int]?

  package struct Failure: Codable, Sendable, Equatable {
    package var name: String
    package var reason: String
    package var exitCode: Int32?
  }

  package init(owner: ProcessIdentity, detached: Bool, fingerprint: String, processes: [Process]) {
    ownerPID = owner.pid
    ownerStart = owner.startTime
    self.detached = detached
    self.fingerprint = fingerprint
    ready = false
    self.processes = processes
  }

  package var owner: ProcessIdentity { ProcessIdentity(pid: ownerPID, startTime: ownerStart) }

  package static func path(_ state: StateDirectory) -> String {
    (state.path as NSString).appendingPathComponent("executables.json")
  }

  package static func logDirectory(_ state: StateDirectory) -> String {
    (state.path as NSString).appendingPathComponent("logs")
  }

  package static func load(_ state: StateDirectory) -> ExecutableState? {
    guard let data = FileManager.default.contents(atPath: path(state)) else { return nil }
    return Log.attempt("read \(path(state))") { try JSONDecoder().decode(ExecutableState.self, from: data) }
  }

  package func save(_ state: StateDirectory) throws(AppHostError) {
    try state.create()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    guard let data = try? encoder.encode(self) else { return }
    try writeFileAtomically(Self.path(state), contents: [UInt8](data), mode: 0o600, durable: false)
  }

  package static func remove(_ state: StateDirectory) {
    unlink(path(state))
  }

  /// Stops every process listed that still runs: SIGTERM to its group, SIGKILL after `grace`. For the
  /// programs of an apphost that is gone (SIGKILL, crash, reboot of the terminal).
  @discardableResult
  package static func stopLeftovers(_ state: StateDirectory, grace: Duration = ChildProcess.grace) async -> [String] {
    guard let recorded = load(state) else { return [] }
    let live = recorded.processes.compactMap { process in process.liveIdentity.map { (process.name, $0) } }
    // Each program leads its own process group: the group goes, with whatever the program started.
    await GracefulStop.stop(live.map { -$0.1.pid }, grace: grace) { targets in targets.filter { kill($0, 0) == 0 } }
    return live.map(\.0)
  }
}

/// Finds the processes a dead apphost left running for a project, whatever the state file says (it may
/// not have been written yet when apphost was killed): every program apphost starts carries
/// `APPHOST_OWNER=<pid>/<start time>/<project folder>` in its environment, and so do the processes it
/// starts in turn. Engine commands carry the same mark under another name, `APPHOST_ENGINE_OWNER`: what
/// they leave running is the engine's own (podman's aardvark-dns, rootless port forwarders), never a
/// program to stop.
package enum OrphanScan {
  package static let variable = "APPHOST_OWNER"
  package static let engineVariable = "APPHOST_ENGINE_OWNER"

  package static func mark(owner: ProcessIdentity, projectDirectory: String) -> String {
    "\(owner.pid)/\(owner.startTime)/\(projectDirectory)"
  }

  /// A process a dead apphost left for the project.
  package struct Orphan: Sendable, Equatable {
    package var pid: Int32
    /// The first word of its command line (`docker`, `podman`, or a program).
    package var command: String
    package var arguments: [String]

    /// A docker or podman command apphost was running when it died.
    package static let engineCommands: Set<String> = ["docker", "podman"]
    package var isEngineCommand: Bool { Self.engineCommands.contains(command) }
    /// `docker logs --follow`: it would never end by itself.
    package var isFollowing: Bool { isEngineCommand && arguments.contains("--follow") }
  }

  /// Processes marked (by `variable`) for `projectDirectory` whose owner is gone.
  /// `commands`: only processes running one of these (their `/proc/PID/comm`), read before the far
  /// larger environment; every `up` scans for engine commands this way, among all of the machine's
  /// processes. Processes of other users are skipped: apphost's marks are on its own children.
  package static func orphans(projectDirectory: String, variable: String = variable, commands: Set<String>? = nil)
    -> [Orphan]
  {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    let prefix = Array("\(variable)=".utf8)
    let user = geteuid()
    var found: [Orphan] = []
    for entry in entries {
      guard let pid = Int32(entry), pid != getpid() else { continue }
      var info = stat()
      guard stat("/proc/\(entry)", &info) == 0, info.st_uid == user else { continue }
      if let commands {
        guard let comm = FileManager.default.contents(atPath: "/proc/\(entry)/comm"),
          commands.contains(String(decoding: comm, as: UTF8.self).trimmingCharacters(in: .newlines))
        else { continue }
      }
      guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
      for field in data.split(separator: 0) where field.starts(with: prefix) {
        let parts = String(decoding: field.dropFirst(prefix.count), as: UTF8.self)
          .split(separator: "/", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[2] == projectDirectory,
          let owner = Int32(parts[0]), !ProcessIdentity(pid: owner, startTime: parts[1]).isAlive,
          ChildProcess.isRunning(pid)
        else { continue }
        let words = (FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") ?? Data()).split(separator: 0)
          .map { String(decoding: $0, as: UTF8.self) }
        let command = ((words.first ?? "") as NSString).lastPathComponent
        found.append(Orphan(pid: pid, command: command, arguments: Array(words.dropFirst())))
      }
    }
    return found
  }

  /// Lets the engine commands a dead apphost left in flight (a `run`, a `network create`) finish, so that
  /// what they make is seen, and stops the log streams it was following. Up to `timeout`; what still runs
  /// then is killed.
  /// Returns whether there were any.
  @discardableResult
  package static func settleEngineCommands(projectDirectory: String, timeout: Duration = .seconds(60)) async -> Bool {
    func inFlight() -> [Orphan] {
      orphans(projectDirectory: projectDirectory, variable: engineVariable, commands: Orphan.engineCommands)
        .filter(\.isEngineCommand)
    }
    var commands = inFlight()
    let found = !commands.isEmpty
    for command in commands where command.isFollowing { kill(command.pid, SIGKILL) }
    let deadline = ContinuousClock.now + timeout
    while !commands.isEmpty && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(50))
      commands = inFlight()
    }
    for command in commands { kill(command.pid, SIGKILL) }
    return found
  }

  /// The orphaned programs (not engine commands) of a project.
  private static func programs(projectDirectory: String) -> [Int32] {
    orphans(projectDirectory: projectDirectory).filter { !$0.isEngineCommand }.map(\.pid)
  }

  /// Stops the orphaned programs of a project: SIGTERM to each one's process group, SIGKILL after `grace`.
  @discardableResult
  package static func stop(projectDirectory: String, grace: Duration = ChildProcess.grace) async -> Int {
    let pids = programs(projectDirectory: projectDirectory)
    guard !pids.isEmpty else { return 0 }
    let groups = Set(pids.map { getpgid($0) }.filter { $0 > 1 }).map { -$0 }
    await GracefulStop.stop(groups + pids, grace: grace) { _ in
      // Whatever is still marked for the project: its processes and, when they lead one, their groups.
      let left = programs(projectDirectory: projectDirectory)
      return left + Set(left.map { getpgid($0) }.filter { $0 > 1 }).map { -$0 }
    }
    return pids.count
  }
}

/// Reading the programs' log files (`apphost logs`).
package enum ProgramLogs {
  /// The log files of an executable's processes (`api.log`, or `web-0.log`, `web-1.log`, ...).
  package static func files(for executable: ExecutablePlan, state: StateDirectory) -> [(name: String, path: String)] {
    let folder = ExecutableState.logDirectory(state)
    return (0..<executable.replicas).map { replica in
      let name = executable.displayName(replica: replica)
      return (name, (folder as NSString).appendingPathComponent("\(name).log"))
    }.filter { FileManager.default.fileExists(atPath: $0.path) }
  }

  /// The last `tail` lines of a file (all of it for nil), and the offset after them.
  /// `since`: only lines written from then on; `timestamps`: each line after its time (the file keeps
  /// the time of every line: `LogFile`).
  package static func read(_ path: String, tail: Int?, since: Date? = nil, timestamps: Bool = false)
    -> (lines: [String], end: UInt64)
  {
    guard let data = FileManager.default.contents(atPath: path) else { return ([], 0) }
    var splitter = LineSplitter()
    var lines = splitter.lines(in: [UInt8](data))
    if let last = splitter.finish() { lines.append(last) }
    lines = present(lines, since: since, timestamps: timestamps)
    if let tail { lines = Array(lines.suffix(tail)) }
    return (lines, UInt64(data.count))
  }

  /// Prints what is appended to the file from `offset` on, until the task is cancelled.
  /// A log file's lines as `logs` shows them: without their times, or with them (`--timestamps`), from
  /// `since` on.
  package static func present(_ lines: [String], since: Date?, timestamps: Bool) -> [String] {
    lines.compactMap { line in
      let (time, text) = LogTime.split(line)
      if let since {
        guard let time, time >= since else { return nil }
      }
      guard timestamps else { return text }
      return "\(time.map(LogTime.stamp) ?? String(repeating: "-", count: 24)) \(text)"
    }
  }

  package static func follow(
    _ path: String, from offset: UInt64, timestamps: Bool = false, onLines: @Sendable ([String]) -> Void
  ) async {
    var position = offset
    var splitter = LineSplitter()
    while !Task.isCancelled {
      if let handle = FileHandle(forReadingAtPath: path) {
        let size = (try? handle.seekToEnd()) ?? 0
        if size < position { position = 0 }  // truncated by a new run
        if size > position {
          try? handle.seek(toOffset: position)
          if let data = try? handle.readToEnd(), !data.isEmpty {
            position += UInt64(data.count)
            let lines = present(splitter.lines(in: [UInt8](data)), since: nil, timestamps: timestamps)
            if !lines.isEmpty { onLines(lines) }
          }
        }
        try? handle.close()
      }
      try? await Task.sleep(for: .milliseconds(200))
    }
  }
}
