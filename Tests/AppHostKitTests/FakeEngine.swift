import Foundation

@testable import AppHostKit

/// An engine in memory: containers, networks and volumes as values, every call written to a journal,
/// and any call made to fail (or to take a while) on cue. It lets the unit tests drive reuse, recreate,
/// removal, back-out and teardown with no engine installed.
final class FakeEngine: ContainerEngine, @unchecked Sendable {
  let flavor: EngineFlavor
  private let lock = NSLock()
  private var containerRecords: [String: ContainerRecord] = [:]
  private var networkNames: Set<String> = []
  private var volumeNames: Set<String> = []
  private var calls: [String] = []
  private var failures: [String: AppHostError] = [:]
  private var onceOnly: Set<String> = []
  private var delays: [String: Duration] = [:]
  private var nextPort = 49_000
  /// Images on this "machine"; nil: every image is there.
  private var imageNames: Set<String>? = nil

  init(flavor: EngineFlavor = .docker) {
    self.flavor = flavor
  }

  /// Every call so far, as `verb subject` lines ("run shop-cache", "rm shop-cache").
  var journal: [String] { locked { calls } }
  var containerNames: [String] { locked { containerRecords.keys.sorted() } }
  var networkList: [String] { locked { networkNames.sorted() } }
  var volumeList: [String] { locked { volumeNames.sorted() } }
  func record(_ name: String) -> ContainerRecord? { locked { containerRecords[name] } }

  /// Makes the call `verb subject` (or every call of `verb` when `subject` is nil) fail with `error`.
  func fail(_ verb: String, _ subject: String? = nil, with error: AppHostError) {
    locked { failures[[verb, subject].compactMap { $0 }.joined(separator: " ")] = error }
  }

  /// Like `fail`, for the next such call only.
  func failOnce(_ verb: String, _ subject: String? = nil, with error: AppHostError) {
    let key = [verb, subject].compactMap { $0 }.joined(separator: " ")
    locked {
      failures[key] = error
      onceOnly.insert(key)
    }
  }

  /// Makes the call `verb subject` take `duration` first.
  func delay(_ verb: String, _ subject: String? = nil, by duration: Duration) {
    locked { delays[[verb, subject].compactMap { $0 }.joined(separator: " ")] = duration }
  }

  /// Only these images are on the machine (the others must be pulled first).
  func haveImages(_ images: [String]) {
    locked { imageNames = Set(images) }
  }

  var images: [String]? { locked { imageNames?.sorted() } }

  /// Puts a container there as if an earlier run had made it.
  func add(_ record: ContainerRecord) {
    locked { containerRecords[record.name] = record }
  }

  /// Stops a container as if it had crashed.
  func crash(_ name: String, exitCode: Int = 137) {
    locked {
      containerRecords[name]?.state = .exited
      containerRecords[name]?.exitCode = exitCode
    }
  }

  private func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  /// Journals the call, waits its delay, throws its failure.
  private func call(_ verb: String, _ subject: String) async throws(AppHostError) {
    let (delay, failure) = locked { () -> (Duration?, AppHostError?) in
      calls.append("\(verb) \(subject)")
      let key = "\(verb) \(subject)"
      let matched = failures[key] != nil ? key : verb
      let failure = failures[matched]
      if onceOnly.remove(matched) != nil { failures[matched] = nil }
      return (delays[key] ?? delays[verb], failure)
    }
    if let delay {
      do { try await Task.sleep(for: delay) } catch { throw .cancelled }
    }
    if let failure { throw failure }
  }

  func isRootless() async throws(AppHostError) -> Bool { false }

  func containers(project: String) async throws(AppHostError) -> [ContainerRecord] {
    try await call("ps", project)
    return locked {
      containerRecords.values.filter { $0.labels[LabelKey.project] == project }.sorted { $0.name < $1.name }
    }
  }

  func inspect(_ names: [String]) async throws(AppHostError) -> [ContainerRecord] {
    try await call("inspect", names.joined(separator: ","))
    return locked { names.compactMap { containerRecords[$0] } }
  }

  func createNetwork(_ network: NetworkPlan) async throws(AppHostError) -> Bool {
    try await call("network-create", network.name)
    return locked { networkNames.insert(network.name).inserted }
  }

  func networks(project: String, directory: String) async throws(AppHostError) -> [String] {
    locked { networkNames.sorted() }
  }

  func removeNetworks(_ names: [String]) async throws(AppHostError) {
    try await call("network-rm", names.joined(separator: ","))
    // As the engines do: a network that containers still use cannot be removed.
    try locked { () throws(AppHostError) in
      if let used = names.first(where: { name in containerRecords.values.contains { $0.networks.contains(name) } }) {
        throw .engineFailed(command: "network rm", reason: "error while removing network: \(used) has active endpoints")
      }
      networkNames.subtract(names)
    }
  }

  func createVolume(_ volume: VolumePlan) async throws(AppHostError) -> Bool {
    try await call("volume-create", volume.name)
    return locked { volumeNames.insert(volume.name).inserted }
  }

  func volumes(project: String, directory: String) async throws(AppHostError) -> [String] {
    locked { volumeNames.sorted() }
  }

  func removeVolumes(_ names: [String]) async throws(AppHostError) {
    try await call("volume-rm", names.joined(separator: ","))
    locked { volumeNames.subtract(names) }
  }

  func connect(_ container: String, to network: String, alias: String) async throws(AppHostError) {
    try await call("connect", "\(container)>\(network)")
    locked { containerRecords[container]?.networks.append(network) }
  }

  func hasImage(_ image: String) async throws(AppHostError) -> Bool {
    try await call("image-inspect", image)
    return locked { imageNames?.contains(image) ?? true }
  }

  func pull(_ image: String, resource: String, progress: @escaping @Sendable (String) -> Void)
    async throws(AppHostError)
  {
    try await call("pull", image)
    progress("\(image): pulled")
    locked { _ = imageNames?.insert(image) }
  }

  func run(_ container: ContainerPlan, owner: Owner?, detached: Bool) async throws(AppHostError) {
    try await call("run", container.containerName)
    try locked { () throws(AppHostError) in
      if let imageNames, !imageNames.contains(container.image) {
        throw .imageUnavailable(
          image: container.image, resource: container.resource, flavor: flavor, reason: "Unable to find image")
      }
      if containerRecords[container.containerName] != nil {
        throw .engineFailed(command: "run", reason: "the name \(container.containerName) is already in use")
      }
      var labels = Dictionary(container.labels.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
      labels[LabelKey.configHash] = container.configHash
      if container.lifetime == .session, let owner {
        labels[LabelKey.ownerPID] = owner.pid
        labels[LabelKey.ownerStart] = owner.startTime
      }
      if detached && container.lifetime == .session { labels[LabelKey.detached] = "true" }
      var environment: [String: String] = [:]
      for variable in container.environment { environment[variable.name] = variable.value.revealed() }
      nextPort += 1
      // Like docker: the port asked for (fixed, else the one remembered), else one it picks.
      let port = container.hostPort ?? container.preferredPort ?? nextPort
      containerRecords[container.containerName] = ContainerRecord(
        id: "id-\(container.containerName)", name: container.containerName, labels: labels, environment: environment,
        state: .running, exitCode: 0, ports: [container.containerPort: port],
        image: container.image, networks: container.network.map { [$0] } ?? [])
    }
  }

  func stop(_ name: String, grace: Duration) async throws(AppHostError) {
    try await call("stop", name)
    locked {
      containerRecords[name]?.state = .exited
      containerRecords[name]?.exitCode = 0
    }
  }

  func start(_ name: String) async throws(AppHostError) {
    try await call("start", name)
    locked { containerRecords[name]?.state = .running }
  }

  func hostPort(_ name: String, containerPort: Int) async throws(AppHostError) -> Int {
    try await call("port", name)
    guard let port = locked({ containerRecords[name]?.ports[containerPort] }) else {
      throw .engineOutput(command: "port \(name)", reason: "no such container")
    }
    return port
  }

  func remove(_ names: [String], grace: Duration?) async throws(AppHostError) {
    guard !names.isEmpty else { return }
    try await call(grace == nil ? "rm" : "stop+rm", names.joined(separator: ","))
    locked {
      for name in names { containerRecords[name] = nil }
    }
  }

  func logs(_ name: String, tail: Int?, since: Date?, timestamps: Bool) async throws(AppHostError) -> [String] {
    ["log line of \(name)"]
  }

  func followLogs(
    _ name: String, tail: Int?, since: Date?, timestamps: Bool, onLine: @escaping @Sendable (String) -> Void
  ) async throws(AppHostError) {
    onLine("log line of \(name)")
  }
}

/// Collects a run's events.
final class EventLog: @unchecked Sendable {
  private let lock = NSLock()
  private var events: [RunEvent] = []

  var sink: EventSink { { [self] event in lock.withLock { events.append(event) } } }
  var all: [RunEvent] { lock.withLock { events } }
}
