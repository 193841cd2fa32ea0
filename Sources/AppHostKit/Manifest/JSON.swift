/// A JSON document read with positions: every value knows its line and column, objects keep their
/// members in file order and duplicate keys are kept (so the manifest reader can report them).
///
/// Foundation's decoders report neither line nor column on Linux, accept trailing commas and drop
/// duplicate keys silently; a manifest whose typos must not pass silently needs all three
/// (see DECISIONS.md).

/// A 1-based line and column (columns count characters, not bytes).
package struct TextLocation: Sendable, Hashable, Codable, CustomStringConvertible {
  package var line: Int
  package var column: Int

  package init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }

  package var description: String { "\(line):\(column)" }
}

package struct JSONNode: Sendable, Equatable {
  package var value: JSONValue
  package var location: TextLocation
}

package struct JSONMember: Sendable, Equatable {
  package var key: String
  package var keyLocation: TextLocation
  package var value: JSONNode
}

package struct JSONNumber: Sendable, Equatable {
  /// The number as written in the file.
  package var text: String
  /// The value when the number is a whole number that fits an `Int` (`6379`, `6e3`), else nil.
  package var integer: Int?
  package var double: Double
}

package enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(JSONNumber)
  case string(String)
  case array([JSONNode])
  case object([JSONMember])
}

package struct JSONSyntaxError: Error, Sendable, Equatable {
  package var message: String
  package var location: TextLocation
}

/// Strict JSON (RFC 8259) plus `//` and `/* */` comments, which the manifest's documentation uses.
package struct JSONParser {
  package static let maximumDepth = 64

  private let bytes: [UInt8]
  private var index = 0
  private var line = 1
  private var column = 1
  private var depth = 0

  package static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONNode {
    var parser = JSONParser(bytes: bytes)
    return try parser.parseDocument()
  }

  private init(bytes: [UInt8]) {
    self.bytes = bytes
  }

  private var location: TextLocation { TextLocation(line: line, column: column) }

  private mutating func parseDocument() throws(JSONSyntaxError) -> JSONNode {
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    try skipWhitespace()
    guard index < bytes.count else {
      throw JSONSyntaxError(
        message: "the file is empty; a manifest is a JSON object such as {\"resources\": {}}",
        location: location)
    }
    let node = try parseValue(context: "the document")
    try skipWhitespace()
    if index < bytes.count {
      throw JSONSyntaxError(
        message: "unexpected \(describeCurrent()) after the end of the JSON document; "
          + "a manifest holds exactly one object",
        location: location)
    }
    return node
  }

  // MARK: Scanning

  private mutating func advance() {
    let byte = bytes[index]
    index += 1
    if byte == UInt8(ascii: "\n") {
      line += 1
      column = 1
    } else if byte & 0xC0 != 0x80 {
      // Count characters, not UTF-8 continuation bytes.
      column += 1
    }
  }

  private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

  private func describeCurrent() -> String {
    guard let byte = current else { return "end of file" }
    switch byte {
    case UInt8(ascii: "\n"): return "end of line"
    case 0x20...0x7E: return "'\(Character(UnicodeScalar(byte)))'"
    default:
      // Decode the whole character for the message.
      var end = index + 1
      while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
      let text = String(decoding: bytes[index..<end], as: UTF8.self)
      return byte < 0x20 ? "control character U+\(hex(Int(byte)))" : "'\(text)'"
    }
  }

  private mutating func skipWhitespace() throws(JSONSyntaxError) {
    while let byte = current {
      switch byte {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
        advance()
      case UInt8(ascii: "/"):
        let start = location
        let next = index + 1 < bytes.count ? bytes[index + 1] : nil
        if next == UInt8(ascii: "/") {
          while let byte = current, byte != UInt8(ascii: "\n") { advance() }
        } else if next == UInt8(ascii: "*") {
          advance()
          advance()
          var closed = false
          while let byte = current {
            if byte == UInt8(ascii: "*"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
              advance()
              advance()
              closed = true
              break
            }
            advance()
          }
          if !closed {
            throw JSONSyntaxError(
              message: "the comment opened here is never closed with */", location: start)
          }
        } else {
          throw JSONSyntaxError(
            message: "unexpected '/'; comments start with // or /*", location: start)
        }
      default:
        return
      }
    }
  }

  // MARK: Values

  private mutating func parseValue(context: String) throws(JSONSyntaxError) -> JSONNode {
    let start = location
    guard let byte = current else {
      throw JSONSyntaxError(message: "the file ends where \(context) should have a value", location: start)
    }
    switch byte {
    case UInt8(ascii: "{"):
      return JSONNode(value: try parseObject(), location: start)
    case UInt8(ascii: "["):
      return JSONNode(value: try parseArray(), location: start)
    case UInt8(ascii: "\""):
      return JSONNode(value: .string(try parseString()), location: start)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return JSONNode(value: .number(try parseNumber()), location: start)
    case UInt8(ascii: "'"):
      throw JSONSyntaxError(
        message: "strings need double quotes (\"), not single quotes", location: start)
    default:
      let word = readWord()
      switch word {
      case "true": return JSONNode(value: .bool(true), location: start)
      case "false": return JSONNode(value: .bool(false), location: start)
      case "null": return JSONNode(value: .null, location: start)
      case "":
        throw JSONSyntaxError(
          message: "expected a value for \(context), found \(describeCurrent())", location: start)
      case "True", "TRUE", "False", "FALSE", "Null", "NULL", "None", "nil", "undefined":
        throw JSONSyntaxError(
          message: "'\(word)' is not JSON; write true, false or null in lower case", location: start)
      default:
        throw JSONSyntaxError(
          message: "expected a value for \(context), found '\(word)'; "
            + "text values need double quotes: \"\(word)\"",
          location: start)
      }
    }
  }

  /// Reads a run of letters, digits and `_` (a literal such as `true`, or an unquoted word).
  private mutating func readWord() -> String {
    var word = ""
    while let byte = current,
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
        || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    {
      word.append(Character(UnicodeScalar(byte)))
      advance()
    }
    return word
  }

  private mutating func enter(_ start: TextLocation) throws(JSONSyntaxError) {
    depth += 1
    if depth > Self.maximumDepth {
      throw JSONSyntaxError(
        message: "the document is nested more than \(Self.maximumDepth) levels deep; "
          + "a manifest needs at most 5",
        location: start)
    }
  }

  private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
    let start = location
    try enter(start)
    defer { depth -= 1 }
    advance()  // {
    var members: [JSONMember] = []
    try skipWhitespace()
    if current == UInt8(ascii: "}") {
      advance()
      return .object([])
    }
    while true {
      try skipWhitespace()
      let keyLocation = location
      guard let byte = current else {
        throw JSONSyntaxError(
          message: "the file ends inside the object opened at line \(start.line), column \(start.column); "
            + "a '}' is missing",
          location: keyLocation)
      }
      if byte == UInt8(ascii: "}") {
        throw JSONSyntaxError(
          message: "a trailing comma before '}'; remove the last ','", location: keyLocation)
      }
      guard byte == UInt8(ascii: "\"") else {
        if byte == UInt8(ascii: "'") {
          throw JSONSyntaxError(
            message: "keys need double quotes (\"), not single quotes", location: keyLocation)
        }
        let word = readWord()
        if !word.isEmpty {
          throw JSONSyntaxError(
            message: "keys need double quotes: write \"\(word)\"", location: keyLocation)
        }
        throw JSONSyntaxError(
          message: "expected a key in double quotes, found \(describeCurrent())", location: keyLocation)
      }
      let key = try parseString()
      try skipWhitespace()
      guard current == UInt8(ascii: ":") else {
        throw JSONSyntaxError(
          message: "expected ':' after the key \"\(key)\", found \(describeCurrent())", location: location)
      }
      advance()
      try skipWhitespace()
      let value = try parseValue(context: "the key \"\(key)\"")
      members.append(JSONMember(key: key, keyLocation: keyLocation, value: value))
      try skipWhitespace()
      switch current {
      case UInt8(ascii: ","):
        advance()
      case UInt8(ascii: "}"):
        advance()
        return .object(members)
      case nil:
        throw JSONSyntaxError(
          message: "the file ends inside the object opened at line \(start.line), column \(start.column); "
            + "a '}' is missing",
          location: location)
      default:
        throw JSONSyntaxError(
          message: "expected ',' or '}' after the value of \"\(key)\", found \(describeCurrent()); "
            + "is a comma missing?",
          location: location)
      }
    }
  }

  private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
    let start = location
    try enter(start)
    defer { depth -= 1 }
    advance()  // [
    var elements: [JSONNode] = []
    try skipWhitespace()
    if current == UInt8(ascii: "]") {
      advance()
      return .array([])
    }
    while true {
      try skipWhitespace()
      if current == UInt8(ascii: "]") {
        throw JSONSyntaxError(
          message: "a trailing comma before ']'; remove the last ','", location: location)
      }
      elements.append(try parseValue(context: "item \(elements.count) of the array"))
      try skipWhitespace()
      switch current {
      case UInt8(ascii: ","):
        advance()
      case UInt8(ascii: "]"):
        advance()
        return .array(elements)
      case nil:
        throw JSONSyntaxError(
          message: "the file ends inside the array opened at line \(start.line), column \(start.column); "
            + "a ']' is missing",
          location: location)
      default:
        throw JSONSyntaxError(
          message: "expected ',' or ']' after an array item, found \(describeCurrent()); "
            + "is a comma missing?",
          location: location)
      }
    }
  }

  private mutating func parseString() throws(JSONSyntaxError) -> String {
    let start = location
    advance()  // opening quote
    var scalars = String.UnicodeScalarView()
    var chunkStart = index
    func flush(_ parser: JSONParser, upTo end: Int, into scalars: inout String.UnicodeScalarView) {
      if chunkStart < end {
        scalars.append(contentsOf: String(decoding: parser.bytes[chunkStart..<end], as: UTF8.self).unicodeScalars)
      }
    }
    while true {
      guard let byte = current else {
        throw JSONSyntaxError(
          message: "the string starting at line \(start.line), column \(start.column) is never closed; "
            + "a '\"' is missing",
          location: location)
      }
      switch byte {
      case UInt8(ascii: "\""):
        flush(self, upTo: index, into: &scalars)
        advance()
        return String(scalars)
      case UInt8(ascii: "\\"):
        flush(self, upTo: index, into: &scalars)
        let escapeLocation = location
        advance()
        guard let escaped = current else { continue }
        advance()
        switch escaped {
        case UInt8(ascii: "\""): scalars.append("\"")
        case UInt8(ascii: "\\"): scalars.append("\\")
        case UInt8(ascii: "/"): scalars.append("/")
        case UInt8(ascii: "b"): scalars.append("\u{08}")
        case UInt8(ascii: "f"): scalars.append("\u{0C}")
        case UInt8(ascii: "n"): scalars.append("\n")
        case UInt8(ascii: "r"): scalars.append("\r")
        case UInt8(ascii: "t"): scalars.append("\t")
        case UInt8(ascii: "u"):
          scalars.append(try parseUnicodeEscape(at: escapeLocation))
        default:
          throw JSONSyntaxError(
            message: "'\\\(Character(UnicodeScalar(escaped)))' is not a JSON escape; "
              + "use \\\\ for a backslash (Windows paths can use / instead)",
            location: escapeLocation)
        }
        chunkStart = index
      case 0x00..<0x20:
        throw JSONSyntaxError(
          message: byte == UInt8(ascii: "\n")
            ? "the string starting at line \(start.line), column \(start.column) is never closed; "
              + "a '\"' is missing (strings cannot span lines; write \\n)"
            : "a control character (U+\(hex(Int(byte)))) inside a string; write it as an escape such as \\t",
          location: location)
      default:
        advance()
      }
    }
  }

  private mutating func readHex4(at escapeLocation: TextLocation) throws(JSONSyntaxError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = current, let digit = hexDigit(byte) else {
        throw JSONSyntaxError(
          message: "\\u must be followed by four hexadecimal digits", location: escapeLocation)
      }
      value = value * 16 + UInt32(digit)
      advance()
    }
    return value
  }

  private mutating func parseUnicodeEscape(at escapeLocation: TextLocation) throws(JSONSyntaxError)
    -> Unicode.Scalar
  {
    let first = try readHex4(at: escapeLocation)
    if (0xD800...0xDBFF).contains(first) {
      // A high surrogate must be followed by an escaped low surrogate.
      if current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") {
        advance()
        advance()
        let second = try readHex4(at: escapeLocation)
        if (0xDC00...0xDFFF).contains(second),
          let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        {
          return scalar
        }
      }
      throw JSONSyntaxError(
        message: "\\u\(hex(Int(first))) is half of a surrogate pair without its other half",
        location: escapeLocation)
    }
    guard let scalar = Unicode.Scalar(first) else {
      throw JSONSyntaxError(
        message: "\\u\(hex(Int(first))) is half of a surrogate pair without its other half",
        location: escapeLocation)
    }
    return scalar
  }

  private mutating func parseNumber() throws(JSONSyntaxError) -> JSONNumber {
    let start = location
    let startIndex = index
    var isWhole = true
    func digits(_ parser: inout JSONParser) -> Int {
      var count = 0
      while let byte = parser.current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
        parser.advance()
        count += 1
      }
      return count
    }
    if current == UInt8(ascii: "-") { advance() }
    let leadingZero = current == UInt8(ascii: "0")
    let integerDigits = digits(&self)
    if integerDigits == 0 {
      throw JSONSyntaxError(message: "a '-' must be followed by digits", location: start)
    }
    if leadingZero && integerDigits > 1 {
      throw JSONSyntaxError(
        message: "numbers cannot start with 0 (found \(String(decoding: bytes[startIndex..<index], as: UTF8.self)))",
        location: start)
    }
    if current == UInt8(ascii: ".") {
      advance()
      isWhole = false
      if digits(&self) == 0 {
        throw JSONSyntaxError(message: "a '.' in a number must be followed by digits", location: start)
      }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      advance()
      isWhole = false
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { advance() }
      if digits(&self) == 0 {
        throw JSONSyntaxError(message: "an exponent in a number must have digits", location: start)
      }
    }
    if let byte = current,
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    {
      throw JSONSyntaxError(
        message: "unexpected \(describeCurrent()) after a number; text values need double quotes",
        location: location)
    }
    let text = String(decoding: bytes[startIndex..<index], as: UTF8.self)
    let double = Double(text) ?? .nan
    var integer: Int? = isWhole ? Int(text) : nil
    if integer == nil, double.isFinite, double == double.rounded(.towardZero), abs(double) < 9.0e15 {
      integer = Int(double)
    }
    return JSONNumber(text: text, integer: integer, double: double)
  }
}

private func hexDigit(_ byte: UInt8) -> Int? {
  switch byte {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
  case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a")) + 10
  case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A")) + 10
  default: return nil
  }
}

/// A code point as four or more uppercase hex digits, as in `U+000A`.
package func hex(_ value: Int) -> String {
  let digits = String(value, radix: 16, uppercase: true)
  return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
