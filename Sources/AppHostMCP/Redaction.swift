import AppHostKit
import Foundation

/// Replaces every secret of the project (the passwords in `.apphost/secrets.json`, every secret part of
/// the plan, and their percent-encoded forms, as in `NAME_URL`) with `********`. Every reply of the
/// server passes through it last, so that a password a cache echoes (a value that happens to be the
/// password, a MONITOR line, `CONFIG GET requirepass` with `--allow-write`) never reaches the agent.
struct Redactor: Sendable {
  /// Longest first, so that a secret containing another is replaced whole.
  let secrets: [String]

  init(secrets: some Sequence<String>) {
    var forms = Set<String>()
    for secret in secrets where secret.utf8.count >= 3 {
      forms.insert(secret)
      if let encoded = secret.addingPercentEncoding(
        withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~")))
      {
        forms.insert(encoded)
      }
    }
    self.secrets = forms.sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
  }

  /// The project's secrets: what the state folder stores and every secret part of the plan.
  init(plan: Plan, state: StateDirectory) {
    var found: [String] = (try? SecretStore(state: state).load().map(\.value)) ?? []
    func collect(_ value: AppHostKit.Value?) {
      for part in value?.parts ?? [] { if case .secret(let secret) = part { found.append(secret) } }
    }
    for endpoint in plan.endpoints {
      collect(endpoint.password)
      collect(endpoint.connectionString)
      collect(endpoint.url())
      collect(endpoint.uri())
    }
    for executable in plan.executables {
      executable.environment.forEach { collect($0.value) }
      executable.arguments.forEach(collect)
    }
    for container in plan.containers { container.environment.forEach { collect($0.value) } }
    self.init(secrets: found)
  }

  func redact(_ text: String) -> String {
    var text = text
    for secret in secrets where text.contains(secret) {
      text = text.replacingOccurrences(of: secret, with: AppHostKit.Value.mask)
    }
    return text
  }
}

/// The size bounds of replies: each tool names its own in its description; nothing the server sends is
/// larger than `reply`.
enum Bounds {
  /// The most any one reply carries.
  static let reply = 256 * 1024

  /// `text` cut to at most `maxBytes` bytes of UTF-8 (at a character boundary), a note saying how much
  /// was left out and how to see more included.
  static func cut(_ text: String, maxBytes: Int, hint: String = "") -> String {
    let bytes = text.utf8.count
    guard bytes > maxBytes else { return text }
    func note(_ size: Int) -> String {
      "\n[truncated: \(size) of \(bytes) bytes shown\(hint.isEmpty ? "" : "; \(hint)")]"
    }
    // The note's length with the largest number it can hold.
    let kept = prefix(text, maxBytes: max(0, maxBytes - note(bytes).utf8.count))
    return String(kept) + note(kept.utf8.count)
  }

  /// `text` cut to its first `maxBytes` bytes, for a single value inside a reply (a key name, an argument).
  static func clip(_ text: String, maxBytes: Int) -> String {
    guard text.utf8.count > maxBytes else { return text }
    return prefix(text, maxBytes: maxBytes) + "…(\(text.utf8.count) bytes)"
  }

  /// The longest run of whole characters from the start of `text` within `maxBytes` bytes of UTF-8.
  static func prefix(_ text: String, maxBytes: Int) -> Substring {
    var size = 0
    var end = text.startIndex
    while end < text.endIndex {
      let next = text.index(after: end)
      size += text.utf8.distance(from: end, to: next)
      if size > maxBytes { break }
      end = next
    }
    return text[..<end]
  }

  /// An integer argument, clamped to `range`; `fallback` when absent.
  static func clamp(_ value: Int?, _ range: ClosedRange<Int>, default fallback: Int) -> Int {
    min(max(value ?? fallback, range.lowerBound), range.upperBound)
  }
}

/// Arguments of a command whose values are secrets, replaced by `********` wherever a command is shown
/// (MONITOR lines, SLOWLOG entries): `AUTH [user] password`, `HELLO ... AUTH user password`,
/// `CONFIG SET requirepass|masterauth value`, `MIGRATE ... AUTH password | AUTH2 user password`,
/// `ACL SETUSER name >password`.
enum CommandMasking {
  static func mask(_ words: [String]) -> [String] {
    guard let name = words.first?.uppercased() else { return words }
    var words = words
    func hide(_ index: Int) { if index < words.count { words[index] = AppHostKit.Value.mask } }
    switch name {
    case "AUTH":
      for index in 1..<max(words.count, 1) { hide(index) }
    case "HELLO", "MIGRATE":
      for (index, word) in words.enumerated() {
        switch word.uppercased() {
        case "AUTH" where name == "HELLO", "AUTH2":
          hide(index + 1)
          hide(index + 2)
        case "AUTH":
          hide(index + 1)
        default: break
        }
      }
    case "CONFIG" where words.count >= 4 && words[1].uppercased() == "SET":
      var index = 2
      while index + 1 < words.count {
        if ["requirepass", "masterauth", "masteruser"].contains(words[index].lowercased()) { hide(index + 1) }
        index += 2
      }
    case "ACL" where words.count >= 3 && words[1].uppercased() == "SETUSER":
      for index in 3..<words.count where words[index].hasPrefix(">") || words[index].hasPrefix("#") {
        hide(index)
      }
    default: break
    }
    return words
  }
}
