import Testing

@testable import AppHostKit

@Suite struct JSONParserTests {
  func parse(_ text: String) throws(JSONSyntaxError) -> JSONNode {
    try JSONParser.parse(Array(text.utf8))
  }

  func syntaxError(_ text: String) -> JSONSyntaxError? {
    do {
      _ = try parse(text)
      return nil
    } catch {
      return error
    }
  }

  @Test func objectsKeepFileOrderAndPositions() throws {
    let node = try parse("{\n  \"b\": 1,\n  \"a\": [true, null, \"x\"]\n}")
    guard case .object(let members) = node.value else {
      Issue.record("not an object")
      return
    }
    #expect(members.map(\.key) == ["b", "a"])
    #expect(members[0].keyLocation == TextLocation(line: 2, column: 3))
    #expect(members[1].value.location == TextLocation(line: 3, column: 8))
    guard case .array(let items) = members[1].value.value else {
      Issue.record("not an array")
      return
    }
    #expect(items.map(\.value) == [.bool(true), .null, .string("x")])
    #expect(items[2].location == TextLocation(line: 3, column: 21))
  }

  @Test func duplicateKeysAreKeptForTheReader() throws {
    let node = try parse(#"{"a": 1, "a": 2}"#)
    guard case .object(let members) = node.value else {
      Issue.record("not an object: \(node.value)")
      return
    }
    #expect(members.map(\.key) == ["a", "a"])
  }

  @Test(arguments: [
    ("6379", 6379 as Int?, 6379.0),
    ("-1", -1, -1),
    ("0", 0, 0),
    ("6e3", 6000, 6000),
    ("1.5", nil, 1.5),
    ("6379.0", 6379, 6379),
    ("99999999999999999999", nil, 1e20),
  ])
  func numbers(text: String, integer: Int?, double: Double) throws {
    guard case .number(let number) = try parse(text).value else {
      Issue.record("not a number")
      return
    }
    #expect(number.text == text)
    #expect(number.integer == integer)
    #expect(number.double == double)
  }

  @Test func stringEscapesAndUnicode() throws {
    let node = try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00 ü""#)
    #expect(node.value == .string("a\"b\\c/d\n\té😀 ü"))
  }

  @Test func commentsAreSkipped() throws {
    let node = try parse("// head\n{ /* inline */ \"a\": 1 // tail\n}\n/* end */")
    guard case .object(let members) = node.value else {
      Issue.record("not an object: \(node.value)")
      return
    }
    #expect(members.map(\.key) == ["a"])
  }

  @Test func columnsCountCharactersNotBytes() throws {
    let node = try parse(#"{"é": "ü", "x": 1}"#)
    guard case .object(let members) = node.value else {
      Issue.record("not an object: \(node.value)")
      return
    }
    #expect(members[1].keyLocation == TextLocation(line: 1, column: 12))
  }

  @Test func byteOrderMarkIsSkipped() throws {
    let node = try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8))
    #expect(node.value == .object([]))
  }

  @Test(arguments: [
    ("{\"a\": 1,}", 1, 9, "a trailing comma before '}'"),
    ("[1, 2,]", 1, 7, "a trailing comma before ']'"),
    ("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}' after the value of \"a\", found '\"'; is a comma missing?"),
    ("{\n\"a\": tru\n}", 2, 6, "expected a value for the key \"a\", found 'tru'"),
    ("{\"a\": True}", 1, 7, "'True' is not JSON; write true, false or null in lower case"),
    ("{a: 1}", 1, 2, "keys need double quotes: write \"a\""),
    ("{'a': 1}", 1, 2, "keys need double quotes (\"), not single quotes"),
    ("{\"a\": 'x'}", 1, 7, "strings need double quotes (\"), not single quotes"),
    ("{\"a\": \"x}", 1, 10, "the string starting at line 1, column 7 is never closed"),
    ("{\"a\": \"x\ny\"}", 1, 9, "strings cannot span lines"),
    ("{\"a\": \"\\x\"}", 1, 8, "'\\x' is not a JSON escape"),
    ("{\"a\": \"\\ud800\"}", 1, 8, "half of a surrogate pair"),
    ("{\"a\": 01}", 1, 7, "numbers cannot start with 0"),
    ("{\"a\": 1.}", 1, 7, "a '.' in a number must be followed by digits"),
    ("{\"a\": -}", 1, 7, "a '-' must be followed by digits"),
    ("{\"a\": 12px}", 1, 9, "unexpected 'p' after a number"),
    ("{\"a\": [1, 2}", 1, 12, "expected ',' or ']' after an array item, found '}'"),
    ("{\n  \"a\": {\n", 3, 1, "the file ends inside the object opened at line 2, column 8"),
    ("", 1, 1, "the file is empty"),
    ("   \n", 2, 1, "the file is empty"),
    ("{} {}", 1, 4, "unexpected '{' after the end of the JSON document"),
    ("{/* open", 1, 2, "the comment opened here is never closed"),
    ("{\"a\": 1 / 2}", 1, 9, "unexpected '/'; comments start with // or /*"),
  ])
  func syntaxErrorsSayWhereAndWhat(text: String, line: Int, column: Int, message: String) {
    let error = syntaxError(text)
    #expect(error?.location == TextLocation(line: line, column: column), "\(String(describing: error))")
    #expect(error?.message.contains(message) == true, "\(String(describing: error?.message))")
  }

  @Test func deepNestingIsRefusedWithoutCrashing() {
    let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    let error = syntaxError(text)
    #expect(error?.message.contains("nested more than 64 levels") == true)
  }
}
