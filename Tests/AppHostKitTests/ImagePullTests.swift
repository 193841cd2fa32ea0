import Foundation
import Testing

@testable import AppHostKit

/// `apphost pull` and the pull `up` does first, against the in-memory engine.
@Suite struct ImagePullTests {
  static let manifest = #"""
    {"name": "shop", "resources": {
      "cache": {"type": "redis"},
      "other": {"type": "redis"},
      "sessions": {"type": "valkey"}
    }}
    """#

  @Test func eachImageIsPulledOnceUnderItsFirstResource() async throws {
    let plan = try plan(Self.manifest)
    #expect(
      ImagePull.images(of: plan.containers) == [
        ImagePull.Image(reference: "docker.io/library/redis:8.6", resources: ["cache", "other"]),
        ImagePull.Image(reference: "docker.io/valkey/valkey:9.0", resources: ["sessions"]),
      ])
    let engine = FakeEngine()
    let events = EventLog()
    let pulled = try await ImagePull(engine: engine, events: events.sink).pull(plan.containers, onlyMissing: false)
    #expect(Set(pulled) == ["docker.io/library/redis:8.6", "docker.io/valkey/valkey:9.0"])
    #expect(engine.journal.filter { $0.hasPrefix("pull ") }.count == 2)
    #expect(!engine.journal.contains { $0.hasPrefix("image-inspect") })
    let progress = events.all.compactMap { event -> String? in
      if case .pullProgress(let resource, let line) = event { return "\(resource): \(line)" }
      return nil
    }
    #expect(
      Set(progress) == ["cache: docker.io/library/redis:8.6: pulled", "sessions: docker.io/valkey/valkey:9.0: pulled"])
  }

  @Test func upPullsOnlyWhatIsMissingAndBeforeItsReadinessClockStarts() async throws {
    let plan = try plan(Self.manifest)
    let engine = FakeEngine()
    engine.haveImages(["docker.io/valkey/valkey:9.0"])
    // The pull takes longer than the whole readiness timeout: up must still succeed.
    engine.delay("pull", by: .milliseconds(400))
    let pullEnded = PullClock()
    let launcher = Launcher(
      engine: engine, plan: plan, owner: .current,
      events: { event in
        if case .pulled = event { pullEnded.mark() }
      },
      readiness: { _, _, deadline, _, _ in
        // The deadline is counted from after the pull.
        guard let ended = pullEnded.instant, deadline - ended >= .milliseconds(250) else {
          return .notReady("the clock started before the pull ended")
        }
        return .ready
      })
    let outcome = try await launcher.start(existing: [], options: .init(timeout: .milliseconds(300)))
    #expect(outcome.ports.count == 3)
    #expect(engine.journal.filter { $0.hasPrefix("pull ") } == ["pull docker.io/library/redis:8.6"])
    let pull = try #require(engine.journal.firstIndex(of: "pull docker.io/library/redis:8.6"))
    let firstRun = try #require(engine.journal.firstIndex { $0.hasPrefix("run ") })
    #expect(pull < firstRun)
    #expect(engine.images == ["docker.io/library/redis:8.6", "docker.io/valkey/valkey:9.0"])
  }

  @Test func aFailedPullStopsUpBeforeAnythingIsMade() async throws {
    let plan = try plan(Self.manifest)
    let engine = FakeEngine()
    engine.haveImages([])
    engine.fail(
      "pull", "docker.io/valkey/valkey:9.0",
      with: .imageUnavailable(
        image: "docker.io/valkey/valkey:9.0", resource: "sessions", flavor: .docker, reason: "manifest unknown"))
    await #expect(throws: AppHostError.self) {
      try await LauncherTests.start(LauncherTests.launcher(plan, engine), engine)
    }
    #expect(engine.containerNames.isEmpty)
    #expect(!engine.journal.contains { $0.hasPrefix("run ") })
  }

  @Test func reusedContainersNeedNoImageCheck() async throws {
    let plan = try plan(Self.manifest)
    let engine = FakeEngine()
    _ = try await LauncherTests.start(LauncherTests.launcher(plan, engine), engine)
    let before = engine.journal.count
    engine.haveImages([])
    _ = try await LauncherTests.start(LauncherTests.launcher(plan, engine), engine)
    #expect(!engine.journal.dropFirst(before).contains { $0.hasPrefix("pull ") || $0.hasPrefix("image-inspect") })
  }

  @Test func theNativeEngineHasNothingToPull() async throws {
    let plan = try plan(Self.manifest, native: true)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pull-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let engine = NativeEngine(state: StateDirectory(projectDirectory: folder), path: "/usr/bin")
    let events = EventLog()
    let pulled = try await ImagePull(engine: engine, events: events.sink).pull(plan.containers, onlyMissing: false)
    #expect(pulled.isEmpty)
    let lines = events.all.compactMap { event -> String? in
      if case .pullProgress(_, let line) = event { return line }
      return nil
    }
    #expect(lines.count == 2)
    #expect(lines.first == "nothing to pull: the native engine runs redis-server from this machine")
    #expect(try await engine.hasImage("docker.io/library/redis:8.6"))
  }
}

final class PullClock: @unchecked Sendable {
  private let lock = NSLock()
  private var ended: ContinuousClock.Instant?
  func mark() { lock.withLock { ended = ContinuousClock.now } }
  var instant: ContinuousClock.Instant? { lock.withLock { ended } }
}
