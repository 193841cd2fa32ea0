import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A connection to the control socket of a running `apphost up` (see `ControlProtocol.swift` for the
/// conversation). Every call is one request and its reply; `events()` turns the connection into a stream
/// of state changes.
///
///     let client = try ControlClient.connect(state)          // throws .noSession when no up runs
///     let rows = try await client.list()
///     try await client.restart(["web-1"])
///     for await event in try await client.events() { print(event.type, event.process) }
package final class ControlClient: @unchecked Sendable {
  private let descriptor: Int32
  private let reader: ControlSocket.LineReader
  private let lock = NSLock()
  package let path: String

  private init(descriptor: Int32, path: String) {
    self.descriptor = descriptor
    self.reader = ControlSocket.LineReader(descriptor)
    self.path = path
  }

  deinit {
    close(descriptor)
  }

  /// Connects to the project's socket; `.noSession` when no `up` listens there.
  package static func connect(_ state: StateDirectory) throws(AppHostError) -> ControlClient {
    try connect(path: ControlSocket.path(state))
  }

  package static func connect(path: String) throws(AppHostError) -> ControlClient {
    let descriptor = ControlSocket.newSocket()
    guard descriptor >= 0 else { throw .controlFailed(reason: "no socket: \(String(cString: strerror(errno)))") }
    let result = ControlSocket.withAddress(path) { Glibc.connect(descriptor, $0, $1) }
    guard result == 0 else {
      let code = errno
      close(descriptor)
      if code == ENOENT || code == ECONNREFUSED { throw .noSession(socket: path) }
      throw .controlFailed(reason: "cannot connect to \(path): \(String(cString: strerror(code)))")
    }
    return ControlClient(descriptor: descriptor, path: path)
  }

  /// Whether an `up` listens on the socket at `path`.
  package static func isListening(_ path: String) -> Bool {
    (try? connect(path: path)) != nil
  }

  /// Whether an `up` listens on the project's socket.
  package static func isListening(_ state: StateDirectory) -> Bool {
    isListening(ControlSocket.path(state))
  }

  /// Sends a request and returns its reply; a reply with `ok: false` is thrown as its error. The socket
  /// is read on a thread of its own: waiting for a reply never holds a thread of Swift's cooperative
  /// pool (the `up` answering may be this very process, a dashboard inside it).
  @discardableResult
  package func send(_ request: ControlRequest) async throws(AppHostError) -> ControlReply {
    let result: Result<ControlReply, AppHostError> = await withCheckedContinuation { continuation in
      let thread = Thread { [self] in
        do throws(AppHostError) {
          continuation.resume(returning: .success(try sendBlocking(request)))
        } catch {
          continuation.resume(returning: .failure(error))
        }
      }
      thread.start()
    }
    return try result.get()
  }

  /// `send`, waiting on the calling thread.
  package func sendBlocking(_ request: ControlRequest) throws(AppHostError) -> ControlReply {
    lock.lock()
    defer { lock.unlock() }
    // A refusal (another user's up) may have arrived before the request could be written: it is read.
    let written = ControlSocket.write(descriptor, ControlCoding.line(request))
    guard let line = reader.next() else {
      throw .controlFailed(reason: "the apphost up on \(path) hung up" + (written ? "" : " before the request"))
    }
    let reply = try ControlCoding.decode(ControlReply.self, from: line)
    if reply.ok == false { throw .controlFailed(reason: reply.error ?? "the request failed") }
    return reply
  }

  // MARK: Requests

  /// Every resource with its state, pid, restarts, exit code.
  package func list() async throws(AppHostError) -> [ControlResource] {
    try await send(ControlRequest(command: .list)).resources ?? []
  }

  /// Restarts resources (a program: every replica) or single replicas (`web-1`). Returns what it
  /// restarted, once each runs again (containers: answer again).
  @discardableResult
  package func restart(_ names: [String]) async throws(AppHostError) -> [String] {
    try await send(ControlRequest(command: .restart, names: names)).affected ?? []
  }

  @discardableResult
  package func stop(_ names: [String]) async throws(AppHostError) -> [String] {
    try await send(ControlRequest(command: .stop, names: names)).affected ?? []
  }

  @discardableResult
  package func start(_ names: [String]) async throws(AppHostError) -> [String] {
    try await send(ControlRequest(command: .start, names: names)).affected ?? []
  }

  /// Stops and removes resources from the session (programs are stopped, containers removed).
  @discardableResult
  package func down(_ names: [String]) async throws(AppHostError) -> [String] {
    try await send(ControlRequest(command: .down, names: names)).affected ?? []
  }

  /// The environment a program (or one replica) runs with, secrets included (the socket is the owner's).
  package func environment(of name: String) async throws(AppHostError) -> [String: String] {
    try await send(ControlRequest(command: .env, name: name)).environment ?? [:]
  }

  /// Subscribes: every state change from now on, until the `up` ends (or the stream is dropped). The
  /// connection carries nothing else afterwards.
  package func events() async throws(AppHostError) -> AsyncStream<ControlEvent> {
    try await send(ControlRequest(command: .subscribe))
    let (stream, continuation) = AsyncStream<ControlEvent>.makeStream()
    let thread = Thread { [self] in
      while let line = reader.next() {
        guard let reply = try? ControlCoding.decode(ControlReply.self, from: line), let event = reply.event else {
          continue
        }
        if case .terminated = continuation.yield(event) { break }
      }
      continuation.finish()
    }
    continuation.onTermination = { [descriptor] _ in shutdown(descriptor, Int32(SHUT_RDWR)) }
    thread.start()
    return stream
  }
}
