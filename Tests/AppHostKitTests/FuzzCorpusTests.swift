import Foundation
import Testing

@testable import AppHostKit

/// The fuzzing corpus (Tests/Fixtures/fuzz, grown by scripts/fuzz) replayed without libFuzzer, and the
/// inputs that once crashed the decoders, each with what it must do instead.
@Suite struct FuzzCorpusTests {
  static func inputs(_ target: String) -> [String] {
    let directory = "\(Paths.repository)/Tests/Fixtures/fuzz/\(target)"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.sorted().map { "\(directory)/\($0)" }
  }

  static func bytes(_ file: String) -> [UInt8] {
    FileManager.default.contents(atPath: file).map { [UInt8]($0) } ?? []
  }

  @Test func theCorporaAreThere() {
    #expect(Self.inputs("manifest").count >= 50)
    #expect(Self.inputs("resp").count >= 15)
  }

  /// Each input loads or is rejected with at least one error, never a crash.
  @Test func manifestCorpusLoadsOrFailsWithErrors() {
    for file in Self.inputs("manifest") {
      do {
        _ = try ManifestLoader.load(
          bytes: Self.bytes(file), path: "/projects/fuzz/apphost.json", projectDirectory: "/projects/fuzz")
      } catch {
        guard case .invalidManifest(_, let diagnostics) = error else {
          Issue.record("\(file): unexpected \(error)")
          continue
        }
        #expect(diagnostics.contains { $0.severity == .error }, "\(file)")
      }
    }
  }

  /// The values one after the other, as `Connection.readValue` reads them: each uses some bytes and no
  /// more than there are, until more bytes are needed or the reply is malformed.
  @Test func respCorpusParsesOrFails() {
    for file in Self.inputs("resp") {
      let bytes = Self.bytes(file)
      var offset = 0
      while let (_, used) = try? RESP.parse(bytes[offset...]) {
        #expect(used > 0 && offset + used <= bytes.count, "\(file): \(used) bytes at \(offset)")
        guard used > 0 else { break }
        offset += used
      }
    }
  }

  /// Found by scripts/fuzz: a line end where the type byte belongs (a stray CRLF after a reply) trapped
  /// on an inverted range instead of being a protocol error.
  @Test(arguments: ["\r\nJ", "\r\n"])
  func lineEndAtTheStartIsMalformed(text: String) {
    #expect(throws: RESP.ParseError.malformed("unexpected \"\\r\" at the start of a reply")) {
      try RESP.parse(Array(text.utf8)[...])
    }
  }

  @Test func strayLineEndAfterAReplyIsMalformed() throws {
    let bytes = Array("+OK\r\n\r\n".utf8)
    let (value, used) = try #require(try RESP.parse(bytes[...]))
    #expect(value == .simple("OK"))
    #expect(throws: RESP.ParseError.self) { try RESP.parse(bytes[used...]) }
  }

  /// Found by scripts/fuzz: an aggregate's count was reserved before any element arrived, so a count in
  /// the billions asked for terabytes and crashed; now it waits for the elements like any other count.
  @Test(arguments: [">4616038427387904\r\n+msg\r\n", "*9223372036854775807\r\n", "~1000000000\r\n:1\r\n"])
  func hugeCountWaitsForItsElements(text: String) throws {
    #expect(try RESP.parse(Array(text.utf8)[...]) == nil)
  }

  /// Found by scripts/fuzz: a bulk, verbatim or blob error length near Int.max overflowed when the line end
  /// after the bytes was added to it; now it waits for the bytes, as any length longer than the buffer does.
  @Test(arguments: ["=9223372036854775807\r\n:>/t", "$9223372036854775806\r\n", "!9223372036854775807\r\nab\r\n"])
  func lengthNearIntMaxWaitsForItsBytes(text: String) throws {
    #expect(try RESP.parse(Array(text.utf8)[...]) == nil)
  }

  /// Found by scripts/fuzz: a map's count of pairs was doubled into a count of elements, which overflowed
  /// for counts above Int.max / 2; such a count is malformed (no server can send that many pairs).
  @Test(arguments: ["%4611686018427387904\r\n92208\r\n\n", "%9223372036854775807\r\n"])
  func mapCountBeyondHalfOfIntMaxIsMalformed(text: String) {
    #expect(throws: RESP.ParseError.self) { try RESP.parse(Array(text.utf8)[...]) }
  }

  @Test func largestCountableMapWaitsForItsPairs() throws {
    #expect(try RESP.parse(Array("%4611686018427387903\r\n+a\r\n".utf8)[...]) == nil)
  }
}
