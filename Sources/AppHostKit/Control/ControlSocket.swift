import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The unix socket under both ends of the control conversation: its path, its address (also for paths
/// longer than `sun_path` holds), whole lines in and out.
package enum ControlSocket {
  /// `.apphost/control.sock` of the project.
  package static func path(_ state: StateDirectory) -> String {
    (state.path as NSString).appendingPathComponent("control.sock")
  }

  /// Calls `body` with an address for `path`. A path too long for `sun_path` (108 bytes) is reached
  /// through its folder opened and named as `/proc/self/fd/N/control.sock`.
  static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    var name = path
    var folder: Int32 = -1
    if path.utf8.count >= capacity {
      folder = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      name = "/proc/self/fd/\(folder)/\((path as NSString).lastPathComponent)"
    }
    defer { if folder >= 0 { close(folder) } }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      let bytes = Array(name.utf8.prefix(capacity - 1))
      raw.copyBytes(from: bytes)
      raw[bytes.count] = 0
    }
    return withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
  }

  /// The uid of the process at the other end (SO_PEERCRED), nil when it cannot be read.
  static func peerUID(_ descriptor: Int32) -> uid_t? {
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
    var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
    var length = socklen_t(MemoryLayout.size(ofValue: credentials))
    guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
    return credentials.1
  }

  /// Writes all of `bytes`; false when the other end is gone (or stopped reading for the send timeout).
  @discardableResult
  static func write(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
    var rest = bytes[...]
    while !rest.isEmpty {
      let written = rest.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if written < 0 {
        if errno == EINTR { continue }
        return false
      }
      rest = rest.dropFirst(written)
    }
    return true
  }

  /// Whole lines read from a descriptor.
  final class LineReader {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var ended = false

    init(_ descriptor: Int32) { self.descriptor = descriptor }

    /// The next line without its newline; nil at the end of the stream (or after an error).
    func next() -> [UInt8]? {
      while true {
        if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
          let line = Array(buffer[..<newline])
          buffer.removeSubrange(...newline)
          return line
        }
        if ended { return nil }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 {
          ended = true
          if buffer.isEmpty { return nil }
          let line = buffer
          buffer = []
          return line
        }
        buffer += chunk[..<count]
        // A peer that never ends its line does not make the buffer grow without end.
        if buffer.count > 16 << 20 { return nil }
      }
    }
  }

  static func newSocket() -> Int32 {
    socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  }
}
