import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Only one `up` per project at a time: an exclusive lock on `.apphost/up.lock`, which names its holder.
/// The lock goes with the process, also when it is killed.
package final class ProjectLock: @unchecked Sendable {
  private let descriptor: Int32
  package let path: String

  private init(descriptor: Int32, path: String) {
    self.descriptor = descriptor
    self.path = path
  }

  deinit {
    release()
  }

  private var released = false

  package static func path(in state: StateDirectory) -> String {
    (state.path as NSString).appendingPathComponent("up.lock")
  }

  /// Takes the lock, or throws `projectBusy` naming the `up` that holds it.
  package static func acquire(_ state: StateDirectory) throws(AppHostError) -> ProjectLock {
    try state.create()
    let path = path(in: state)
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw .stateUnwritable(path: path, reason: String(cString: strerror(errno))) }
    if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
      close(descriptor)
      throw .projectBusy(pid: holder(state)?.pid ?? 0, lockFile: path)
    }
    let identity = ProcessIdentity.current
    let text = "\(identity.pid) \(identity.startTime)\n"
    _ = ftruncate(descriptor, 0)
    _ = pwrite(descriptor, text, text.utf8.count, 0)
    return ProjectLock(descriptor: descriptor, path: path)
  }

  /// The process holding the lock, when one does.
  package static func holder(_ state: StateDirectory) -> ProcessIdentity? {
    let path = path(in: state)
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    // Free when we can take it ourselves.
    if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
      flock(descriptor, LOCK_UN)
      return nil
    }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    let fields = text.split(whereSeparator: \.isWhitespace)
    guard fields.count >= 2, let pid = Int32(fields[0]) else { return nil }
    return ProcessIdentity(pid: pid, startTime: String(fields[1]))
  }

  package func release() {
    guard !released else { return }
    released = true
    flock(descriptor, LOCK_UN)
    close(descriptor)
  }
}

extension ProjectLock {
  /// Asks the `apphost up` holding the project's lock (a foreground one) to stop, and waits until it has
  /// let go: `apphost down` in another terminal. Nothing when no other process holds it.
  package static func stopHolder(
    _ state: StateDirectory, timeout: Duration = .seconds(30), announce: (Int32) -> Void
  ) async throws(AppHostError) {
    guard let holder = holder(state), holder.pid != getpid() else { return }
    announce(holder.pid)
    kill(holder.pid, SIGTERM)
    let deadline = ContinuousClock.now + timeout
    while Self.holder(state) != nil {
      if ContinuousClock.now > deadline {
        throw .projectBusy(pid: holder.pid, lockFile: path(in: state))
      }
      do { try await Task.sleep(for: .milliseconds(20)) } catch { throw .cancelled }
    }
  }
}
