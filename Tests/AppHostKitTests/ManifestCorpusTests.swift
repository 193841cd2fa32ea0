import Foundation
import Testing

@testable import AppHostKit

/// Every manifest under Tests/Fixtures/manifests: the valid ones load, each invalid one fails with
/// exactly the errors its `.expected` file lists (JSON path, then a part of the message), in order.
@Suite struct ManifestCorpusTests {
  static func files(_ folder: String) -> [String] {
    let directory = "\(Paths.manifests)/\(folder)"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted().map { "\(directory)/\($0)" }
  }

  struct Expectation {
    var path: String
    var message: String
  }

  /// The `.expected` file: `# schema: ...`, for malformed JSON `# at: LINE:COLUMN` (where the parser
  /// stopped), then one `path | message` line per error.
  static func expectations(for manifest: String) -> (schema: String, at: TextLocation?, errors: [Expectation]) {
    let file = manifest.replacingOccurrences(of: ".json", with: ".expected")
    let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    var schema = ""
    var at: TextLocation?
    var errors: [Expectation] = []
    for line in text.split(separator: "\n") {
      if line.hasPrefix("# schema: ") {
        schema = String(line.dropFirst("# schema: ".count))
      } else if line.hasPrefix("# at: ") {
        let numbers = line.dropFirst("# at: ".count).split(separator: ":").compactMap { Int($0) }
        if numbers.count == 2 { at = TextLocation(line: numbers[0], column: numbers[1]) }
      } else if let bar = line.range(of: " | ") {
        errors.append(
          Expectation(path: String(line[..<bar.lowerBound]), message: String(line[bar.upperBound...])))
      }
    }
    return (schema, at, errors)
  }

  static let environment = [
    "FILES_PASSWORD_FOR_TESTS": "from-the-environment",
    "LEGACY_CONNECTION_FOR_TESTS": "legacy.example:6379,password=legacy-secret",
  ]

  @Test func theCorpusIsLargeEnough() {
    #expect(Self.files("invalid").count >= 40)
    #expect(Self.files("valid").count >= 5)
  }

  @Test(arguments: files("valid"))
  func validManifestLoadsAndPlans(file: String) throws {
    let loaded = try ManifestLoader.load(path: file)
    #expect(loaded.warnings.filter { $0.severity == .error }.isEmpty)
    let passwords = Dictionary(
      uniqueKeysWithValues: Planner.resourcesNeedingGeneratedPasswords(loaded.manifest).map { ($0, "pw") })
    _ = try Planner.plan(loaded, context: PlanContext(environment: Self.environment, generatedPasswords: passwords))
  }

  @Test(arguments: files("invalid"))
  func invalidManifestReportsEveryError(file: String) throws {
    let expected = Self.expectations(for: file)
    #expect(!expected.errors.isEmpty, "\(file) has no .expected file")
    do {
      _ = try ManifestLoader.load(path: file)
      Issue.record("\(file) was accepted")
    } catch {
      guard case .invalidManifest(let reported, let diagnostics) = error else {
        Issue.record("unexpected error \(error)")
        return
      }
      #expect(reported == file)
      let errors = diagnostics.filter { $0.severity == .error }
      #expect(
        errors.count == expected.errors.count,
        "\(file): expected \(expected.errors.count) errors, got:\n\(errors.map(\.description).joined(separator: "\n"))")
      for (diagnostic, expectation) in zip(errors, expected.errors) {
        #expect(diagnostic.path.description == expectation.path, "\(file): \(diagnostic)")
        #expect(diagnostic.message.contains(expectation.message), "\(file): \(diagnostic)")
        // Every error names a line and column, malformed JSON too (where the parser stopped); only a
        // whole-file complaint about a well-formed document (no "resources", not an object) may not.
        let wholeFile = expectation.path == "(top level)" && !diagnostic.message.hasPrefix("malformed JSON")
        #expect(diagnostic.location != nil || wholeFile, "\(file): no line for \(diagnostic)")
        if diagnostic.message.hasPrefix("malformed JSON") {
          #expect(expected.at != nil, "\(file): its .expected file needs '# at: LINE:COLUMN'")
          #expect(diagnostic.location == expected.at, "\(file): \(diagnostic)")
        }
      }
    }
  }
}
