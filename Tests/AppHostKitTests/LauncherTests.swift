import Foundation
import TestSupport
import Testing

@testable import AppHostKit

/// `up`'s execution against the in-memory engine: what is made, reused, removed, and what a failure or an
/// interruption leaves behind. No engine, no sleeping.
@Suite struct LauncherTests {
  /// A launcher whose readiness answers at once: ready, except for the resources in `failing`.
  static func launcher(_ plan: Plan, _ engine: FakeEngine, events: EventLog = EventLog(), failing: Set<String> = [])
    -> Launcher
  {
    Launcher(
      engine: engine, plan: plan, owner: .current, events: events.sink,
      readiness: { _, port, _, _, _ in
        let name = engine.containerNames.first { engine.record($0)?.ports.values.contains(port) == true }
        let resource = name.flatMap { engine.record($0)?.resource } ?? "?"
        return failing.contains(resource) ? .notReady("not ready in time (last check: refused)") : .ready
      })
  }

  static func start(_ launcher: Launcher, _ engine: FakeEngine, options: Launcher.Options = .init())
    async throws(AppHostError) -> Launcher.Outcome
  {
    let existing = try await engine.containers(project: launcher.plan.project)
    return try await launcher.start(existing: existing, options: options)
  }

  @Test func aFreshStartMakesEveryContainerItsNetworkAndVolumes() async throws {
    let plan = try plan(ReconciliationTests.manifest)
    let engine = FakeEngine()
    let outcome = try await Self.start(Self.launcher(plan, engine), engine)
    #expect(engine.containerNames == ["shop-cache", "shop-insight", "shop-sessions"])
    #expect(engine.networkList == ["shop"])
    #expect(engine.volumeList == ["shop-cache-data", "shop-insight-data"])
    #expect(Set(outcome.created) == ["shop-cache", "shop-insight", "shop-sessions"])
    #expect(outcome.ports.count == 3 && outcome.createdNetwork)
  }

  @Test func aSecondStartReusesAndRunsNothing() async throws {
    let plan = try plan(ReconciliationTests.manifest)
    let engine = FakeEngine()
    _ = try await Self.start(Self.launcher(plan, engine), engine)
    let before = engine.journal.count
    let outcome = try await Self.start(Self.launcher(plan, engine), engine)
    let calls = engine.journal.dropFirst(before)
    #expect(!calls.contains { $0.hasPrefix("run ") || $0.hasPrefix("rm ") || $0.hasPrefix("start ") })
    #expect(Set(outcome.unchanged) == ["cache", "sessions", "insight"])
    #expect(outcome.created.isEmpty)
  }

  /// Podman has given two containers started side by side the same port: the one that lost is made
  /// again and gets another. A port the manifest fixed is not tried again (it stays taken).
  @Test func aContainerWhoseEnginePickedPortIsTakenIsMadeAgain() async throws {
    let plan = try plan(ReconciliationTests.cachesOnly)
    let engine = FakeEngine(flavor: .podman)
    engine.failOnce(
      "run", "shop-cache", with: .portInUse(port: nil, resource: "cache", reason: "address already in use"))
    let events = EventLog()
    let outcome = try await Self.start(Self.launcher(plan, engine, events: events), engine)
    #expect(engine.journal.filter { $0 == "run shop-cache" }.count == 2)
    #expect(engine.journal.contains("rm shop-cache"))
    #expect(outcome.ports["cache"] != nil)
    let notes = events.all.compactMap { event -> String? in
      if case .note(let text) = event { return text }
      return nil
    }
    #expect(
      notes.contains { $0.hasPrefix("cache: the port podman picked was taken before") && $0.contains("attempt 2 of 3") }
    )

    // A replica on docker asks for the port it had last time, free when `up` looked and taken by the time
    // its primary answered and docker came to publish it (a CI run lost one to another test's connection).
    // Docker does not retry an explicit port: the second run leaves the choice to docker.
    var replicated = try AppHostKitTests.plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "replicas": 1}}}"#)
    let replica = try #require(replicated.containers.firstIndex { $0.resource == "cache-replica-1" })
    replicated.containers[replica].preferredPort = 32798
    let docker = FakeEngine(flavor: .docker)
    docker.failOnce(
      "run", "shop-cache-replica-1",
      with: .portInUse(port: nil, resource: "cache-replica-1", reason: "listen tcp4 127.0.0.1:32798: bind"))
    let dockerEvents = EventLog()
    let both = try await Self.start(Self.launcher(replicated, docker, events: dockerEvents), docker)
    #expect(docker.journal.filter { $0 == "run shop-cache-replica-1" }.count == 2)
    #expect(both.ports["cache-replica-1"] != nil && both.ports["cache-replica-1"] != 32798)
    #expect(
      dockerEvents.all.contains { event in
        guard case .note(let text) = event else { return false }
        return text.hasPrefix("cache-replica-1: port 32798 (used last time) was taken")
          && text.contains("on a port docker picks (attempt 2 of 3)")
      })

    // Taken on every attempt: the start fails, naming the port's trouble, and leaves no container.
    let unlucky = FakeEngine(flavor: .docker)
    unlucky.fail("run", "shop-cache", with: .portInUse(port: nil, resource: "cache", reason: "address already in use"))
    await #expect(throws: (any Error).self) { try await Self.start(Self.launcher(plan, unlucky), unlucky) }
    #expect(unlucky.journal.filter { $0 == "run shop-cache" }.count == Launcher.portAttempts)
    #expect(unlucky.containerNames.isEmpty, "\(unlucky.containerNames)")

    let fixed = FakeEngine(flavor: .podman)
    fixed.fail("run", "shop-cache", with: .portInUse(port: 6379, resource: "cache", reason: "address already in use"))
    await #expect(throws: AppHostError.self) { try await Self.start(Self.launcher(plan, fixed), fixed) }
    #expect(fixed.journal.filter { $0 == "run shop-cache" }.count == 1)
  }

  /// A new container whose engine-picked port leaves every connect unanswered (netavark has kept a rule of
  /// a removed container for that port): made again, and waited for on its new port. With a port the
  /// manifest fixed, readiness is not asked to give up early: another container would get the same port.
  @Test func aContainerWhosePortLeadsNowhereIsMadeAgainOnAnotherPort() async throws {
    let picked = try plan(ReconciliationTests.cachesOnly)
    let engine = FakeEngine(flavor: .podman)
    let asked = Asked()
    let events = EventLog()
    let launcher = Launcher(
      engine: engine, plan: picked, owner: .current, events: events.sink,
      readiness: { _, port, _, unreachableAfter, _ in
        let name = engine.containerNames.first { engine.record($0)?.ports.values.contains(port) == true } ?? "?"
        // The first port the engine gave the cache leads nowhere.
        if asked.add(name, port, unreachableAfter) == 1, name == "shop-cache", let unreachableAfter {
          throw Probe.Unreachable(port: port, after: unreachableAfter)
        }
        return .ready
      })
    let outcome = try await Self.start(launcher, engine)
    #expect(engine.journal.filter { $0 == "run shop-cache" }.count == 2)
    #expect(engine.journal.contains("rm shop-cache"))
    let cache = asked.calls.filter { $0.name == "shop-cache" }
    #expect(cache.count == 2 && cache[0].port != cache[1].port)
    #expect(cache.first?.unreachableAfter == Launcher.unreachableAfter)
    #expect(outcome.ports["cache"] == cache.last?.port)
    let notes = events.all.compactMap { event -> String? in
      if case .note(let text) = event { return text }
      return nil
    }
    #expect(
      notes.contains { $0.contains("nothing answered on 127.0.0.1:\(cache[0].port)") && $0.contains("another port") })

    let fixed = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "hostPort": 16379}}}"#)
    let other = FakeEngine(flavor: .podman)
    let fixedAsked = Asked()
    let fixedLauncher = Launcher(
      engine: other, plan: fixed, owner: .current, events: { _ in },
      readiness: { _, port, _, unreachableAfter, _ in
        _ = fixedAsked.add("cache", port, unreachableAfter)
        return .ready
      })
    _ = try await Self.start(fixedLauncher, other)
    #expect(fixedAsked.calls.map(\.port) == [16379])
    #expect(fixedAsked.calls.allSatisfy { $0.unreachableAfter == nil })
  }

  /// What a test's readiness was asked, in order.
  final class Asked: @unchecked Sendable {
    struct Call { var name: String, port: Int, unreachableAfter: Duration? }
    private let lock = NSLock()
    private var recorded: [Call] = []
    /// Records a call; returns how many calls there were for `name`, this one included.
    func add(_ name: String, _ port: Int, _ unreachableAfter: Duration?) -> Int {
      lock.withLock {
        recorded.append(Call(name: name, port: port, unreachableAfter: unreachableAfter))
        return recorded.filter { $0.name == name }.count
      }
    }
    var calls: [Call] { lock.withLock { recorded } }
  }

  @Test func aChangedCacheIsRecreatedAndItsVolumeKept() async throws {
    let engine = FakeEngine()
    _ = try await Self.start(Self.launcher(try plan(ReconciliationTests.cachesOnly), engine), engine)
    let changed = try plan(
      ReconciliationTests.cachesOnly.replacingOccurrences(
        of: #""dataVolume": true"#, with: #""dataVolume": true, "args": ["--maxmemory", "64mb"]"#))
    let events = EventLog()
    let before = engine.journal.count
    _ = try await Self.start(Self.launcher(changed, engine, events: events), engine)
    let calls = Array(engine.journal.dropFirst(before))
    // It keeps data: it is asked to SAVE, which the fake cannot, so it is stopped with a grace period.
    let removed = try #require(calls.firstIndex(of: "stop+rm shop-cache"))
    let made = try #require(calls.firstIndex(of: "run shop-cache"))
    #expect(removed < made)
    #expect(!calls.contains("run shop-sessions"))
    #expect(!calls.contains { $0.hasPrefix("volume-rm") })
    #expect(engine.volumeList == ["shop-cache-data"])
    #expect(
      events.all.contains {
        if case .recreating(let resource, let reason) = $0 {
          return resource == "cache" && reason.contains("configuration")
        }
        return false
      })
  }

  @Test func aFailedStartRemovesEverythingItMadeAndNothingElse() async throws {
    let caches = try plan(ReconciliationTests.cachesOnly)
    let plan = try plan(ReconciliationTests.manifest)
    let engine = FakeEngine()
    // Made by an earlier run and reused: must survive this run's failure.
    _ = try await Self.start(Self.launcher(caches, engine), engine)
    engine.fail("run", "shop-insight", with: .engineFailed(command: "docker run (insight)", reason: "boom"))
    await #expect(throws: AppHostError.self) { try await Self.start(Self.launcher(plan, engine), engine) }
    #expect(engine.containerNames == ["shop-cache", "shop-sessions"])
    // The volume of insight was made by this run: it goes; the caches' stays.
    #expect(engine.volumeList == ["shop-cache-data"])
    // The caches joined the network this run made, so it stays (the engine refuses to remove it).
    #expect(engine.networkList == ["shop"])
  }

  @Test func aCacheThatNeverAnswersIsReportedWithItsLogAndBackedOut() async throws {
    let plan = try plan(ReconciliationTests.cachesOnly)
    let engine = FakeEngine()
    do {
      _ = try await Self.start(Self.launcher(plan, engine, failing: ["sessions"]), engine)
      Issue.record("the start succeeded")
    } catch {
      guard case .startFailed(let failures) = error else { throw error }
      #expect(failures.map(\.resource) == ["sessions"])
      #expect(failures.first?.logTail == ["log line of shop-sessions"])
      #expect(failures.first?.reason.contains("not ready in time") == true)
    }
    #expect(engine.containerNames.isEmpty)
    #expect(engine.volumeList.isEmpty)
  }

  @Test func anInterruptedStartKeepsPersistentContainersAndVolumes() async throws {
    let plan = try plan(ReconciliationTests.cachesOnly)
    let engine = FakeEngine()
    // The session cache takes long to start; the persistent one is made at once.
    engine.delay("port", "shop-cache", by: .seconds(30))
    let launcher = Self.launcher(plan, engine)
    let task = Task { () async throws(AppHostError) -> Launcher.Outcome in try await Self.start(launcher, engine) }
    while engine.record("shop-sessions") == nil || engine.record("shop-cache") == nil { await Task.yield() }
    task.cancel()
    let result = await task.result
    #expect(throws: AppHostError.self) { try result.get() }
    #expect(engine.containerNames == ["shop-sessions"])
    #expect(engine.volumeList == ["shop-cache-data"])
  }

  @Test func leftoversOfAKilledUpAreRemovedBeforeAnythingStarts() async throws {
    let plan = try plan(ReconciliationTests.cachesOnly)
    let engine = FakeEngine()
    engine.add(ReconciliationTests.observed(plan, "cache", owner: ReconciliationTests.deadOwner))
    _ = try await Self.start(Self.launcher(plan, engine), engine)
    let calls = engine.journal
    let removed = try #require(calls.firstIndex(of: "stop+rm shop-cache"))
    let made = try #require(calls.firstIndex(of: "run shop-cache"))
    #expect(removed < made)
    #expect(engine.record("shop-cache")?.owner == ProcessIdentity.current)
  }

  @Test func aTakenFixedPortIsRefusedBeforeAnythingIsMade() async throws {
    let listener = try TCPListener()
    defer { listener.close() }
    let plan = try plan(#"{"name": "shop", "resources": {"cache": {"type": "redis", "hostPort": \#(listener.port)}}}"#)
    let engine = FakeEngine()
    await #expect(throws: AppHostError.self) { try await Self.start(Self.launcher(plan, engine), engine) }
    #expect(!engine.journal.contains { $0.hasPrefix("run ") })
  }

  @Test func downRemovesContainersThenTheNetworkAndVolumesOnlyWhenAsked() async throws {
    let plan = try plan(ReconciliationTests.manifest)
    let engine = FakeEngine()
    _ = try await Self.start(Self.launcher(plan, engine), engine)
    let teardown = Teardown(engine: engine, events: { _ in })
    let records = try await engine.containers(project: "shop")
    // `SAVE` needs a live server; the fake has none, so the cache is stopped with a grace period instead.
    try await teardown.down(project: "shop", directory: plan.projectDirectory, containers: records, volumes: false)
    #expect(engine.containerNames.isEmpty && engine.networkList.isEmpty)
    #expect(engine.volumeList == ["shop-cache-data", "shop-insight-data"])
    let calls = engine.journal
    let lastRemoval = try #require(calls.lastIndex { $0.hasPrefix("rm ") || $0.hasPrefix("stop+rm ") })
    let network = try #require(calls.firstIndex { $0.hasPrefix("network-rm") })
    #expect(lastRemoval < network)
    try await teardown.down(project: "shop", directory: plan.projectDirectory, containers: [], volumes: true)
    #expect(engine.volumeList.isEmpty)
  }
}
