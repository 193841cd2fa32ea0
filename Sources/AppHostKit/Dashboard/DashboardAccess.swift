import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Who may see the dashboard: whoever holds the token of this run. The token is 32 random bytes
/// (SystemRandomNumberGenerator) in hex, new on every `up`; the first visit brings it as `?token=` and
/// gets it back as a cookie (HttpOnly, SameSite=Strict); every page, stream and action needs one of
/// them. Actions are POSTs that also carry `X-Apphost-Action: 1`, a header a form or a page of another
/// site cannot send here without CORS, which the dashboard never grants.
package enum DashboardAccess {
  package static let cookieName = "apphost_dashboard"
  package static let actionHeader = "X-Apphost-Action"
  package static let tokenVariable = "APPHOST_DASHBOARD_TOKEN"
  package static let portVariable = "APPHOST_DASHBOARD_PORT"

  /// 32 random bytes, 64 hex digits.
  package static func newToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
  }

  /// Compares in time that depends on the lengths only, never on where the first difference is.
  package static func constantTimeEqual(_ given: String, _ expected: String) -> Bool {
    let a = Array(given.utf8)
    let b = Array(expected.utf8)
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<b.count {
      difference |= (index < a.count ? a[index] : 0) ^ b[index]
    }
    return difference == 0
  }

  /// The value of the dashboard's cookie in a `Cookie` header.
  package static func cookieToken(_ header: String?) -> String? {
    guard let header else { return nil }
    for part in header.split(separator: ";") {
      let pair = part.trimmingCharacters(in: .whitespaces)
      if pair.hasPrefix(cookieName + "=") { return String(pair.dropFirst(cookieName.count + 1)) }
    }
    return nil
  }

  /// What to do with a request.
  package enum Decision: Sendable, Equatable {
    /// Serve it.
    case allow
    /// The token came in the address: set the cookie and send the browser to the address without it.
    case setCookie(redirect: String)
    /// No token, or a wrong one: 401.
    case unauthorized
    /// An action without its header, or not a POST: 403.
    case forbidden(String)
  }

  /// The decision for a request: its method, path, `?token=`, `Cookie` header and action header.
  package static func decide(
    method: String, path: String, queryToken: String?, cookie: String?, actionHeader: String?, expected: String,
    isAction: Bool
  ) -> Decision {
    let fromCookie = cookieToken(cookie).map { constantTimeEqual($0, expected) } ?? false
    let fromQuery = queryToken.map { constantTimeEqual($0, expected) } ?? false
    guard fromCookie || fromQuery else { return .unauthorized }
    if isAction {
      guard method == "POST" else { return .forbidden("actions are POST requests") }
      guard actionHeader == "1" else {
        return .forbidden("actions need the \(Self.actionHeader) header the page sends")
      }
      return .allow
    }
    if fromQuery && method == "GET" { return .setCookie(redirect: path) }
    return .allow
  }

  /// The `Set-Cookie` value for the token.
  package static func cookie(_ token: String) -> String {
    "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict"
  }
}

/// The running dashboard of a project, in `.apphost/dashboard.json` (0600): its port stays for the next
/// run (a stable address to bookmark), the token and pid are this run's.
package struct DashboardRecord: Codable, Sendable, Equatable {
  package var port: Int
  package var token: String?
  /// The process serving it (the dashboard), while it runs.
  package var pid: Int32?

  package init(port: Int, token: String? = nil, pid: Int32? = nil) {
    self.port = port
    self.token = token
    self.pid = pid
  }

  package var url: String { "http://127.0.0.1:\(port)/" }
  /// The address with the login token, printed once.
  package var loginURL: String { token.map { "\(url)?token=\($0)" } ?? url }

  package static func path(_ state: StateDirectory) -> String {
    (state.path as NSString).appendingPathComponent("dashboard.json")
  }

  package static func load(_ state: StateDirectory) -> DashboardRecord? {
    guard let data = FileManager.default.contents(atPath: path(state)) else { return nil }
    return try? JSONDecoder().decode(DashboardRecord.self, from: data)
  }

  package func save(_ state: StateDirectory) throws(AppHostError) {
    try state.create()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = (try? encoder.encode(self)) ?? Data()
    try writeFileAtomically(Self.path(state), contents: Array(data), mode: 0o600, durable: false)
  }

  /// The port for this run: the one of the last run while it is free, else 18888 (or the next free
  /// one after it), else one `LocalPorts.pick` chooses.
  package static func choosePort(_ state: StateDirectory) -> Int {
    var candidates: [Int] = []
    if let last = load(state)?.port { candidates.append(last) }
    candidates += Array(preferredPorts)
    for port in candidates where isFree(port) { return port }
    return (try? LocalPorts.pick()) ?? 18888
  }

  /// 18888 (Aspire's dashboard port) and the nine after it: never given to anything else apphost picks.
  package static let preferredPorts = 18888..<18898

  /// Whether 127.0.0.1:port can be bound now.
  package static func isFree(_ port: Int) -> Bool { LocalPorts.isFree(port) }
}

/// Which variables of a program's environment the dashboard masks until a reveal: names that say
/// secret, and values that hold a cache's password (a URL with it, or the password itself).
package enum SecretMask {
  package static func isSecret(name: String, value: String, passwords: [String]) -> Bool {
    let upper = name.uppercased()
    for word in ["PASSWORD", "SECRET", "TOKEN", "PASSWD", "CREDENTIAL", "APIKEY", "API_KEY", "PRIVATE"]
    where upper.contains(word) {
      return true
    }
    return passwords.contains { !$0.isEmpty && value.contains($0) }
  }

  /// The value as the page shows it before a reveal: every password replaced by dots.
  package static func masked(_ value: String, name: String, passwords: [String]) -> String {
    var result = value
    var replaced = false
    for password in passwords where !password.isEmpty && result.contains(password) {
      result = result.replacingOccurrences(of: password, with: "••••••")
      replaced = true
    }
    return replaced ? result : "••••••"
  }
}

/// A cache's facts from INFO that the dashboard charts.
package struct CacheFacts: Codable, Sendable, Equatable {
  package var keys: Int
  package var usedMemory: Int
  package var connectedClients: Int
  package var opsPerSecond: Int
  package var version: String?

  /// Reads INFO's text (`field:value` lines, `db0:keys=3,expires=0,...`).
  package static func parse(_ info: String) -> CacheFacts {
    var facts = CacheFacts(keys: 0, usedMemory: 0, connectedClients: 0, opsPerSecond: 0)
    for raw in info.split(whereSeparator: \.isNewline) {
      let line = raw.trimmingCharacters(in: .whitespaces)
      guard let colon = line.firstIndex(of: ":") else { continue }
      let field = String(line[..<colon])
      let value = String(line[line.index(after: colon)...])
      switch field {
      case "used_memory": facts.usedMemory = Int(value) ?? facts.usedMemory
      case "connected_clients": facts.connectedClients = Int(value) ?? facts.connectedClients
      case "instantaneous_ops_per_sec": facts.opsPerSecond = Int(value) ?? facts.opsPerSecond
      case "redis_version", "valkey_version", "garnet_version":
        if facts.version == nil || field != "redis_version" { facts.version = value }
      default:
        if field.hasPrefix("db"), Int(field.dropFirst(2)) != nil {
          for pair in value.split(separator: ",") where pair.hasPrefix("keys=") {
            facts.keys += Int(pair.dropFirst(5)) ?? 0
          }
        }
      }
    }
    return facts
  }
}
