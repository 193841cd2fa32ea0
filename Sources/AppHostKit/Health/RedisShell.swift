/// `apphost cli`: a conversation with a cache over our own RESP client (Garnet's image has no redis-cli),
/// authenticated with the password apphost keeps.
package final class RedisShell: Sendable {
  private let connection: Connection

  private init(connection: Connection) {
    self.connection = connection
  }

  /// Commands after which the server keeps sending: printed until Ctrl-C.
  package static func streams(_ words: [String]) -> Bool {
    ["MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"].contains(words.first?.uppercased() ?? "")
  }

  package static func connect(host: String, port: Int, password: String?, user: String? = nil, tls: TLSClient? = nil)
    async throws(AppHostError) -> RedisShell
  {
    let (connection, refusal) = try await Blocking.run { () throws(AppHostError) -> (Connection, String?) in
      do throws(Connection.Failure) {
        let connection = try Connection.open(host: host, port: port, timeout: .seconds(5), tls: tls)
        return (connection, try connection.authenticate(password: password, user: user, timeout: .seconds(5)))
      } catch {
        throw .cacheUnreachable(address: "\(host):\(port)", reason: error.description)
      }
    }
    if let refusal {
      connection.close()
      throw .cacheRefused(address: "\(host):\(port)", reason: refusal)
    }
    return RedisShell(connection: connection)
  }

  /// Sends a command and waits for its reply, however long it takes (`BLPOP k 0` waits for ever).
  package func execute(_ words: [String]) async throws(AppHostError) -> RESPValue {
    let connection = self.connection
    return try await Blocking.run { () throws(AppHostError) -> RESPValue in
      do throws(Connection.Failure) {
        try connection.send(RESP.encode(words), timeout: .seconds(30))
        while true {
          if let reply = try connection.readValue(timeout: .seconds(1)) { return reply }
        }
      } catch {
        throw .cacheUnreachable(address: "the cache", reason: error.description)
      }
    }
  }

  /// Delivers every value the server sends until the task is cancelled or the connection closes.
  package func stream(_ onValue: @escaping @Sendable (RESPValue) -> Void) async throws(AppHostError) {
    while !Task.isCancelled {
      let connection = self.connection
      let value = try await Blocking.run { () throws(AppHostError) -> RESPValue? in
        do throws(Connection.Failure) {
          return try connection.readValue(timeout: .milliseconds(200))
        } catch {
          throw .cacheUnreachable(address: "the cache", reason: error.description)
        }
      }
      if let value { onValue(value) }
    }
  }

  package func close() {
    connection.close()
  }
}

/// Splits a line typed at the `apphost cli` prompt into words, as redis-cli does: spaces separate,
/// "double quotes" take escapes (\n, \t, \", \\, \xHH), 'single quotes' take \' only.
package func splitCommandLine(_ line: String) -> Result<[String], CommandLineError> {
  var words: [String] = []
  var current: [UInt8] = []
  var inWord = false
  var quote: Character?
  var characters = Array(line)[...]
  while let character = characters.popFirst() {
    if let open = quote {
      if character == open {
        quote = nil
        // A closing quote must end the word.
        if let next = characters.first, next != " " && next != "\t" {
          return .failure(CommandLineError("a closing quote must be followed by a space"))
        }
      } else if character == "\\" && open == "\"", let next = characters.popFirst() {
        switch next {
        case "n": current.append(10)
        case "r": current.append(13)
        case "t": current.append(9)
        case "a": current.append(7)
        case "b": current.append(8)
        case "x":
          let digits = String(characters.prefix(2))
          guard digits.count == 2, let byte = UInt8(digits, radix: 16) else {
            return .failure(CommandLineError("\\x must be followed by two hexadecimal digits"))
          }
          characters = characters.dropFirst(2)
          current.append(byte)
        default: current.append(contentsOf: Array(String(next).utf8))
        }
      } else if character == "\\" && open == "'" && characters.first == "'" {
        characters = characters.dropFirst()
        current.append(UInt8(ascii: "'"))
      } else {
        current.append(contentsOf: Array(String(character).utf8))
      }
    } else if character == " " || character == "\t" {
      if inWord {
        words.append(String(decoding: current, as: UTF8.self))
        current = []
        inWord = false
      }
    } else if character == "\"" || character == "'" {
      quote = character
      inWord = true
    } else {
      current.append(contentsOf: Array(String(character).utf8))
      inWord = true
    }
  }
  if quote != nil { return .failure(CommandLineError("a quote is not closed")) }
  if inWord { words.append(String(decoding: current, as: UTF8.self)) }
  return .success(words)
}

package struct CommandLineError: Error, Equatable {
  package var reason: String

  package init(_ reason: String) {
    self.reason = reason
  }
}

/// A line typed at the prompt without the terminal's escape sequences: arrow, Home, End, function keys
/// (`ESC [ ... X`, `ESC O X`, `ESC X`) are not part of a command and never reach the server.
package func strippingTerminalEscapes(_ line: String) -> String {
  var result = String.UnicodeScalarView()
  var scalars = line.unicodeScalars[...]
  while let scalar = scalars.popFirst() {
    guard scalar == "\u{1B}" else {
      result.append(scalar)
      continue
    }
    guard let kind = scalars.popFirst() else { break }
    switch kind {
    case "[":
      // Control Sequence Introducer: parameter and intermediate bytes, then one final byte (@ to ~).
      while let next = scalars.popFirst(), !(0x40...0x7E).contains(next.value) {}
    case "O":
      _ = scalars.popFirst()
    default:
      break
    }
  }
  return String(result)
}
