import AppHostKit
import Foundation

/// A connection to one cache for the cache tools: the core's RESP client (`Connection`), authenticated
/// with the password apphost keeps, every call with a deadline.
final class CacheClient: Sendable {
  let address: String
  private let connection: Connection
  static let timeout: Duration = .seconds(10)

  private init(address: String, connection: Connection) {
    self.address = address
    self.connection = connection
  }

  static func connect(host: String, port: Int, password: String?, user: String?, tls: TLSClient? = nil)
    async throws(ToolError)
    -> CacheClient
  {
    let address = "\(host):\(port)"
    return try await Blocking.run { () throws(ToolError) -> CacheClient in
      let connection: Connection
      var refusal: String?
      do throws(Connection.Failure) {
        connection = try Connection.open(host: host, port: port, timeout: .seconds(5), tls: tls)
        refusal = try connection.authenticate(password: password, user: user, timeout: timeout)
      } catch {
        throw ToolError("the cache at \(address) cannot be reached: \(error.description)")
      }
      if let refusal {
        connection.close()
        throw ToolError("the cache at \(address) refused apphost's password: \(refusal)")
      }
      return CacheClient(address: address, connection: connection)
    }
  }

  /// One command and its reply.
  func call(_ words: [String]) async throws(ToolError) -> RESPValue {
    try await pipeline([words])[0]
  }

  /// Several commands in one write, their replies in order.
  func pipeline(_ commands: [[String]]) async throws(ToolError) -> [RESPValue] {
    let connection = self.connection
    let address = self.address
    return try await Blocking.run { () throws(ToolError) -> [RESPValue] in
      do throws(Connection.Failure) {
        try connection.send(commands.flatMap(RESP.encode), timeout: Self.timeout)
        var replies: [RESPValue] = []
        for _ in commands {
          guard let reply = try connection.readValue(timeout: Self.timeout) else { throw .timedOut }
          replies.append(reply)
        }
        return replies
      } catch {
        throw ToolError("the cache at \(address) did not answer: \(error.description)")
      }
    }
  }

  /// Sends MONITOR and collects what the server sends until `duration` passes or `limit` lines came.
  func monitor(for duration: Duration, limit: Int) async throws(ToolError) -> (lines: [String], full: Bool) {
    let connection = self.connection
    let address = self.address
    return try await Blocking.run { () throws(ToolError) -> ([String], Bool) in
      var refusal: String?
      var lines: [String] = []
      do throws(Connection.Failure) {
        let reply = try connection.call(["MONITOR"], timeout: Self.timeout)
        if case .error(let message) = reply { refusal = message }
        let deadline = ContinuousClock.now + duration
        while refusal == nil && lines.count < limit {
          let remaining = deadline - .now
          if remaining <= .zero { break }
          guard let value = try connection.readValue(timeout: remaining) else { break }
          if let text = value.text { lines.append(text) }
        }
      } catch {
        throw ToolError("the cache at \(address) did not answer: \(error.description)")
      }
      if let refusal { throw ToolError("MONITOR was refused: \(refusal)") }
      return (lines, lines.count >= limit)
    }
  }

  func close() { connection.close() }
}

/// What a tool reports as its failure (an `isError` reply), in words for the agent.
struct ToolError: Error, Sendable, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
  init(_ error: AppHostError) { self.description = error.errorDescription ?? "\(error)" }
}
