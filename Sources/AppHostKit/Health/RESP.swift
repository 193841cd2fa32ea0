/// The Redis serialization protocol: what the health checks, `SAVE` before stopping and `apphost cli`
/// send and read. RESP2 with the RESP3 types servers send when asked (`HELLO 3`).
package indirect enum RESPValue: Sendable, Equatable {
  case simple(String)
  case error(String)
  case integer(Int)
  case bulk([UInt8]?)
  case array([RESPValue]?)
  // RESP3
  case null
  case double(String)
  case boolean(Bool)
  case map([(RESPValue, RESPValue)])
  case set([RESPValue])
  case push([RESPValue])
  case verbatim(String)
  case bigNumber(String)

  package static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
    switch (lhs, rhs) {
    case (.simple(let a), .simple(let b)), (.error(let a), .error(let b)), (.double(let a), .double(let b)),
      (.verbatim(let a), .verbatim(let b)), (.bigNumber(let a), .bigNumber(let b)):
      a == b
    case (.integer(let a), .integer(let b)): a == b
    case (.bulk(let a), .bulk(let b)): a == b
    case (.array(let a), .array(let b)): a == b
    case (.null, .null): true
    case (.boolean(let a), .boolean(let b)): a == b
    case (.set(let a), .set(let b)), (.push(let a), .push(let b)): a == b
    case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: false
    }
  }

  /// A bulk or simple string as text.
  package var text: String? {
    switch self {
    case .simple(let text), .verbatim(let text): text
    case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
    default: nil
    }
  }

  package static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }
}

package enum RESP {
  /// The `name:value` lines of a text reply (`INFO`, `INFO replication`, `CLUSTER INFO`), values trimmed;
  /// `# Section` headers and other lines are left out.
  package static func infoFields(_ text: String) -> [String: String] {
    var fields: [String: String] = [:]
    for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
      let parts = line.split(separator: ":", maxSplits: 1)
      if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
    }
    return fields
  }

  /// A reply of names and values (`SENTINEL MASTER`, `CONFIG GET`): a flat RESP2 array of pairs or a RESP3
  /// map, as text; nil for any other reply.
  package static func fieldPairs(_ reply: RESPValue) -> [String: String]? {
    var pairs: [(RESPValue, RESPValue)]
    switch reply {
    case .map(let map): pairs = map
    case .array(let items?) where items.count % 2 == 0:
      pairs = stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    default: return nil
    }
    var fields: [String: String] = [:]
    for (name, value) in pairs {
      guard let name = name.text else { return nil }
      fields[name] = value.text ?? ""
    }
    return fields
  }

  /// A command as RESP: an array of bulk strings.
  package static func encode(_ words: [String]) -> [UInt8] {
    var bytes = Array("*\(words.count)\r\n".utf8)
    for word in words {
      let data = Array(word.utf8)
      bytes += Array("$\(data.count)\r\n".utf8) + data + [13, 10]
    }
    return bytes
  }

  package enum ParseError: Error, Equatable {
    case malformed(String)
  }

  /// Parses one value from the front of `buffer`; nil when more bytes are needed. On success returns the
  /// value and the number of bytes it used.
  package static func parse(_ buffer: ArraySlice<UInt8>) throws(ParseError) -> (RESPValue, Int)? {
    guard let first = buffer.first else { return nil }
    guard let lineEnd = findCRLF(buffer) else { return nil }
    // A line end where the type byte belongs: no reply starts so.
    guard lineEnd > buffer.startIndex else {
      throw .malformed("unexpected \(quoted("\r")) at the start of a reply")
    }
    let line = String(decoding: buffer[(buffer.startIndex + 1)..<lineEnd], as: UTF8.self)
    let afterLine = lineEnd + 2
    let consumedLine = afterLine - buffer.startIndex
    switch first {
    case UInt8(ascii: "+"): return (.simple(line), consumedLine)
    case UInt8(ascii: "-"): return (.error(line), consumedLine)
    case UInt8(ascii: ":"):
      guard let value = Int(line) else { throw .malformed("integer \(line)") }
      return (.integer(value), consumedLine)
    case UInt8(ascii: "_"): return (.null, consumedLine)
    case UInt8(ascii: ","): return (.double(line), consumedLine)
    case UInt8(ascii: "("): return (.bigNumber(line), consumedLine)
    case UInt8(ascii: "#"): return (.boolean(line == "t"), consumedLine)
    case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
      guard let length = Int(line) else { throw .malformed("length \(line)") }
      if length < 0 { return (first == UInt8(ascii: "$") ? .bulk(nil) : .null, consumedLine) }
      // Not `length + 2`: that overflows for a length near Int.max.
      guard buffer.endIndex - afterLine - 2 >= length else { return nil }
      let bytes = Array(buffer[afterLine..<(afterLine + length)])
      let consumed = consumedLine + length + 2
      switch first {
      case UInt8(ascii: "$"): return (.bulk(bytes), consumed)
      case UInt8(ascii: "!"): return (.error(String(decoding: bytes, as: UTF8.self)), consumed)
      default:
        // Verbatim strings start with a three-letter format and a colon.
        let text = String(decoding: bytes.count >= 4 ? Array(bytes[4...]) : bytes, as: UTF8.self)
        return (.verbatim(text), consumed)
      }
    case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
      guard let count = Int(line) else { throw .malformed("count \(line)") }
      if count < 0 { return (.array(nil), consumedLine) }
      let isMap = first == UInt8(ascii: "%")
      // A map's count is of pairs: more than Int.max / 2 of them cannot be counted, let alone sent.
      if isMap && count > Int.max / 2 { throw .malformed("count \(line)") }
      let elements = isMap ? count * 2 : count
      var items: [RESPValue] = []
      // The count is the server's word: reserve no more than the bytes at hand can hold (3 bytes or more
      // each, as in `_\r\n`), or a count in the billions asks for more memory than there is.
      items.reserveCapacity(min(elements, (buffer.endIndex - afterLine) / 3))
      var offset = afterLine
      for _ in 0..<elements {
        guard let (item, used) = try parse(buffer[offset...]) else { return nil }
        items.append(item)
        offset += used
      }
      let consumed = offset - buffer.startIndex
      switch first {
      case UInt8(ascii: "*"): return (.array(items), consumed)
      case UInt8(ascii: "~"): return (.set(items), consumed)
      case UInt8(ascii: ">"): return (.push(items), consumed)
      default:
        let pairs = stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
        return (.map(pairs), consumed)
      }
    default:
      throw .malformed("unexpected \(quoted(String(decoding: [first], as: UTF8.self))) at the start of a reply")
    }
  }

  private static func findCRLF(_ buffer: ArraySlice<UInt8>) -> Int? {
    var index = buffer.startIndex
    while index + 1 < buffer.endIndex {
      if buffer[index] == 13 && buffer[index + 1] == 10 { return index }
      index += 1
    }
    return nil
  }

  /// A reply as `redis-cli` prints it on a terminal, without the final newline (for messages).
  package static func render(_ value: RESPValue) -> String {
    var bytes = formatTerminal(value, prefix: "")
    if bytes.last == 10 { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// How redis-cli prints replies: `.terminal` when its standard output is a terminal (quoted strings,
  /// `(integer)`, numbered items), `.raw` otherwise (strings as their bytes, one item a line).
  package enum OutputMode: Sendable, Equatable {
    case terminal, raw
  }

  /// The bytes redis-cli 7.0 writes for the reply to `command` in `mode`. The commands whose replies are
  /// text for people (INFO, CLIENT LIST, ...) are printed as they are in both modes, as redis-cli does.
  package static func format(_ value: RESPValue, mode: OutputMode, command: [String] = []) -> [UInt8] {
    if printsVerbatim(command) { return formatRaw(value) }
    switch mode {
    case .terminal: return formatTerminal(value, prefix: "")
    case .raw: return formatRaw(value) + [10]
    }
  }

  /// redis-cli's list (`cliSendCommand`): replies that are shown verbatim whatever the mode.
  package static func printsVerbatim(_ command: [String]) -> Bool {
    let words = command.map { $0.lowercased() }
    guard let name = words.first else { return false }
    let second = words.count >= 2 ? words[1] : nil
    switch name {
    case "info", "lolwut": return true
    case "debug": return ["htstats", "htstats-key", "client-eviction"].contains(second ?? "")
    case "memory": return ["malloc-stats", "doctor"].contains(second ?? "")
    case "cluster": return words.count == 2 && ["nodes", "info"].contains(second!)
    case "client": return ["list", "info"].contains(second ?? "")
    case "latency":
      return (words.count == 3 && second == "graph") || (words.count == 2 && second == "doctor")
    case "proxy": return second == "info"
    default: return false
    }
  }

  /// redis-cli's `cliFormatReplyTTY`.
  static func formatTerminal(_ value: RESPValue, prefix: String) -> [UInt8] {
    func line(_ text: String) -> [UInt8] { Array(text.utf8) + [10] }
    switch value {
    case .simple(let text): return line(text)
    case .error(let text): return line("(error) \(text)")
    case .integer(let number): return line("(integer) \(number)")
    case .double(let text): return line("(double) \(text)")
    case .bigNumber(let text): return line("(big number) \(text)")
    case .bulk(let bytes?): return repr(bytes) + [10]
    case .verbatim(let text): return line(text)
    case .bulk(nil), .array(nil), .null: return line("(nil)")
    case .boolean(let flag): return line(flag ? "(true)" : "(false)")
    case .array(let items?): return formatItems(items, separator: ")", empty: "(empty array)", prefix: prefix)
    case .set(let items): return formatItems(items, separator: "~", empty: "(empty set)", prefix: prefix)
    case .push(let items): return formatItems(items, separator: ")", empty: "(empty push)", prefix: prefix)
    case .map(let pairs):
      if pairs.isEmpty { return line("(empty hash)") }
      let width = String(pairs.count).count
      let nested = prefix + String(repeating: " ", count: width + 2)
      var out: [UInt8] = []
      for (index, pair) in pairs.enumerated() {
        out += Array(((index == 0 ? "" : prefix) + String(index + 1).leftPadded(to: width, with: " ") + "# ").utf8)
        var key = formatTerminal(pair.0, prefix: nested)
        if key.last == 10 { key.removeLast() }
        out += key + Array(" => ".utf8) + formatTerminal(pair.1, prefix: nested)
      }
      return out
    }
  }

  private static func formatItems(_ items: [RESPValue], separator: Character, empty: String, prefix: String)
    -> [UInt8]
  {
    if items.isEmpty { return Array(empty.utf8) + [10] }
    let width = String(items.count).count
    let nested = prefix + String(repeating: " ", count: width + 2)
    var out: [UInt8] = []
    for (index, item) in items.enumerated() {
      out += Array(
        ((index == 0 ? "" : prefix) + String(index + 1).leftPadded(to: width, with: " ") + "\(separator) ").utf8)
      out += formatTerminal(item, prefix: nested)
    }
    return out
  }

  /// redis-cli's `cliFormatReplyRaw`: strings as their bytes, items one a line, map entries `key value`.
  static func formatRaw(_ value: RESPValue) -> [UInt8] {
    switch value {
    case .simple(let text), .verbatim(let text), .double(let text), .bigNumber(let text): return Array(text.utf8)
    case .error(let text): return Array(text.utf8) + [10]
    case .integer(let number): return Array(String(number).utf8)
    case .bulk(let bytes?): return bytes
    case .bulk(nil), .array(nil), .null: return []
    case .boolean(let flag): return Array((flag ? "(true)" : "(false)").utf8)
    case .array(let items?), .set(let items), .push(let items):
      return Array(items.map(formatRaw).joined(separator: [10]))
    case .map(let pairs):
      return Array(pairs.map { formatRaw($0.0) + [32] + formatRaw($0.1) }.joined(separator: [10]))
    }
  }

  /// redis-cli's `sdscatrepr`: a string in double quotes, `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` escaped,
  /// other bytes that are not printable ASCII as `\xhh`.
  static func repr(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [34]
    for byte in bytes {
      switch byte {
      case 92: out += [92, 92]
      case 34: out += [92, 34]
      case 10: out += [92, UInt8(ascii: "n")]
      case 13: out += [92, UInt8(ascii: "r")]
      case 9: out += [92, UInt8(ascii: "t")]
      case 7: out += [92, UInt8(ascii: "a")]
      case 8: out += [92, UInt8(ascii: "b")]
      case 0x20...0x7E: out.append(byte)
      default: out += Array(("\\x" + String(byte, radix: 16).leftPadded(to: 2)).utf8)
      }
    }
    return out + [34]
  }
}
