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

  static func expectations(for manifest: String) -> (schema: String, errors: [Expectation]) {
    let file = manifest.replacingOccurrences(of: ".json", with: ".expected")
    let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    var schema = ""
    var errors: [Expectation] = []
    for line in text.split(separator: "\n") {
      if line.hasPrefix("# schema: ") {
        schema = String(line.dropFirst("# schema: ".count))
      } else if let bar = line.range(of: " | ") {
        errors.append(
          Expectation(path: String(line[..<bar.lowerBound]), message: String(line[bar.upperBound...])))
      }
    }
    return (schema, errors)
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
        #expect(diagnostic.location != nil || expectation.path == "(top level)", "\(file): no line for \(diagnostic)")
      }
    }
  }
}
