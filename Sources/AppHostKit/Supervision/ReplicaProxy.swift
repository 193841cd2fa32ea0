import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Replicas behind one port: apphost listens on the endpoint's port (127.0.0.1) and hands each new
/// connection to the next ready replica's own port, round robin, as Aspire's proxy does. Bytes are copied
/// both ways until either side closes. Runs in the supervising process (a foreground `up`, or the background
/// supervisor of `up -d`), with blocking sockets on threads of its own: no async machinery in the byte path.
package final class ReplicaProxy: @unchecked Sendable {
  package let endpoint: String
  package let port: Int
  /// Replica display names and their own ports, in replica order.
  package let backends: [(name: String, port: Int)]
  private let lock = NSLock()
  private var ready: Set<String> = []
  private var next = 0
  private var listener: Int32 = -1
  private var stopped = false

  package init(endpoint: String, port: Int, backends: [(name: String, port: Int)]) {
    self.endpoint = endpoint
    self.port = port
    self.backends = backends
  }

  package func setReady(_ name: String, _ isReady: Bool) {
    lock.lock()
    defer { lock.unlock() }
    if isReady { ready.insert(name) } else { ready.remove(name) }
  }

  /// The ports of the ready replicas, starting with the next one's turn.
  package func nextPorts() -> [Int] {
    lock.lock()
    defer { lock.unlock() }
    let ports = backends.filter { ready.contains($0.name) }.map(\.port)
    guard !ports.isEmpty else { return [] }
    let start = next % ports.count
    next += 1
    return Array(ports[start...] + ports[..<start])
  }

  /// Listens on the port; nil on success, else why not.
  package func start() -> String? {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { return "no socket: \(String(cString: strerror(errno)))" }
    var yes: Int32 = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = LocalPorts.loopback(port: port)
    let bound = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    guard bound, listen(descriptor, 128) == 0 else {
      let reason = String(cString: strerror(errno))
      close(descriptor)
      return "127.0.0.1:\(port): \(reason)"
    }
    lock.lock()
    listener = descriptor
    lock.unlock()
    let thread = Thread { [self] in acceptLoop(descriptor) }
    thread.name = "apphost proxy \(endpoint)"
    thread.start()
    return nil
  }

  package func stop() {
    lock.lock()
    stopped = true
    let descriptor = listener
    listener = -1
    lock.unlock()
    if descriptor >= 0 {
      shutdown(descriptor, Int32(SHUT_RDWR))
      close(descriptor)
    }
  }

  private var isStopped: Bool {
    lock.lock()
    defer { lock.unlock() }
    return stopped
  }

  private func acceptLoop(_ descriptor: Int32) {
    while !isStopped {
      let client = accept(descriptor, nil, nil)
      if client < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        return
      }
      _ = fcntl(client, F_SETFD, FD_CLOEXEC)
      let ports = nextPorts()
      Thread { Self.serve(client, ports: ports) }.start()
    }
  }

  /// Connects to the first replica that accepts and copies bytes both ways; a client no replica takes is
  /// closed (as a refused connection would be).
  private static func serve(_ client: Int32, ports: [Int]) {
    var backend: Int32 = -1
    for port in ports {
      let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      guard descriptor >= 0 else { continue }
      var address = LocalPorts.loopback(port: port)
      let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
      }
      if connected {
        backend = descriptor
        break
      }
      close(descriptor)
    }
    guard backend >= 0 else {
      close(client)
      return
    }
    let done = DispatchSemaphore(value: 0)
    let server = backend
    Thread {
      copy(from: server, to: client)
      done.signal()
    }.start()
    copy(from: client, to: server)
    done.wait()
    close(client)
    close(server)
  }

  private static func copy(from source: Int32, to target: Int32) {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    outer: while true {
      let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      var offset = 0
      while offset < count {
        let written = buffer.withUnsafeBytes {
          send(target, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL))
        }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { break outer }
        offset += written
      }
    }
    shutdown(target, Int32(SHUT_WR))
  }
}

/// The proxies of a run: one for each endpoint of a program with replicas, kept up to date from the
/// supervisor's events (a replica is in the rotation from `ready` until it exits or stops).
package final class ReplicaProxies: Sendable {
  package let proxies: [ReplicaProxy]
  private let readyAtStart: Set<String>

  package init(specs: [ProcessSpec], plan: Plan) {
    var proxies: [ReplicaProxy] = []
    for executable in plan.executables where executable.replicas > 1 {
      let copies = specs.filter { $0.resource == executable.resource }
      for endpoint in executable.endpoints {
        guard let port = copies.first?.sharedPorts[endpoint.name] else { continue }
        let backends = copies.compactMap { copy in
          copy.port(of: endpoint.name).map { (name: copy.displayName, port: $0) }
        }
        proxies.append(ReplicaProxy(endpoint: endpoint.key, port: port, backends: backends))
      }
    }
    self.proxies = proxies
    readyAtStart = Set(specs.filter { $0.readiness == .started }.map(\.displayName))
  }

  /// Starts every proxy; a port that cannot be served is said as a note.
  package func start(events: EventSink) {
    for proxy in proxies {
      if let problem = proxy.start() {
        events(.note("\(proxy.endpoint): cannot serve the replicas' shared port: \(problem)"))
      }
    }
  }

  package func stop() {
    for proxy in proxies { proxy.stop() }
  }

  /// `events`, with the proxies following the replicas' readiness.
  package func observing(_ events: @escaping EventSink) -> EventSink {
    guard !proxies.isEmpty else { return events }
    let proxies = self.proxies
    let readyAtStart = self.readyAtStart
    return { event in
      switch event {
      case .ready(let name, _, _):
        for proxy in proxies { proxy.setReady(name, true) }
      case .started(let name, _) where readyAtStart.contains(name):
        for proxy in proxies { proxy.setReady(name, true) }
      case .exited(let name, _), .stopping(let name), .restarting(let name, _):
        for proxy in proxies { proxy.setReady(name, false) }
      default:
        break
      }
      events(event)
    }
  }
}
