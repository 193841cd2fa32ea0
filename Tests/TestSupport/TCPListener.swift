import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP port on 127.0.0.1 held open by the test.
public final class TCPListener: @unchecked Sendable {
  public let descriptor: Int32
  public let port: Int

  public init() throws {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    self.descriptor = descriptor
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    listen(descriptor, 1)
    var bound = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &bound) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    self.port = Int(UInt16(bigEndian: bound.sin_port))
  }

  public func close() {
    Glibc.close(descriptor)
  }

  /// A port on 127.0.0.1 that was free a moment ago.
  public static func freePort() throws -> Int {
    let listener = try TCPListener()
    defer { listener.close() }
    return listener.port
  }

  /// A free port on 127.0.0.1 below the kernel's ephemeral range (32768 and up, where the engines and
  /// `freePort` take theirs) and above the ports apphost chooses (10000–19999, `LocalPorts.stableBand`),
  /// picked at random: for a fixed `hostPort`, which a test running in
  /// parallel would otherwise be free to take between the check and `up`. Never one of `besides` (the
  /// ports a test has already picked for its other resources).
  public static func unassignedPort(besides: [Int] = []) throws -> Int {
    for _ in 0..<200 {
      let port = Int.random(in: 20000..<32000)
      if besides.contains(port) { continue }
      let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { Glibc.close(descriptor) }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = in_port_t(UInt16(port).bigEndian)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      if bound == 0 { return port }
    }
    throw POSIXError(.EADDRINUSE)
  }
}
