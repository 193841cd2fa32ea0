import Foundation

/// Where a cache is reached and how: what a `connectionString` resource's value says, in either of the
/// two formats users have: StackExchange.Redis (`host:port,password=x,ssl=true`) or a URI
/// (`redis://:x@host:port/0`, `rediss://` for TLS, `valkey://`).
package struct ConnectionEndpoint: Sendable, Equatable {
  package var host: String
  package var port: Int
  package var user: String?
  package var password: String?
  package var tls: Bool
  /// The database a URI's path (`/2`) or `defaultDatabase=2` names; nil when it names none.
  package var database: Int?

  package init(
    host: String, port: Int, user: String? = nil, password: String? = nil, tls: Bool = false, database: Int? = nil
  ) {
    self.host = host
    self.port = port
    self.user = user
    self.password = password
    self.tls = tls
    self.database = database
  }

  package static let defaultPort = 6379

  /// Parses a connection string; the error says what is missing, readable after "the value ...".
  package static func parse(_ text: String) -> Result<ConnectionEndpoint, ConnectionStringError> {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if let schemeEnd = trimmed.range(of: "://") {
      return parseURI(trimmed, scheme: trimmed[..<schemeEnd.lowerBound].lowercased())
    }
    return parseKeyValueFormat(trimmed)
  }

  private static func parseURI(_ text: String, scheme: String) -> Result<ConnectionEndpoint, ConnectionStringError> {
    let schemes = ["redis": false, "rediss": true, "valkey": false, "valkeys": true]
    guard let tls = schemes[scheme] else {
      return .failure(
        ConnectionStringError(
          "has the scheme \(quoted(scheme + "://")); use redis://, rediss://, valkey:// or valkeys://"))
    }
    var rest = Substring(text.dropFirst(scheme.count + 3))
    var database: Int?
    if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
      if rest[end] == "/" {
        let path = rest[rest.index(after: end)...].prefix { $0 != "?" && $0 != "#" }
        if !path.isEmpty {
          guard let number = Int(path), number >= 0 else {
            return .failure(
              ConnectionStringError(
                "has the path \(quoted("/" + String(path))); a path names a database by its number, /0 for example"))
          }
          database = number
        }
      }
      rest = rest[..<end]
    }
    var user: String?
    var password: String?
    if let at = rest.lastIndex(of: "@") {
      let credentials = rest[..<at]
      rest = rest[rest.index(after: at)...]
      if let colon = credentials.firstIndex(of: ":") {
        let name = percentDecoded(String(credentials[..<colon]))
        user = name.isEmpty ? nil : name
        password = percentDecoded(String(credentials[credentials.index(after: colon)...]))
      } else {
        // redis://secret@host is read by most clients as a password.
        password = percentDecoded(String(credentials))
      }
    }
    return endpoint(hostAndPort: rest).map {
      ConnectionEndpoint(host: $0.host, port: $0.port, user: user, password: password, tls: tls, database: database)
    }
  }

  private static func parseKeyValueFormat(_ text: String) -> Result<ConnectionEndpoint, ConnectionStringError> {
    var endpoints: [Substring] = []
    var user: String?
    var password: String?
    var tls = false
    var database: Int?
    for item in text.split(separator: ",", omittingEmptySubsequences: true) {
      let item = item.trimmingCharacters(in: .whitespaces)
      guard let equals = item.firstIndex(of: "=") else {
        endpoints.append(Substring(item))
        continue
      }
      let key = item[..<equals].lowercased()
      let value = String(item[item.index(after: equals)...])
      switch key {
      case "password": password = value
      case "user": user = value
      case "ssl": tls = value.lowercased() == "true"
      case "defaultdatabase":
        guard let number = Int(value.trimmingCharacters(in: .whitespaces)), number >= 0 else {
          return .failure(
            ConnectionStringError("has defaultDatabase=\(value); a database is named by its number, 0 for example"))
        }
        database = number
      default: break
      }
    }
    guard let first = endpoints.first else {
      return .failure(ConnectionStringError("names no host; write host:port, for example cache.example:6379"))
    }
    return endpoint(hostAndPort: first).map {
      ConnectionEndpoint(host: $0.host, port: $0.port, user: user, password: password, tls: tls, database: database)
    }
  }

  private static func endpoint(hostAndPort: Substring) -> Result<(host: String, port: Int), ConnectionStringError> {
    var host = hostAndPort
    var portText: Substring?
    if host.hasPrefix("[") {
      // [::1]:6379
      guard let close = host.firstIndex(of: "]") else {
        return .failure(ConnectionStringError("has an IPv6 address without its closing ']'"))
      }
      let after = host[host.index(after: close)...]
      if after.hasPrefix(":") { portText = after.dropFirst() }
      host = host[host.index(after: host.startIndex)..<close]
    } else if let colon = host.lastIndex(of: ":"), host.filter({ $0 == ":" }).count == 1 {
      portText = host[host.index(after: colon)...]
      host = host[..<colon]
    }
    guard !host.isEmpty else {
      return .failure(ConnectionStringError("names no host; write host:port, for example cache.example:6379"))
    }
    guard let portText else { return .success((String(host), defaultPort)) }
    guard let port = Int(portText), (1...65535).contains(port) else {
      return .failure(
        ConnectionStringError("has the port \(quoted(String(portText))); a port is a number from 1 to 65535"))
    }
    return .success((String(host), port))
  }
}

package struct ConnectionStringError: Error, Sendable, Equatable {
  package var reason: String

  package init(_ reason: String) {
    self.reason = reason
  }
}

/// Decodes `%XX` sequences; invalid sequences stay as written.
package func percentDecoded(_ text: String) -> String {
  text.removingPercentEncoding ?? text
}

/// Encodes a URI's user-info part: everything but unreserved characters.
package func percentEncodedUserInfo(_ text: String) -> String {
  var result = ""
  for byte in text.utf8 {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
      UInt8(ascii: "~"):
      result.unicodeScalars.append(UnicodeScalar(byte))
    default:
      result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
    }
  }
  return result
}

extension String {
  package func leftPadded(to width: Int, with pad: Character = "0") -> String {
    count >= width ? self : String(repeating: pad, count: width - count) + self
  }
}
