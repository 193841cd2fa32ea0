import Foundation
import TestSupport
import Testing

/// `apphost pull`, and `up` pulling a missing image before its readiness clock starts. The machines have no
/// registry: the engine CLI apphost finds on PATH is a wrapper whose `pull` of the test's image takes
/// a few seconds, prints progress and tags the redis stand-in under that name; every other command
/// goes to the real CLI.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct PullTests {
  static var registry: String {
    ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] ?? "localhost/apphost-fixtures"
  }

  /// A folder with `engine` as a wrapper that makes pulls of `*/apphost-pulltest/*` slow and local.
  static func slowPullEngine(_ engine: String, seconds: Int, in folder: TemporaryFolder) throws -> String {
    let real = try #require(findOnPath(engine), "\(engine) is not on PATH")
    let script = folder.write(
      "bin/\(engine)",
      """
      #!/bin/sh
      if [ "$1" = pull ]; then
          case "$2" in
          */apphost-pulltest/*)
              echo "$2: Pulling from apphost-pulltest (test wrapper)"
              sleep \(seconds)
              echo "layer1: Download complete"
              exec "\(real)" tag "\(registry)/library/redis:8.6" "$2" ;;
          esac
      fi
      exec "\(real)" "$@"
      """)
    chmod(script, 0o755)
    return (script as NSString).deletingLastPathComponent
  }

  static func findOnPath(_ name: String) -> String? {
    for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
      let candidate = "\(folder)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  @Test(arguments: TestEngines.all)
  func upPullsAMissingImageBeforeItsReadinessClockStarts(engine: String) async throws {
    let tools = TemporaryFolder("apphost-pull-bin")
    defer { tools.remove() }
    let bin = try Self.slowPullEngine(engine, seconds: 25, in: tools)
    let tag = "t\(UUID().uuidString.prefix(8).lowercased())"
    let image = "\(Self.registry)/apphost-pulltest/redis:\(tag)"
    let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "")
    try await EngineProject.run(engine: engine, "pull") { project in
      defer { Task { _ = try? await execute(engine, ["rmi", "--force", image]) } }
      project.manifest(#""cache": {"type": "redis", "image": "docker.io/apphost-pulltest/redis", "tag": "\#(tag)"}"#)
      // A 25 s pull and a 20 s readiness timeout: up succeeds only if the clock starts after the pull.
      // (The timeout also covers the container's `run`: with 10 s, a docker `run` on a machine loaded by the
      // rest of the suite left the server ready only as the deadline passed.)
      let up = try await project.apphost("up", "-d", "--timeout", "20", environment: ["PATH": path])
      #expect(up.status == 0, "\(up)")
      #expect(up.output.contains("cache | pulling \(image)"), "\(up.output)")
      #expect(up.output.contains("cache | layer1: Download complete"), "\(up.output)")
      #expect(up.output.contains("cache | pulled \(image)"), "\(up.output)")
      let pulledAt = try #require(up.output.range(of: "pulled \(image)"))
      let createdAt = try #require(up.output.range(of: "cache | creating"))
      #expect(pulledAt.lowerBound < createdAt.lowerBound)
      let environment = try await project.environment()
      #expect(
        try await project.redis(port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "PING")
          == "PONG")

      // The image is there now: a second up (after down) does not pull.
      try await project.succeed("down")
      let again = try await project.apphost("up", "-d", "--timeout", "20", environment: ["PATH": path])
      #expect(again.status == 0, "\(again)")
      #expect(!again.output.contains("pulling"), "\(again.output)")

      // apphost pull pulls it anyway (newer images of the same tag), with progress.
      let pull = try await project.apphost("pull", environment: ["PATH": path])
      #expect(pull.status == 0, "\(pull)")
      #expect(pull.output.contains("cache | pulling \(image)"), "\(pull.output)")
      #expect(pull.output.contains("apphost: 1 image pulled"), "\(pull.output)")
    }
  }

  @Test(arguments: TestEngines.all)
  func anImageThatCannotBePulledIsNamedWithTheRemedy(engine: String) async throws {
    try await EngineProject.run(engine: engine, "pullfail") { project in
      let tag = "t\(UUID().uuidString.prefix(8).lowercased())"
      project.manifest(#""cache": {"type": "redis", "image": "docker.io/apphost-nosuch/redis", "tag": "\#(tag)"}"#)
      let pull = try await project.apphost("pull")
      #expect(pull.status == 1, "\(pull)")
      #expect(
        pull.errors.contains("the image \(Self.registry)/apphost-nosuch/redis:\(tag) is not on this machine"), "\(pull)"
      )
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 1, "\(up)")
      #expect(up.output.contains("cache | pulling"), "\(up)")
      #expect(!up.output.contains("creating"), "\(up)")
      #expect(try await project.leftovers().isEmpty)
    }
  }
}

@Suite struct NativePullTests {
  @Test func theNativeEngineSaysThereIsNothingToPull() async throws {
    let folder = TemporaryFolder("apphost-native-pull")
    defer { folder.remove() }
    folder.write("apphost.json", #"{"name": "np", "engine": "native", "resources": {"cache": {"type": "redis"}}}"#)
    let pull = try await execute(Binary.path, ["pull"], in: folder.path, environment: ["NO_COLOR": "1"])
    #expect(pull.status == 0, "\(pull)")
    #expect(
      pull.output.contains("cache | nothing to pull: the native engine runs redis-server from this machine"), "\(pull)")
  }
}
