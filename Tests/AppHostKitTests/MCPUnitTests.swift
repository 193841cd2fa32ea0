import Foundation
import MCP
import Testing

@testable import AppHostKit
@testable import AppHostMCP

/// The decisions of `apphost mcp` that need no running cache: masking, bounds, arguments, log times.
@Suite struct MCPRedactionTests {
  @Test func everySecretAndItsPercentEncodedFormIsMasked() {
    let redactor = Redactor(secrets: ["p@ss:w/rd", "s3cret", "ab"])
    #expect(redactor.redact("AUTH p@ss:w/rd") == "AUTH ********")
    #expect(
      redactor.redact("redis://default:p%40ss%3Aw%2Frd@127.0.0.1:6379/0") == "redis://default:********@127.0.0.1:6379/0"
    )
    #expect(redactor.redact("s3cret and s3cret") == "******** and ********")
    // Too short to be told from ordinary text: left alone.
    #expect(redactor.redact("abc") == "abc")
  }

  @Test func aSecretContainingAnotherIsMaskedWhole() {
    let redactor = Redactor(secrets: ["abc", "abcdef"])
    #expect(redactor.redact("xabcdefx") == "x********x")
  }

  @Test(arguments: [
    (["AUTH", "pw"], ["AUTH", "********"]),
    (["auth", "user", "pw"], ["auth", "********", "********"]),
    (
      ["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "x"],
      ["HELLO", "3", "AUTH", "********", "********", "SETNAME", "x"]
    ),
    (
      ["CONFIG", "SET", "maxmemory", "1mb", "requirepass", "pw"],
      ["CONFIG", "SET", "maxmemory", "1mb", "requirepass", "********"]
    ),
    (["MIGRATE", "h", "1", "k", "0", "5", "AUTH", "pw"], ["MIGRATE", "h", "1", "k", "0", "5", "AUTH", "********"]),
    (
      ["MIGRATE", "h", "1", "k", "0", "5", "AUTH2", "u", "pw"],
      ["MIGRATE", "h", "1", "k", "0", "5", "AUTH2", "********", "********"]
    ),
    (["ACL", "SETUSER", "bob", "on", ">pw", "~*"], ["ACL", "SETUSER", "bob", "on", "********", "~*"]),
    (["SET", "AUTH", "x"], ["SET", "AUTH", "x"]),
    (["AUTH"], ["AUTH"]),
  ])
  func commandArgumentsThatAreSecretsAreMasked(words: [String], masked: [String]) {
    #expect(CommandMasking.mask(words) == masked)
  }

  @Test func monitorLinesKeepEverythingButTheSecret() {
    let line = #"1733112345.123456 [0 127.0.0.1:5000] "AUTH" "p\"w""#
    #expect(CacheTools.maskMonitorLine(line) == #"1733112345.123456 [0 127.0.0.1:5000] "AUTH" "********""#)
    let plain = #"1733112345.123456 [0 127.0.0.1:5000] "SET" "k" "a b\\c""#
    #expect(CacheTools.maskMonitorLine(plain) == plain)
    #expect(CacheTools.monitorWords(#""SET" "k\"x""#).map(\.decoded) == ["SET", #"k"x"#])
  }
}

@Suite struct MCPBoundsTests {
  @Test func cutKeepsTheStartAndSaysHowMuchWasLeftOut() {
    let text = String(repeating: "a", count: 1000)
    let cut = Bounds.cut(text, maxBytes: 100, hint: "ask for less")
    #expect(cut.utf8.count <= 100)
    let kept = cut.prefix { $0 == "a" }.count
    #expect(
      kept > 40
        && cut == String(repeating: "a", count: kept) + "\n[truncated: \(kept) of 1000 bytes shown; ask for less]")
    #expect(Bounds.cut("short", maxBytes: 100) == "short")
  }

  @Test func cutNeverSplitsACharacter() {
    let text = String(repeating: "é", count: 1000)  // two bytes each
    let cut = Bounds.cut(text, maxBytes: 501)
    #expect(cut.utf8.count <= 501)
    let kept = cut.prefix { $0 == "é" }.count
    #expect(kept > 200 && cut.hasSuffix("\n[truncated: \(kept * 2) of 2000 bytes shown]"))
    #expect(Bounds.prefix("éé", maxBytes: 3) == "é")
  }

  @Test func clipAndClamp() {
    #expect(Bounds.clip("abcdef", maxBytes: 3) == "abc…(6 bytes)")
    #expect(Bounds.clamp(nil, 1...10, default: 5) == 5)
    #expect(Bounds.clamp(100, 1...10, default: 5) == 10)
    #expect(Bounds.clamp(-3, 1...10, default: 5) == 1)
  }

  @Test func logsKeepTheNewestLinesWithinTheBound() {
    let lines = (1...100).map { "line \($0)" }
    let text = ProjectTools.render([("api", lines)], notes: [], maxBytes: 1024)
    #expect(text.utf8.count <= 1024)
    #expect(text.contains("api | line 100") && !text.contains("api | line 1\n"))
    #expect(text.hasPrefix("[truncated: the last "))
    #expect(ProjectTools.render([("api", [])], notes: [], maxBytes: 1024) == "[no lines]")
  }

  @Test func binaryValuesAreShownEscaped() {
    #expect(CacheTools.printable(Array("héllo".utf8)) == "héllo")
    #expect(CacheTools.printable([0x41, 0xFF, 0x00, 0x5C]) == #"A\xff\x00\x5c"#)
  }
}

@Suite struct MCPArgumentTests {
  @Test func sinceTakesDurationsAndTimes() throws {
    let now = Date(timeIntervalSince1970: 1_000_000)
    #expect(try ProjectTools.parseSince("10m", now: now) == now.addingTimeInterval(-600))
    #expect(try ProjectTools.parseSince("1.5h", now: now) == now.addingTimeInterval(-5400))
    #expect(try ProjectTools.parseSince("250ms", now: now) == now.addingTimeInterval(-0.25))
    #expect(try ProjectTools.parseSince("1970-01-12T13:46:40Z", now: now) == now)
    #expect(throws: ToolError.self) { try ProjectTools.parseSince("yesterday", now: now) }
  }

  @Test func argumentsOfTheWrongTypeAreErrors() throws {
    let arguments = ToolArguments(values: ["n": 3, "d": 2.0, "s": "x", "b": true, "l": ["a", "b"], "bad": [1]])
    #expect(try arguments.int("n") == 3)
    #expect(try arguments.int("d") == 2)
    #expect(try arguments.string("s") == "x")
    #expect(try arguments.bool("b") == true)
    #expect(try arguments.strings("l") == ["a", "b"])
    #expect(try arguments.strings("s") == ["x"])
    #expect(try arguments.int("missing") == nil)
    #expect(throws: ToolError.self) { try arguments.int("s") }
    #expect(throws: ToolError.self) { try arguments.bool("n") }
    #expect(throws: ToolError.self) { try arguments.strings("bad") }
  }

  @Test func unknownArgumentsAndToolsAreRefused() async {
    let options = MCPOptions(file: "/nonexistent/apphost.json", engine: nil, allowWrite: false)
    let specs = MCPServer.tools(options)
    let byName = Dictionary(uniqueKeysWithValues: specs.map { ($0.tool.name, $0) })
    let context = ProjectContext(options: options)
    let unknown = await MCPServer.call(
      .init(name: "logs", arguments: ["name": "a", "tail": 3]), byName: byName, context: context)
    #expect(unknown.isError == true)
    #expect(text(unknown) == #"logs has no argument "tail"; its arguments are lines, maxBytes, name, since"#)
    let writes = await MCPServer.call(.init(name: "cache_command", arguments: [:]), byName: byName, context: context)
    #expect(writes.isError == true && text(writes).contains("cache_command needs `apphost mcp --allow-write`"))
    // A project that cannot be opened: the tool says why, as an error reply.
    let missing = await MCPServer.call(.init(name: "resources", arguments: [:]), byName: byName, context: context)
    #expect(missing.isError == true && text(missing).contains("/nonexistent/apphost.json"), "\(text(missing))")
  }

  func text(_ result: CallTool.Result) -> String {
    result.content.map { if case .text(let text, _, _) = $0 { text } else { "" } }.joined()
  }

  @Test func cacheCommandIsOfferedOnlyWithAllowWrite() {
    let readOnly = MCPServer.tools(MCPOptions(file: "apphost.json", engine: nil, allowWrite: false)).map(\.tool)
    let writing = MCPServer.tools(MCPOptions(file: "apphost.json", engine: nil, allowWrite: true)).map(\.tool)
    #expect(!readOnly.contains { $0.name == "cache_command" })
    let steering: Set = ["restart", "stop", "start"]
    #expect(readOnly.allSatisfy { $0.annotations.readOnlyHint == !steering.contains($0.name) })
    #expect(writing.contains { $0.name == "cache_command" && $0.annotations.readOnlyHint == false })
    // Every description states its bound.
    #expect(writing.allSatisfy { ($0.description ?? "").contains("at most") })
  }
}

@Suite struct MCPManifestReferenceTests {
  /// The text the server carries is the README's section (scripts/manifest-reference writes it).
  @Test func theEmbeddedReferenceIsTheREADMEs() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let lines = readme.components(separatedBy: "\n")
    let start = try #require(lines.firstIndex(of: "## Manifest reference"))
    let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.count
    let section = lines[start..<end].joined(separator: "\n")
    #expect(
      ManifestReference.text.trimmingCharacters(in: .whitespacesAndNewlines)
        == section.trimmingCharacters(in: .whitespacesAndNewlines),
      "README.md's manifest reference changed: run scripts/manifest-reference")
  }
}
