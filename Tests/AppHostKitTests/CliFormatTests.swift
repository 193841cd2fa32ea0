import Foundation
import Testing

@testable import AppHostKit

/// `apphost cli`'s output, as redis-cli 7.0 writes it (cliFormatReplyTTY and cliFormatReplyRaw); the
/// integration test CliOutputTests compares the two programs byte for byte on a real server.
@Suite struct CliFormatTests {
  func text(_ value: RESPValue, _ mode: RESP.OutputMode, _ command: [String] = []) -> String {
    String(decoding: RESP.format(value, mode: mode, command: command), as: UTF8.self)
  }

  let nested = RESPValue.array([
    .integer(1), .array([.integer(2), .bulk("x"), .array([])]), .error("inner"), .bulk("y"),
  ])

  @Test func terminal() {
    #expect(text(.bulk("hello world"), .terminal) == "\"hello world\"\n")
    #expect(text(.bulk(Array("a\u{1}\nb\t\\\"é".utf8)), .terminal) == #""a\x01\nb\t\\\"\xc3\xa9""# + "\n")
    #expect(text(.integer(42), .terminal) == "(integer) 42\n")
    #expect(text(.bulk(nil), .terminal) == "(nil)\n")
    #expect(text(.array([]), .terminal) == "(empty array)\n")
    #expect(text(.error("ERR x"), .terminal) == "(error) ERR x\n")
    #expect(text(.simple("OK"), .terminal) == "OK\n")
    #expect(
      text(nested, .terminal)
        == "1) (integer) 1\n2) 1) (integer) 2\n   2) \"x\"\n   3) (empty array)\n3) (error) inner\n4) \"y\"\n")
    // Indexes are right-aligned to the widest one, and nested items indented past it.
    let eleven = RESPValue.array((1...11).map { .bulk(String($0)) })
    let lines = text(.array([eleven]), .terminal).split(separator: "\n")
    #expect(lines[0] == "1)  1) \"1\"")
    #expect(lines[9] == "   10) \"10\"")
    // RESP3 (after HELLO 3).
    #expect(
      text(.map([(.bulk("server"), .bulk("redis")), (.bulk("modules"), .array([]))]), .terminal)
        == "1# \"server\" => \"redis\"\n2# \"modules\" => (empty array)\n")
    #expect(text(.set([.bulk("a")]), .terminal) == "1~ \"a\"\n")
    #expect(text(.double("3.5"), .terminal) == "(double) 3.5\n")
    #expect(text(.boolean(true), .terminal) == "(true)\n")
    #expect(text(.null, .terminal) == "(nil)\n")
  }

  @Test func raw() {
    #expect(text(.bulk("hello world"), .raw) == "hello world\n")
    #expect(RESP.format(.bulk([0x61, 0xFF, 0x0A]), mode: .raw) == [0x61, 0xFF, 0x0A, 0x0A])
    #expect(text(.integer(42), .raw) == "42\n")
    #expect(text(.bulk(nil), .raw) == "\n")
    #expect(text(.array([]), .raw) == "\n")
    #expect(text(.error("ERR x"), .raw) == "ERR x\n\n")
    #expect(text(nested, .raw) == "1\n2\nx\n\ninner\n\ny\n")
    #expect(
      text(.map([(.bulk("server"), .bulk("redis")), (.bulk("proto"), .integer(3))]), .raw) == "server redis\nproto 3\n")
  }

  @Test func infoAndTheLikeAreShownAsTheyAreInBothModes() {
    let info = RESPValue.bulk("# Server\r\nredis_version:7.0.15\r\n")
    for mode in [RESP.OutputMode.terminal, .raw] {
      #expect(text(info, mode, ["info", "server"]) == "# Server\r\nredis_version:7.0.15\r\n")
      #expect(text(.bulk("id=3 addr=x\n"), mode, ["CLIENT", "LIST"]) == "id=3 addr=x\n")
    }
    #expect(RESP.printsVerbatim(["LATENCY", "DOCTOR"]))
    #expect(!RESP.printsVerbatim(["LATENCY", "DOCTOR", "x"]))
    #expect(!RESP.printsVerbatim(["GET", "info"]))
    #expect(!RESP.printsVerbatim(["CLUSTER", "SLOTS"]))
  }

  @Test(arguments: [
    ("GET key\u{1B}[A", "GET key"), ("\u{1B}[DSET k v\u{1B}[C", "SET k v"), ("GET \u{1B}[1;5Ck", "GET k"),
    ("\u{1B}OHGET k\u{1B}OF", "GET k"), ("GET k\u{1B}[15~", "GET k"), ("GET k\u{1B}", "GET k"),
    ("SET k \"é\\x1b\"", "SET k \"é\\x1b\""),
  ])
  func terminalEscapesAreDropped(line: String, sent: String) {
    #expect(strippingTerminalEscapes(line) == sent)
  }
}
