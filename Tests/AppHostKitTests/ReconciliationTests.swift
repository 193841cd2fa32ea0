import Foundation
import Testing

@testable import AppHostKit

/// The decisions of `up` as text, the way docker/compose tests its plans: what the engine has, what the
/// manifest wants, and the steps in between.
@Suite struct ReconciliationTests {
  static let manifest = #"""
    {"name": "shop", "resources": {
      "cache": {"type": "redis", "dataVolume": true},
      "sessions": {"type": "valkey", "lifetime": "persistent"},
      "insight": {"type": "redisinsight", "caches": ["cache"]}
    }}
    """#

  static let cachesOnly = #"""
    {"name": "shop", "resources": {
      "cache": {"type": "redis", "dataVolume": true},
      "sessions": {"type": "valkey", "lifetime": "persistent"}
    }}
    """#

  /// A record as the engine would report the container `plan` made (running, same hash, on its network).
  static func observed(
    _ plan: Plan, _ resource: String, state: ContainerState = .running, hash: String? = nil,
    owner: ProcessIdentity? = nil,
    directory: String? = nil, networks: [String]? = nil
  ) -> ContainerRecord {
    let container = plan.container(resource)!
    var labels = Dictionary(container.labels.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    labels[LabelKey.configHash] = hash ?? container.configHash
    if let directory { labels[LabelKey.projectDirectory] = directory }
    if let owner {
      labels[LabelKey.ownerPID] = "\(owner.pid)"
      labels[LabelKey.ownerStart] = owner.startTime
    }
    return ContainerRecord(
      id: resource, name: container.containerName, labels: labels, environment: [:], state: state, exitCode: 0,
      ports: [container.containerPort: 50_000], image: container.image,
      networks: networks ?? container.network.map { [$0] } ?? [])
  }

  /// A process that is certainly gone: the owner of a killed `up`.
  static let deadOwner = ProcessIdentity(pid: 999_999, startTime: "1")

  @Test func aFreshProjectCreatesEverythingWithItsNetworkAndVolume() throws {
    let plan = try plan(Self.manifest)
    let steps = try Reconciliation.plan(plan, observed: [])
    #expect(
      steps.lines == [
        "create   cache  (docker.io/library/redis:8.6)",
        "create   sessions  (docker.io/valkey/valkey:9.0)",
        "create   insight  (docker.io/redis/redisinsight:3.0)",
        "network  shop  (created if missing)",
        "volume   shop-cache-data  (created if missing)",
        "volume   shop-insight-data  (created if missing)",
      ])
    #expect(!steps.isNoOp)
  }

  @Test func whatRunsUnchangedIsReusedAndNothingElseHappens() throws {
    let plan = try plan(Self.manifest)
    let observed = ["cache", "sessions", "insight"].map { Self.observed(plan, $0) }
    let steps = try Reconciliation.plan(plan, observed: observed)
    #expect(
      steps.lines == [
        "reuse    cache  (running, unchanged)",
        "reuse    sessions  (running, unchanged)",
        "reuse    insight  (running, unchanged)",
      ])
    #expect(steps.isNoOp)
    #expect(steps.network == nil && steps.volumes.isEmpty)
  }

  @Test func aChangedConfigurationRecreatesWithItsReason() throws {
    let plan = try plan(Self.cachesOnly)
    var old = Self.observed(plan, "cache", hash: "0000")
    var steps = try Reconciliation.plan(plan, observed: [old, Self.observed(plan, "sessions")])
    #expect(steps.lines.first == "recreate cache  (its configuration changed)")
    #expect(steps.steps.first?.makesContainer == true)
    old.image = "docker.io/library/redis:7.4"
    steps = try Reconciliation.plan(plan, observed: [old, Self.observed(plan, "sessions")])
    #expect(
      steps.lines.first
        == "recreate cache  (its image changed: docker.io/library/redis:7.4 -> docker.io/library/redis:8.6)")
    // The volume of a container being made again is created if missing (it is kept when it exists).
    #expect(steps.volumes.map(\.name) == ["shop-cache-data"])
  }

  @Test func aStoppedContainerIsStartedAgain() throws {
    let plan = try plan(Self.cachesOnly)
    let steps = try Reconciliation.plan(
      plan, observed: [Self.observed(plan, "cache"), Self.observed(plan, "sessions", state: .exited)])
    #expect(steps.lines == ["reuse    cache  (running, unchanged)", "start    sessions  (shop-sessions is exited)"])
  }

  @Test func leftoversOfAKilledUpGoFirstAndAreMadeAgain() throws {
    let plan = try plan(Self.cachesOnly)
    let leftover = Self.observed(plan, "cache", owner: Self.deadOwner)
    let steps = try Reconciliation.plan(plan, observed: [leftover, Self.observed(plan, "sessions")])
    #expect(
      steps.lines == [
        "remove   cache  (shop-cache: left by apphost up pid 999999, which is gone)",
        "create   cache  (docker.io/library/redis:8.6)",
        "reuse    sessions  (running, unchanged)",
        "volume   shop-cache-data  (created if missing)",
      ])
    #expect(steps.removals.map(\.name) == ["shop-cache"])
  }

  @Test func aSessionContainerOfALiveUpIsNotALeftover() throws {
    let plan = try plan(Self.cachesOnly)
    let alive = Self.observed(plan, "cache", owner: .current)
    let steps = try Reconciliation.plan(plan, observed: [alive, Self.observed(plan, "sessions")])
    #expect(steps.removals.isEmpty)
    #expect(steps.isNoOp)
  }

  @Test func aResourceGoneFromTheManifestIsRemovedUnlessUpNamesResources() throws {
    let full = try plan(Self.manifest)
    let plan = try plan(Self.cachesOnly)
    let observed = [
      Self.observed(plan, "cache"), Self.observed(plan, "sessions"), Self.observed(full, "insight"),
    ]
    var steps = try Reconciliation.plan(plan, observed: observed)
    #expect(steps.lines.first == "remove   insight  (shop-insight: no longer in the manifest)")
    steps = try Reconciliation.plan(plan, observed: observed, selection: ["cache"])
    #expect(steps.lines == ["reuse    cache  (running, unchanged)"])
  }

  @Test func aSelectionBringsWhatItNeeds() throws {
    let plan = try plan(Self.manifest)
    let steps = try Reconciliation.plan(plan, observed: [], selection: ["insight"])
    #expect(steps.bringUps.map(\.resource) == ["cache", "insight"])
    #expect(throws: AppHostError.self) { try Reconciliation.plan(plan, observed: [], selection: ["nope"]) }
  }

  @Test func aContainerOfAnotherFolderIsNotOursToTouch() throws {
    let plan = try plan(Self.cachesOnly)
    let foreign = Self.observed(plan, "cache", directory: "/elsewhere/shop")
    #expect {
      try Reconciliation.plan(plan, observed: [foreign])
    } throws: { error in
      guard case .containerNameTaken(let name, _, let directory) = error as? AppHostError else { return false }
      return name == "shop-cache" && directory == "/elsewhere/shop"
    }
  }

  @Test func aCacheMadeBeforeTheProjectHadANetworkJoinsIt() throws {
    let plan = try plan(Self.manifest)
    let observed = [
      Self.observed(plan, "cache", networks: []), Self.observed(plan, "sessions"), Self.observed(plan, "insight"),
    ]
    let steps = try Reconciliation.plan(plan, observed: observed)
    #expect(steps.joins == ["shop-cache"])
    #expect(!steps.isNoOp)
    #expect(steps.lines.contains("connect  shop-cache  (to the network shop)"))
  }
}
