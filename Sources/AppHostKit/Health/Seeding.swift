/// Loads a cache's seed commands, only into an empty dataset: `INFO keyspace` first (every database), then
/// the commands in order, pipelined in batches; the first error reply stops it, naming the line.
package enum Seeding {
  package enum Outcome: Sendable, Equatable {
    case seeded(commands: Int)
    /// The dataset was not empty: nothing was sent.
    case skipped(keys: Int)
    case failed(String)
  }

  /// Keys in every database, from `INFO keyspace` (`db0:keys=3,expires=0,...` lines).
  package static func keyCount(inKeyspace info: String) -> Int {
    var total = 0
    for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("db") {
      guard let keys = line.split(separator: ",").first?.split(separator: "=").last, let count = Int(keys) else {
        continue
      }
      total += count
    }
    return total
  }

  static let batch = 256

  package static func seed(
    port: Int, password: String?, tls: TLSClient? = nil, commands: [CacheSeed.Command], source: String,
    timeout: Duration = .seconds(60)
  ) async -> Outcome {
    await Blocking.run { () -> Outcome in
      let replyTimeout = Duration.seconds(10)
      do throws(Connection.Failure) {
        let connection = try Connection.open(port: port, timeout: .seconds(2), tls: tls)
        defer { connection.close() }
        if let message = try connection.authenticate(password: password, timeout: replyTimeout) {
          return .failed("AUTH failed: \(message)")
        }
        let info = try connection.call(["INFO", "keyspace"], timeout: replyTimeout)
        guard case .bulk(let bytes?) = info else { return .failed("INFO keyspace answered \(RESP.render(info))") }
        let keys = keyCount(inKeyspace: String(decoding: bytes, as: UTF8.self))
        if keys > 0 { return .skipped(keys: keys) }
        var index = 0
        while index < commands.count {
          let chunk = commands[index..<min(index + batch, commands.count)]
          try connection.send(chunk.flatMap { RESP.encode($0.words) }, timeout: replyTimeout)
          for command in chunk {
            guard let reply = try connection.readValue(timeout: replyTimeout) else {
              return .failed("\(source):\(command.line): no answer to \(command.words[0])")
            }
            if case .error(let message) = reply {
              return .failed("\(source):\(command.line): \(command.words[0]) failed: \(message)")
            }
          }
          index += chunk.count
        }
        return .seeded(commands: commands.count)
      } catch {
        return .failed(error.description)
      }
    }
  }
}
