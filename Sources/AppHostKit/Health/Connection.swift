import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP connection to 127.0.0.1 with deadlines on every step: what the health checks, `SAVE` before
/// stopping and `apphost cli` use. Blocking calls run on `Blocking.queue`, never on the cooperative
/// threads of Swift concurrency.
package final class Connection: @unchecked Sendable {
  package enum Failure: Error, Equatable, CustomStringConvertible {
    case refused
    case timedOut
    case closed
    case system(String)
    case protocolError(String)

    package var description: String {
      switch self {
      case .refused: "connection refused"
      case .timedOut: "no answer in time"
      case .closed: "the connection was closed"
      case .system(let reason): reason
      case .protocolError(let reason): "unexpected reply: \(reason)"
      }
    }
  }

  private let descriptor: Int32
  private var buffer: [UInt8] = []
  private let lock = NSLock()
  private var isClosed = false
  /// With TLS: the stream that owns the socket from the handshake on.
  private var tls: TLSStream?

  private init(descriptor: Int32) {
    self.descriptor = descriptor
  }

  deinit {
    close()
  }

  /// Connects to `host:port` (an IPv4 address), giving up after `timeout`; with `tls`, the TLS handshake is
  /// part of the connect (and of its `timeout`).
  package static func open(host: String = "127.0.0.1", port: Int, timeout: Duration, tls: TLSClient? = nil)
    throws(Failure) -> Connection
  {
    let deadline = ContinuousClock.now + timeout
    let connection = try openPlain(host: host, port: port, timeout: timeout)
    if var tls {
      if tls.serverName == nil { tls.serverName = host }
      connection.lock.lock()
      // The stream owns the socket now, and closes it.
      connection.isClosed = true
      connection.lock.unlock()
      connection.tls = try TLSStream.start(descriptor: connection.descriptor, settings: tls, deadline: deadline)
    }
    return connection
  }

  private static func openPlain(host: String, port: Int, timeout: Duration) throws(Failure) -> Connection {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw .system(String(cString: strerror(errno))) }
    let connection = Connection(descriptor: descriptor)
    var noDelay: Int32 = 1
    setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
    _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    if inet_pton(AF_INET, host, &address.sin_addr) != 1 {
      // A name (a connection string's host): its first IPv4 address.
      var hints = addrinfo()
      hints.ai_family = AF_INET
      hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
      var results: UnsafeMutablePointer<addrinfo>?
      guard getaddrinfo(host, nil, &hints, &results) == 0, let first = results,
        let resolved = first.pointee.ai_addr
      else { throw .system("\(host) cannot be resolved") }
      defer { freeaddrinfo(results) }
      address.sin_addr = resolved.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
    }
    let result = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    if result != 0 {
      guard errno == EINPROGRESS else {
        throw errno == ECONNREFUSED ? .refused : .system(String(cString: strerror(errno)))
      }
      guard try connection.wait(for: Int16(POLLOUT), until: .now + timeout) else { throw .timedOut }
      var error: Int32 = 0
      var length = socklen_t(MemoryLayout<Int32>.size)
      getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
      if error != 0 { throw error == ECONNREFUSED ? .refused : .system(String(cString: strerror(error))) }
    }
    return connection
  }

  package func close() {
    tls?.close()
    lock.lock()
    defer { lock.unlock() }
    if !isClosed {
      isClosed = true
      Glibc.close(descriptor)
    }
  }

  /// Waits until the socket is ready for `events`; false when the deadline passes.
  private func wait(for events: Int16, until deadline: ContinuousClock.Instant) throws(Failure) -> Bool {
    while true {
      let remaining = deadline - .now
      if remaining <= .zero { return false }
      let milliseconds = Int32(
        min(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1, 1000))
      var entry = pollfd(fd: descriptor, events: events, revents: 0)
      let ready = poll(&entry, 1, milliseconds)
      if ready > 0 { return true }
      if ready < 0 && errno != EINTR { throw .system(String(cString: strerror(errno))) }
    }
  }

  package func send(_ bytes: [UInt8], timeout: Duration) throws(Failure) {
    if let tls { return try tls.send(bytes, timeout: timeout) }
    let deadline = ContinuousClock.now + timeout
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes {
        Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if written > 0 {
        offset += written
      } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
        guard try wait(for: Int16(POLLOUT), until: deadline) else { throw .timedOut }
      } else {
        throw errno == EPIPE || errno == ECONNRESET ? .closed : .system(String(cString: strerror(errno)))
      }
    }
  }

  /// Reads more bytes into the buffer; false when the deadline passed with nothing read.
  private func fill(until deadline: ContinuousClock.Instant) throws(Failure) -> Bool {
    if let tls {
      guard let bytes = try tls.receive(until: deadline) else { return false }
      buffer += bytes
      return true
    }
    guard try wait(for: Int16(POLLIN), until: deadline) else { return false }
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
    if count == 0 { throw .closed }
    if count < 0 {
      if errno == EAGAIN || errno == EINTR { return true }
      throw errno == ECONNRESET ? .closed : .system(String(cString: strerror(errno)))
    }
    buffer += chunk[..<count]
    return true
  }

  /// The next RESP value; nil when `timeout` passes first (a later call continues where this one stopped).
  package func readValue(timeout: Duration) throws(Failure) -> RESPValue? {
    let deadline = ContinuousClock.now + timeout
    while true {
      do {
        if let (value, used) = try RESP.parse(buffer[...]) {
          buffer.removeFirst(used)
          return value
        }
      } catch {
        throw .protocolError("\(error)")
      }
      guard try fill(until: deadline) else { return nil }
    }
  }

  /// Sends a command and reads its reply.
  package func call(_ words: [String], timeout: Duration) throws(Failure) -> RESPValue {
    try send(RESP.encode(words), timeout: timeout)
    guard let reply = try readValue(timeout: timeout) else { throw .timedOut }
    return reply
  }

  /// `AUTH` (with `user` when there is one) when there is a password: the server's refusal, or nil when it
  /// accepted it or there is no password.
  package func authenticate(password: String?, user: String? = nil, timeout: Duration) throws(Failure) -> String? {
    guard let password else { return nil }
    guard
      case .error(let message) = try call(user.map { ["AUTH", $0, password] } ?? ["AUTH", password], timeout: timeout)
    else { return nil }
    return message
  }

  /// Reads an HTTP response's status line and the start of its body.
  package func readHTTPStatus(timeout: Duration) throws(Failure) -> Int {
    let deadline = ContinuousClock.now + timeout
    while !buffer.contains(10) {
      guard try fill(until: deadline) else { throw .timedOut }
    }
    let line = String(decoding: buffer.prefix { $0 != 10 }, as: UTF8.self)
    let parts = line.split(separator: " ")
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
      throw .protocolError(line)
    }
    return status
  }
}

/// Runs blocking work (sockets, waiting for processes) off the cooperative thread pool.
package enum Blocking {
  package static let queue = DispatchQueue(label: "apphost.blocking", attributes: .concurrent)

  package static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
      queue.async {
        continuation.resume(returning: Result { () throws(E) -> T in try body() })
      }
    }
    return try result.get()
  }
}
