import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What the control socket asks of the running session (`SessionController` in `up`; unit tests give
/// their own).
package protocol ControlService: Sendable {
  func list() async -> [ControlResource]
  /// `restart`, `stop`, `start` or `down` of the named resources or replicas; returns what it acted on.
  func perform(_ command: ControlCommand, names: [String]) async throws(AppHostError) -> [String]
  func environment(of name: String) async throws(AppHostError) -> [String: String]
  /// Applies the manifest's changes to the session (adds, recreates, restarts, removes); returns them.
  func apply() async throws(AppHostError) -> [ControlChange]
}

/// Serves the control socket of a running `up`: `.apphost/control.sock`, mode 0600 in the 0700 state
/// folder, and a peer of another uid is refused even when it could open the file (root). One thread
/// accepts; each connection has a thread of its own (requests are few and short; subscribers wait).
package final class ControlServer: @unchecked Sendable {
  package let path: String
  private let descriptor: Int32
  private let service: any ControlService
  private let hub: EventHub
  private let lock = NSLock()
  private var connections: Set<Int32> = []
  private var closed = false

  private init(path: String, descriptor: Int32, service: any ControlService, hub: EventHub) {
    self.path = path
    self.descriptor = descriptor
    self.service = service
    self.hub = hub
  }

  /// Binds the project's socket and starts serving. A socket left by an `up` that is gone is replaced;
  /// one that answers belongs to a running `up` and is an error.
  package static func start(state: StateDirectory, service: any ControlService, hub: EventHub)
    throws(AppHostError) -> ControlServer
  {
    try state.create()
    let path = ControlSocket.path(state)
    if ControlClient.isListening(path) {
      throw .controlFailed(reason: "another apphost up already listens on \(path)")
    }
    unlink(path)
    let descriptor = ControlSocket.newSocket()
    guard descriptor >= 0 else { throw .stateUnwritable(path: path, reason: String(cString: strerror(errno))) }
    let bound = ControlSocket.withAddress(path) { bind(descriptor, $0, $1) }
    guard bound == 0, chmod(path, 0o600) == 0, listen(descriptor, 16) == 0 else {
      let reason = String(cString: strerror(errno))
      Glibc.close(descriptor)
      unlink(path)
      throw .stateUnwritable(path: path, reason: reason)
    }
    let server = ControlServer(path: path, descriptor: descriptor, service: service, hub: hub)
    let thread = Thread { server.acceptLoop() }
    thread.name = "apphost control"
    thread.start()
    return server
  }

  /// Stops listening, removes the socket and hangs up on every client.
  package func close() {
    lock.lock()
    guard !closed else {
      lock.unlock()
      return
    }
    closed = true
    let open = connections
    lock.unlock()
    unlink(path)
    shutdown(descriptor, Int32(SHUT_RDWR))
    for connection in open { shutdown(connection, Int32(SHUT_RDWR)) }
  }

  deinit {
    close()
    Glibc.close(descriptor)
  }

  private func acceptLoop() {
    while true {
      let connection = accept(descriptor, nil, nil)
      if connection < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        return
      }
      _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
      lock.lock()
      if closed {
        lock.unlock()
        Glibc.close(connection)
        return
      }
      connections.insert(connection)
      lock.unlock()
      let thread = Thread { [self] in
        serve(connection)
        lock.lock()
        connections.remove(connection)
        lock.unlock()
        Glibc.close(connection)
      }
      thread.name = "apphost control client"
      thread.start()
    }
  }

  private func serve(_ connection: Int32) {
    guard let uid = ControlSocket.peerUID(connection), uid == getuid() else {
      let who = ControlSocket.peerUID(connection).map { "uid \($0)" } ?? "an unknown user"
      Log.debug("control socket: refused a connection from \(who)")
      ControlSocket.write(
        connection,
        ControlCoding.line(
          ControlReply.failure("refused: this apphost up belongs to uid \(getuid()), and \(who) is not its owner")))
      return
    }
    // A client that stops reading does not hold up the others (events are dropped for it, then it goes).
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let reader = ControlSocket.LineReader(connection)
    while let line = reader.next() {
      if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
      let request: ControlRequest
      do {
        request = try ControlCoding.decode(ControlRequest.self, from: line)
      } catch {
        ControlSocket.write(connection, ControlCoding.line(ControlReply.failure(error.errorDescription ?? "\(error)")))
        continue
      }
      if request.command == .subscribe {
        subscribe(connection, reader: reader)
        return
      }
      let reply = answer(request)
      guard ControlSocket.write(connection, ControlCoding.line(reply)) else { return }
    }
  }

  /// Sends every event until the client hangs up (or stops reading).
  private func subscribe(_ connection: Int32, reader: ControlSocket.LineReader) {
    let gone = OnceFlag()
    // The lock keeps event lines whole and in order, and the `ok` first.
    let writing = NSLock()
    writing.lock()
    let token = hub.subscribe { event in
      if gone.isSet { return }
      writing.lock()
      defer { writing.unlock() }
      if !ControlSocket.write(connection, ControlCoding.line(ControlReply(ok: nil, event: event))) {
        gone.set()
        shutdown(connection, Int32(SHUT_RDWR))
      }
    }
    let started = ControlSocket.write(connection, ControlCoding.line(ControlReply()))
    writing.unlock()
    if started {
      // Anything the client sends now is ignored; its end of the stream ends the subscription.
      while !gone.isSet, reader.next() != nil {}
    }
    hub.unsubscribe(token)
  }

  /// Runs one request on the service (async) and waits for its reply on this connection's thread.
  private func answer(_ request: ControlRequest) -> ControlReply {
    let box = ReplyBox()
    let done = DispatchSemaphore(value: 0)
    let service = self.service
    Task {
      box.reply = await Self.handle(request, service: service)
      done.signal()
    }
    done.wait()
    return box.reply ?? .failure("no reply")
  }

  package static func handle(_ request: ControlRequest, service: any ControlService) async -> ControlReply {
    do throws(AppHostError) {
      switch request.command {
      case .list:
        return ControlReply(resources: await service.list())
      case .restart, .stop, .start, .down:
        let names = request.names ?? []
        guard !names.isEmpty else { return .failure("\(request.command.rawValue): name at least one resource") }
        return ControlReply(affected: try await service.perform(request.command, names: names))
      case .env:
        guard let name = request.name else { return .failure("env: name a program") }
        return ControlReply(environment: try await service.environment(of: name))
      case .subscribe:
        return .failure("subscribe is answered by the connection")
      case .apply:
        let changes = try await service.apply()
        return ControlReply(affected: changes.filter { $0.kind != .failed }.map(\.name), changes: changes)
      }
    } catch {
      return .failure(error.errorDescription ?? "\(error)")
    }
  }

  private final class ReplyBox: @unchecked Sendable {
    var reply: ControlReply?
  }
}

/// Hands every state change to whoever subscribed (control clients, `up --json`), and turns the
/// orchestration's events into `ControlEvent`s.
package final class EventHub: @unchecked Sendable {
  private let lock = NSLock()
  private var subscribers: [Int: @Sendable (ControlEvent) -> Void] = [:]
  private var nextToken = 0
  /// `web-1` → (`web`, 1): the processes of programs (container resources are their own process).
  private var processes: [String: (resource: String, replica: Int)]
  /// Restarts so far per process, for `attempt`.
  private var attempts: [String: Int] = [:]
  /// The last state change of each process.
  private var latest: [String: ControlEvent] = [:]

  /// Processes whose readiness is a check of their own (they say `ready` when it passes, not when started).
  private var checked: Set<String> = []

  package init(processes: [String: (resource: String, replica: Int)] = [:], checked: Set<String> = []) {
    self.processes = processes
    self.checked = checked
  }

  /// The processes of a plan's programs, by display name.
  package convenience init(plan: Plan) {
    self.init(processes: Self.processes(of: plan), checked: Self.checked(plan))
  }

  private static func checked(_ plan: Plan) -> Set<String> {
    var names: Set<String> = []
    for executable in plan.executables where executable.readiness != .started || executable.isTask {
      for replica in 0..<executable.replicas { names.insert(executable.displayName(replica: replica)) }
    }
    return names
  }

  private static func processes(of plan: Plan) -> [String: (resource: String, replica: Int)] {
    var processes: [String: (resource: String, replica: Int)] = [:]
    for executable in plan.executables {
      for replica in 0..<executable.replicas {
        processes[executable.displayName(replica: replica)] = (executable.resource, replica)
      }
    }
    return processes
  }

  /// The programs of a plan the session grew to (`apply`).
  package func register(_ plan: Plan) {
    let added = Self.processes(of: plan)
    lock.lock()
    processes.merge(added) { _, new in new }
    checked.formUnion(Self.checked(plan))
    lock.unlock()
  }

  @discardableResult
  package func subscribe(_ receive: @escaping @Sendable (ControlEvent) -> Void) -> Int {
    lock.lock()
    defer { lock.unlock() }
    nextToken += 1
    subscribers[nextToken] = receive
    return nextToken
  }

  package func unsubscribe(_ token: Int) {
    lock.lock()
    subscribers[token] = nil
    lock.unlock()
  }

  /// The last change of a process (a container resource, or `web-1`).
  package func latest(_ process: String) -> ControlEvent? {
    lock.lock()
    defer { lock.unlock() }
    return latest[process]
  }

  /// Publishes the state changes an orchestration event is, if it is any.
  package func publish(_ event: RunEvent) {
    for change in stateChanges(event) { publish(change) }
  }

  package func publish(_ change: ControlEvent) {
    lock.lock()
    latest[change.process] = change
    let receivers = subscribers.sorted { $0.key < $1.key }.map(\.value)
    lock.unlock()
    for receive in receivers { receive(change) }
  }

  /// The `ControlEvent`s of an orchestration event (none for output, notes, removals of leftovers...).
  package func stateChanges(_ event: RunEvent) -> [ControlEvent] {
    lock.lock()
    let known = processes
    let withChecks = checked
    lock.unlock()
    func make(_ type: ControlEvent.Kind, _ name: String) -> ControlEvent {
      let process = known[name]
      var change = ControlEvent(type: type, resource: process?.resource ?? name, process: name)
      change.replica = process?.replica
      return change
    }
    switch event {
    case .creating(let resource, _), .recreating(let resource, _), .starting(let resource):
      return [make(.starting, resource)]
    case .ready(let resource, let address, _):
      var change = make(.ready, resource)
      change.endpoint = address
      return [change]
    case .started(let name, let pid):
      var starting = make(.starting, name)
      starting.pid = pid
      // A program without a readiness check (`"readiness": "none"`, the default without endpoints) is
      // ready once it started; the others say `ready` when their check passes (`.ready`), tasks never.
      if withChecks.contains(name) { return [starting] }
      var ready = starting
      ready.type = .ready
      return [starting, ready]
    case .exited(let name, let code):
      var change = make(.exited, name)
      change.exitCode = code
      return [change]
    case .restarting(let name, let after):
      lock.lock()
      attempts[name, default: 0] += 1
      let attempt = attempts[name] ?? 1
      lock.unlock()
      var change = make(.restarting, name)
      change.attempt = attempt
      change.delaySeconds = after
      return [change]
    case .stopped(let name, let code):
      var change = make(.stopped, name)
      change.exitCode = code
      return [change]
    case .removed(let resource, _):
      return [make(.stopped, resource)]
    case .failed(let failure) where known[failure.resource] != nil:
      // A program that could not be started at all.
      var change = make(.exited, failure.resource)
      change.reason = failure.reason
      return [change]
    default:
      return []
    }
  }
}
