import Foundation

/// The engine listing a command is about to ask for, started as the process starts: `apphost ps` on
/// docker spent some 8 ms starting, reading its command line, the manifest and the plan before its one
/// engine call (about 10 ms) began; started first, the two overlap (DECISIONS.md, 2026-12-06).
///
/// `.apphost/listing` holds the listing the project's last command ran: the CLI's path and its arguments.
/// A command that will open the project starts that one at once; when the session then asks the engine
/// for exactly the same command, it gets the output of the one already running. Anything else (another
/// engine, another project name, a file that is not there) runs the listing as usual. The listing reads
/// and changes nothing, and `settle()` waits for one no session took, so none outlives apphost.
package enum ListingPrefetch {
  private struct State {
    /// The command started: the CLI's path, then its arguments.
    var command: [String] = []
    /// Its result, until a session takes it (or it may no longer tell the truth).
    var offered: Listing?
    /// Every listing started, for `settle()`.
    var started: [Listing] = []
  }

  private static let lock = NSLock()
  nonisolated(unsafe) private static var state = State()

  static func path(in state: StateDirectory) -> String {
    (state.path as NSString).appendingPathComponent("listing")
  }

  /// Starts the listing that `PROJECT/.apphost/listing` names, if there is one to start.
  package static func start(projectDirectory: String) {
    let file = path(in: StateDirectory(projectDirectory: projectDirectory))
    guard let command = read(file), let program = command.first, program.hasPrefix("/"), access(program, X_OK) == 0,
      let listing = Listing(command)
    else { return }
    lock.withLock {
      state.command = command
      state.offered = listing
      state.started.append(listing)
    }
  }

  /// The output of the listing started at start-up if it is exactly `program arguments`; once.
  static func take(program: String, arguments: [String]) async -> CLIEngine.Output? {
    let listing = lock.withLock { () -> Listing? in
      guard state.command == [program] + arguments, let listing = state.offered else { return nil }
      state.offered = nil
      return listing
    }
    return await listing?.output()
  }

  /// Engine commands a killed apphost left in flight were running when the listing started: what it
  /// shows may be out of date, and the session lists again.
  package static func discard() {
    lock.withLock { state.offered = nil }
  }

  /// Remembers the listing the project's next command will start (none for the native engine): written
  /// only when it changed, and only into a state folder that already exists.
  package static func remember(_ command: [String]?, in stateDirectory: StateDirectory) {
    let file = path(in: stateDirectory)
    let known = lock.withLock { state.command.isEmpty ? nil : state.command }
    guard command != (known ?? read(file)) else { return }
    if let command {
      guard FileManager.default.fileExists(atPath: stateDirectory.path) else { return }
      let contents = Array(command.joined(separator: "\0").utf8)
      do {
        try writeFileAtomically(file, contents: contents, mode: 0o600, durable: false)
      } catch {
        Log.debug("could not remember the engine listing in \(file): \(error.errorDescription ?? "")")
      }
    } else {
      try? FileManager.default.removeItem(atPath: file)
    }
  }

  /// Ends the listings no session took (SIGTERM: an engine that does not answer must not keep apphost
  /// from exiting) and waits for them: no engine command outlives the apphost that ran it.
  package static func settle() async {
    let (started, untaken) = lock.withLock { () -> ([Listing], Listing?) in
      defer { state = State() }
      return (state.started, state.offered)
    }
    untaken?.terminate()
    for listing in started { _ = await listing.output() }
  }

  private static func read(_ file: String) -> [String]? {
    guard let data = FileManager.default.contents(atPath: file), !data.isEmpty else { return nil }
    return String(decoding: data, as: UTF8.self).split(separator: "\0", omittingEmptySubsequences: false).map(
      String.init)
  }
}

/// One listing in flight: spawned at once with posix_spawn (swift-subprocess starts its monitoring threads
/// first, which cost the 3 ms this is for), its output read to the end on a thread of its own.
private final class Listing: @unchecked Sendable {
  private let lock = NSLock()
  private let pid: pid_t
  /// Set once it has exited and before it is reaped: until then `pid` is still this process.
  private var exited = false
  private var result: CLIEngine.Output??
  private var waiting: [CheckedContinuation<CLIEngine.Output?, Never>] = []

  /// Nil when it could not be started.
  init?(_ command: [String]) {
    var output: [Int32] = [0, 0]
    var errors: [Int32] = [0, 0]
    guard pipe(&output) == 0 else { return nil }
    guard pipe(&errors) == 0 else {
      close(output[0])
      close(output[1])
      return nil
    }
    // Not inherited by anything else apphost starts (the spawn's dup2 gives the child its own copies).
    for descriptor in output + errors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, output[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // A process group of its own, as every engine command (CLIEngine): Ctrl-C reaches apphost only.
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
    posix_spawnattr_setpgroup(&attributes, 0)
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    // As `CLIEngine.invoke` runs it: apphost's environment without a program's mark.
    let environment = ProcessInfo.processInfo.environment.filter {
      $0.key != OrphanScan.variable && $0.key != OrphanScan.engineVariable
    }.map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let spawned = withCStrings(command) { argv in
      withCStrings(environment) { envp in posix_spawn(&pid, command[0], &actions, &attributes, argv, envp) }
    }
    close(output[1])
    close(errors[1])
    guard spawned == 0 else {
      close(output[0])
      close(errors[0])
      return nil
    }
    let descriptors = (output: output[0], errors: errors[0])
    let child = pid
    self.pid = pid
    Thread.detachNewThread { [self] in
      let (standardOutput, standardError) = Self.readToEnd(descriptors.output, descriptors.errors)
      var info = siginfo_t()
      while waitid(P_PID, id_t(child), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
      lock.withLock { exited = true }
      var status: Int32 = 0
      while waitpid(child, &status, 0) < 0 && errno == EINTR {}
      // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
      let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
      finish(
        CLIEngine.Output(
          status: code, output: String(decoding: standardOutput, as: UTF8.self),
          errors: String(decoding: standardError, as: UTF8.self)))
    }
  }

  /// Both pipes read until both are closed (either one filling up must not stop the other).
  private static func readToEnd(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
    var buffers: [[UInt8]] = [[], []]
    var open = [first, second]
    var chunk = [UInt8](repeating: 0, count: 65536)
    while open.contains(where: { $0 >= 0 }) {
      var polled = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      guard poll(&polled, nfds_t(polled.count), -1) >= 0 || errno == EINTR else { break }
      for index in polled.indices where open[index] >= 0 && polled[index].revents != 0 {
        let count = read(open[index], &chunk, chunk.count)
        if count > 0 {
          buffers[index] += chunk[0..<count]
        } else if count == 0 || errno != EINTR {
          close(open[index])
          open[index] = -1
        }
      }
    }
    return (buffers[0], buffers[1])
  }

  /// Asks it to stop if it is still running.
  func terminate() {
    lock.withLock { if !exited { kill(pid, SIGTERM) } }
  }

  private func finish(_ output: CLIEngine.Output?) {
    let resumed = lock.withLock { () -> [CheckedContinuation<CLIEngine.Output?, Never>] in
      result = .some(output)
      defer { waiting = [] }
      return waiting
    }
    for continuation in resumed { continuation.resume(returning: output) }
  }

  /// The listing's output once it has finished.
  func output() async -> CLIEngine.Output? {
    await withCheckedContinuation { continuation in
      let done = lock.withLock { () -> CLIEngine.Output?? in
        if let result { return result }
        waiting.append(continuation)
        return nil
      }
      if let done { continuation.resume(returning: done) }
    }
  }
}
