import Foundation
import Testing

/// The engines the integration tests were asked for work, and have the stand-in images. In CI (or when
/// `APPHOST_TEST_ENGINES` names engines) a missing engine fails here, by name, instead of the engine's
/// tests being skipped and the run passing on the others.
@Suite(.enabled(if: TestEngines.mandatory, "the engines are required in CI or when APPHOST_TEST_ENGINES is set"))
struct TestEngineTests {
  @Test func theEnginesAreNamed() {
    #expect(!TestEngines.named.isEmpty, "no engine to test: set APPHOST_TEST_ENGINES (scripts/test does)")
    for engine in TestEngines.named {
      #expect(
        TestEngines.known.contains(engine),
        "APPHOST_TEST_ENGINES names '\(engine)'; the engines are \(TestEngines.known.joined(separator: ", "))")
    }
  }

  @Test(arguments: TestEngines.named)
  func theEngineWorks(engine: String) async throws {
    switch engine {
    case "docker", "podman":
      let info = try await execute(engine, ["info", "--format", "{{json .}}"])
      #expect(info.status == 0, "\(engine) does not answer: \(info.errors)")
      let registry = ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] ?? "localhost/apphost-fixtures"
      let image = try await execute(
        engine, ["image", "inspect", "--format", "{{.Id}}", "\(registry)/library/redis:8.6"])
      #expect(image.status == 0, "\(engine) has no stand-in images: run scripts/fixture-images \(engine)")
    case "native":
      let found = try await execute("sh", ["-c", "command -v redis-server"])
      #expect(found.status == 0, "the native engine needs redis-server on PATH (apt-get install redis-server)")
    default:
      Issue.record("unknown engine '\(engine)'")
    }
  }
}
