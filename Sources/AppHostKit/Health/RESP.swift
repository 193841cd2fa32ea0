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

  /// A reply as `redis-cli` prints it.
  package static func render(_ value: RESPValue, indent: String = "") -> String {
    switch value {
    case .simple(let text): return text
    case .error(let text): return "(error) \(text)"
    case .integer(let number): return "(integer) \(number)"
    case .bulk(nil), .array(nil), .null: return "(nil)"
    case .bulk(let bytes?): return quoted(String(decoding: bytes, as: UTF8.self))
    case .double(let text): return "(double) \(text)"
    case .bigNumber(let text): return "(big number) \(text)"
    case .boolean(let flag): return flag ? "(true)" : "(false)"
    case .verbatim(let text): return text
    case .array(let items?), .set(let items), .push(let items):
      if items.isEmpty { return "(empty array)" }
      return items.enumerated().map { index, item in
        let prefix = "\(index + 1)) "
        let nested = render(item, indent: indent + String(repeating: " ", count: prefix.count))
        return (index == 0 ? "" : indent) + prefix + nested
      }.joined(separator: "\n")
    case .map(let pairs):
      if pairs.isEmpty { return "(empty hash)" }
      return pairs.enumerated().map { index, pair in
        (index == 0 ? "" : indent) + "\(index + 1)# " + render(pair.0) + " => " + render(pair.1, indent: indent + "   ")
      }.joined(separator: "\n")
    }
  }
}
