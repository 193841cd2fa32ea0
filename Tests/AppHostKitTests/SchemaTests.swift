import Foundation
import TestSupport
import Testing

@testable import AppHostKit

/// apphost.schema.json is for editors; these tests keep it in step with what the reader accepts.
@Suite struct SchemaTests {
  @Test func theBinaryCarriesTheSchemaFile() throws {
    let file = try String(contentsOfFile: Paths.repository + "/apphost.schema.json", encoding: .utf8)
    #expect(
      ManifestSchema.text + "\n" == file,
      "apphost.schema.json changed: run scripts/sync-schema so that `apphost init` writes the new one")
  }

  @Test func theSchemaIsValidJSON() throws {
    _ = try JSONParser.parse(Array(ManifestSchema.text.utf8))
  }

  /// Validates documents with the `jsonschema` Python package; returns path -> first error (nil: valid).
  func validate(_ documents: [String]) throws -> [String: String?] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
      ["python3", Paths.repository + "/scripts/schema-check.py", Paths.repository + "/apphost.schema.json"] + documents
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(
      process.terminationStatus == 0,
      "scripts/schema-check.py failed (is the jsonschema package installed? scripts/test installs it): \(errorText)")
    var results: [String: String?] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      if line.hasPrefix("valid ") {
        results[String(line.dropFirst(6))] = .some(nil)
      } else if line.hasPrefix("invalid "), let colon = line.range(of: ": ") {
        results[String(line[line.index(line.startIndex, offsetBy: 8)..<colon.lowerBound])] = String(
          line[colon.upperBound...])
      }
    }
    return results
  }

  @Test func schemaAgreesWithTheReaderOnTheCorpus() throws {
    let folder = TemporaryFolder("apphost-schema")
    defer { folder.remove() }
    var expectations: [String: (source: String, valid: Bool)] = [:]
    // Valid manifests (comments removed: JSON Schema tools read plain JSON).
    for file in ManifestCorpusTests.files("valid") + [Paths.repository + "/apphost.json"] {
      let node = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
      let copy = folder.write("valid-\(expectations.count).json", serialize(node))
      expectations[copy] = (file, true)
    }
    for file in ManifestCorpusTests.files("invalid") {
      switch ManifestCorpusTests.expectations(for: file).schema {
      case "reject": expectations[file] = (file, false)
      case "accept": expectations[file] = (file, true)
      case "unparsable": continue
      default: Issue.record("\(file): its .expected file needs a '# schema:' line")
      }
    }
    let results = try validate(expectations.keys.sorted())
    for (document, expectation) in expectations {
      guard let result = results[document] else {
        Issue.record("no result for \(expectation.source)")
        continue
      }
      if expectation.valid {
        #expect(result == nil, "the schema rejects \(expectation.source): \(result ?? "")")
      } else {
        #expect(result != nil, "the schema accepts \(expectation.source), which the reader rejects")
      }
    }
  }
}

/// Plain JSON text of a parsed document (comments dropped).
func serialize(_ node: JSONNode) -> String {
  switch node.value {
  case .null: return "null"
  case .bool(let flag): return flag ? "true" : "false"
  case .number(let number): return number.text
  case .string(let text): return jsonString(text)
  case .array(let items): return "[" + items.map(serialize).joined(separator: ",") + "]"
  case .object(let members):
    return "{" + members.map { jsonString($0.key) + ":" + serialize($0.value) }.joined(separator: ",") + "}"
  }
}

func jsonString(_ text: String) -> String {
  let data = try! JSONEncoder().encode(text)
  return String(decoding: data, as: UTF8.self)
}
