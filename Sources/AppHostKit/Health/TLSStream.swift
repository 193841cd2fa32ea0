import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(Glibc)
  import Glibc
#endif

/// How apphost's own RESP client checks a TLS server: against a CA file (a `"tls": true` cache: the
/// project's CA, `.apphost/tls/ca.crt`), or the system's trust store (a `rediss://` connection string).
package struct TLSClient: Sendable, Hashable {
  /// A PEM file of the certificates to trust; nil: the system's.
  package var caFile: String?
  /// The name the certificate must carry (and the SNI sent); nil: the address connected to.
  package var serverName: String?

  package init(caFile: String?, serverName: String? = nil) {
    self.caFile = caFile
    self.serverName = serverName
  }

  /// A cache of this project with `"tls": true`, reached at 127.0.0.1 (its certificate carries that address).
  package static func project(_ state: StateDirectory) -> TLSClient {
    TLSClient(caFile: ProjectCertificates(state: state).caCertificatePath)
  }

  /// Contexts by settings and the CA file's change time: loading trust roots costs more than a readiness
  /// check that polls every 10 ms, and a CA made again (a long `up`, the MCP server) is read again.
  nonisolated(unsafe) private static var contexts: [String: NIOSSLContext] = [:]
  private static let contextsLock = NSLock()

  func context() throws -> NIOSSLContext {
    var key = "\(caFile ?? "(system)")"
    if let caFile {
      var status = stat()
      if stat(caFile, &status) == 0 {
        key += ":\(status.st_ino):\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec):\(status.st_size)"
      }
    }
    Self.contextsLock.lock()
    defer { Self.contextsLock.unlock() }
    if let context = Self.contexts[key] { return context }
    var configuration = TLSConfiguration.makeClientConfiguration()
    if let caFile { configuration.trustRoots = .file(caFile) }
    configuration.certificateVerification = .fullVerification
    let context = try NIOSSLContext(configuration: configuration)
    Self.contexts[key] = context
    return context
  }
}

/// TLS over a connected socket, for `Connection`: swift-nio-ssl's client handler on a NIO channel that
/// takes the socket over, and the blocking, deadline-bound reads and writes `Connection` offers on top.
final class TLSStream: @unchecked Sendable {
  private let channel: Channel
  private let inbox: Inbox

  private init(channel: Channel, inbox: Inbox) {
    self.channel = channel
    self.inbox = inbox
  }

  /// Takes `descriptor` (connected; NIO closes it from now on) and completes the handshake by `deadline`.
  static func start(descriptor: Int32, settings: TLSClient, deadline: ContinuousClock.Instant) throws(Connection
    .Failure) -> TLSStream
  {
    let inbox = Inbox()
    let channel: Channel
    do {
      let context = try settings.context()
      let serverName = settings.serverName.flatMap { name in
        // An address is checked against the certificate's IP names, and is no SNI.
        (try? SocketAddress(ipAddress: name, port: 0)) == nil ? name : nil
      }
      let future = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.pipeline.syncOperations.addHandler(inbox)
          }
        }
        .withConnectedSocket(descriptor)
      channel = try Self.wait(for: future, until: deadline)
    } catch Connection.Failure.timedOut {
      throw .system("the TLS handshake got no answer in time")
    } catch let failure as Connection.Failure {
      Glibc.close(descriptor)
      throw failure
    } catch {
      Glibc.close(descriptor)
      throw .system("TLS could not start: \(error)")
    }
    let stream = TLSStream(channel: channel, inbox: inbox)
    do {
      try inbox.waitForHandshake(until: deadline)
    } catch {
      stream.close()
      throw error
    }
    return stream
  }

  private static func wait<T: Sendable>(for future: EventLoopFuture<T>, until deadline: ContinuousClock.Instant)
    throws -> T
  {
    let done = DispatchSemaphore(value: 0)
    let result = ResultBox<T>()
    future.whenComplete { outcome in
      result.set(outcome)
      done.signal()
    }
    let remaining = max(deadline - .now, .zero)
    let nanoseconds = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
    guard done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success else {
      throw Connection.Failure.timedOut
    }
    return try result.get()
  }

  private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?

    func set(_ outcome: Result<T, Error>) {
      lock.lock()
      result = outcome
      lock.unlock()
    }

    func get() throws -> T {
      lock.lock()
      defer { lock.unlock() }
      return try result!.get()
    }
  }

  func send(_ bytes: [UInt8], timeout: Duration) throws(Connection.Failure) {
    if let failure = inbox.failure { throw failure }
    let future = channel.writeAndFlush(ByteBuffer(bytes: bytes))
    do {
      try Self.wait(for: future, until: .now + timeout)
    } catch let failure as Connection.Failure {
      throw failure
    } catch {
      throw inbox.failure ?? .closed
    }
  }

  /// The bytes that arrived, waiting for some until `deadline`; nil when none came by then.
  func receive(until deadline: ContinuousClock.Instant) throws(Connection.Failure) -> [UInt8]? {
    try inbox.take(until: deadline)
  }

  func close() {
    channel.close(promise: nil)
  }

  /// What the channel delivers, handed to the blocking side under a lock.
  private final class Inbox: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let condition = NSCondition()
    private var bytes: [UInt8] = []
    private var handshakeDone = false
    private var failed: Connection.Failure?

    var failure: Connection.Failure? {
      condition.lock()
      defer { condition.unlock() }
      return bytes.isEmpty ? failed : nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      let buffer = unwrapInboundIn(data)
      condition.lock()
      bytes += buffer.readableBytesView
      condition.broadcast()
      condition.unlock()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
      if case .handshakeCompleted = event as? TLSUserEvent {
        condition.lock()
        handshakeDone = true
        condition.broadcast()
        condition.unlock()
      }
      context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
      record(Self.failure(error))
      context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
      record(.closed)
    }

    private func record(_ failure: Connection.Failure) {
      condition.lock()
      if failed == nil { failed = failure }
      condition.broadcast()
      condition.unlock()
    }

    /// Why TLS failed, as the server's user would say it.
    static func failure(_ error: Error) -> Connection.Failure {
      if let error = error as? NIOSSLError {
        switch error {
        case .handshakeFailed(let reason):
          let text = "\(reason)"
          if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return .system("TLS handshake failed: the server does not speak TLS on this port")
          }
          if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return .system("TLS handshake failed: the server's certificate is not signed by the trusted CA")
          }
          return .system("TLS handshake failed: \(text)")
        case .uncleanShutdown:
          return .closed
        default:
          return .system("TLS failed: \(error)")
        }
      }
      if let error = error as? NIOSSLExtraError { return .system("TLS handshake failed: \(error)") }
      if let error = error as? IOError, error.errnoCode == ECONNRESET || error.errnoCode == EPIPE { return .closed }
      return .system("TLS failed: \(error)")
    }

    func waitForHandshake(until deadline: ContinuousClock.Instant) throws(Connection.Failure) {
      condition.lock()
      defer { condition.unlock() }
      while !handshakeDone {
        if let failed {
          throw failed == .closed ? .system("the server closed the connection during the TLS handshake") : failed
        }
        // Not `.timedOut`: that is a connect no one answered, and the TCP connect was answered.
        guard wait(until: deadline) else { throw .system("the TLS handshake got no answer in time") }
      }
    }

    func take(until deadline: ContinuousClock.Instant) throws(Connection.Failure) -> [UInt8]? {
      condition.lock()
      defer { condition.unlock() }
      while bytes.isEmpty {
        if let failed { throw failed }
        guard wait(until: deadline) else { return nil }
      }
      defer { bytes = [] }
      return bytes
    }

    /// Waits on the condition (locked) until signalled or `deadline`; false when the deadline has passed.
    private func wait(until deadline: ContinuousClock.Instant) -> Bool {
      let remaining = deadline - .now
      guard remaining > .zero else { return false }
      let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
      _ = condition.wait(until: Date().addingTimeInterval(seconds))
      return true
    }
  }
}
