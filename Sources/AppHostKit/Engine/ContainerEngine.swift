import Foundation

/// The one seam to docker or podman: the verbs the orchestration needs. `CLIEngine` carries them out by
/// running the engine's command line; the arguments and the parsing of what comes back are pure
/// functions in `EngineCommands`.
package protocol ContainerEngine: Sendable {
  var flavor: EngineFlavor { get }

  /// Whether containers run in a user namespace (container root is the user).
  func isRootless() async throws(AppHostError) -> Bool

  /// Every container of the project (any state), inspected.
  func containers(project: String) async throws(AppHostError) -> [ContainerRecord]
  func inspect(_ names: [String]) async throws(AppHostError) -> [ContainerRecord]

  /// Creates the network unless it exists; true when this call created it.
  func createNetwork(_ network: NetworkPlan) async throws(AppHostError) -> Bool
  /// Names of the networks and volumes carrying the project's labels.
  func networks(project: String, directory: String) async throws(AppHostError) -> [String]
  func removeNetworks(_ names: [String]) async throws(AppHostError)

  /// Creates the volume unless it exists; true when this call created it.
  func createVolume(_ volume: VolumePlan) async throws(AppHostError) -> Bool
  func volumes(project: String, directory: String) async throws(AppHostError) -> [String]
  func removeVolumes(_ names: [String]) async throws(AppHostError)

  /// Attaches an existing container to the project network under its alias.
  func connect(_ container: String, to network: String, alias: String) async throws(AppHostError)

  /// Creates and starts a container.
  func run(_ container: ContainerPlan, owner: Owner?, detached: Bool) async throws(AppHostError)
  func start(_ name: String) async throws(AppHostError)
  /// The port on 127.0.0.1 published for `containerPort`.
  func hostPort(_ name: String, containerPort: Int) async throws(AppHostError) -> Int
  /// Stops a container (SIGTERM, then SIGKILL after `grace`) and keeps it, to be started again with
  /// `start` (the control socket's `stop` and `restart`).
  func stop(_ name: String, grace: Duration) async throws(AppHostError)
  /// Stops (SIGTERM, then SIGKILL after `grace`) and removes containers with their anonymous volumes;
  /// missing ones are fine.
  func remove(_ names: [String], grace: Duration?) async throws(AppHostError)

  /// The last `tail` lines of a container's output (stdout and stderr).
  /// `since`: only lines written from then on; `timestamps`: each line begins with when it was written.
  func logs(_ name: String, tail: Int?, since: Date?, timestamps: Bool) async throws(AppHostError) -> [String]
  /// Streams a container's output line by line until it stops or the task is cancelled.
  func followLogs(
    _ name: String, tail: Int?, since: Date?, timestamps: Bool, onLine: @escaping @Sendable (String) -> Void
  ) async throws(AppHostError)

  /// Checks, before anything is made, that these containers can be made at all (the native engine: that
  /// their servers are installed), so that a missing piece stops `up` with nothing half-started.
  func preflight(_ containers: [ContainerPlan]) async throws(AppHostError)

  /// Whether the image is on this machine already (the native engine runs no images: always true).
  func hasImage(_ image: String) async throws(AppHostError) -> Bool
  /// Pulls the image from its registry, each line of the engine's progress given to `progress` as it
  /// comes; throws `imageUnavailable` when it cannot be had.
  func pull(_ image: String, resource: String, progress: @escaping @Sendable (String) -> Void)
    async throws(AppHostError)
}

extension ContainerEngine {
  package func preflight(_ containers: [ContainerPlan]) async throws(AppHostError) {}

  package func logs(_ name: String, tail: Int?) async throws(AppHostError) -> [String] {
    try await logs(name, tail: tail, since: nil, timestamps: false)
  }

  package func followLogs(_ name: String, tail: Int?, onLine: @escaping @Sendable (String) -> Void)
    async throws(AppHostError)
  {
    try await followLogs(name, tail: tail, since: nil, timestamps: false, onLine: onLine)
  }
}

/// A container's state as the engine reports it (native servers: running or exited).
package enum ContainerState: String, Sendable, Equatable, CaseIterable {
  case created, running, paused, restarting, exited, dead, removing
  /// Podman's words for a stopped container and one made but never started.
  case stopped, configured
  case unknown

  /// The engine's word (`State.Status`), any case; words it may add later are `unknown`.
  package init(engineWord: String) {
    self = ContainerState(rawValue: engineWord.lowercased()) ?? .unknown
  }
}

/// A container as the engine reports it.
package struct ContainerRecord: Sendable, Equatable {
  package var id: String
  package var name: String
  package var labels: [String: String]
  package var environment: [String: String]
  package var state: ContainerState
  package var exitCode: Int
  /// Container port -> host port on 127.0.0.1.
  package var ports: [Int: Int]
  package var image: String
  /// The networks it is attached to.
  package var networks: [String]
  /// Its address on each network, by network name (from `inspect` only: `ps` does not list them).
  package var addresses: [String: String] = [:]

  package init(
    id: String, name: String, labels: [String: String], environment: [String: String], state: ContainerState,
    exitCode: Int, ports: [Int: Int], image: String, networks: [String] = []
  ) {
    self.networks = networks
    self.id = id
    self.name = name
    self.labels = labels
    self.environment = environment
    self.state = state
    self.exitCode = exitCode
    self.ports = ports
    self.image = image
    // On the host's network a server listens where clients reach it; the engine publishes nothing.
    if let port = labels[LabelKey.hostNetworkPort].flatMap({ Int($0) }) { self.ports[port] = port }
  }

  /// The port on 127.0.0.1 of the cache server in it: where 6379 is published, or where it listens on the
  /// host's network.
  package var serverPort: Int? {
    ports[Planner.cachePort] ?? labels[LabelKey.hostNetworkPort].flatMap { Int($0) }
  }

  package var isRunning: Bool { state == .running }
  package var resource: String? { labels[LabelKey.resource] }
  package var projectDirectory: String? { labels[LabelKey.projectDirectory] }
  package var configHash: String? { labels[LabelKey.configHash] }
  package var lifetime: Lifetime { labels[LabelKey.lifetime].flatMap(Lifetime.init(rawValue:)) ?? .session }
  package var isDetached: Bool { labels[LabelKey.detached] == "true" }

  /// The `up` that owns this session container, when one is named.
  package var owner: ProcessIdentity? {
    guard let pid = labels[LabelKey.ownerPID].flatMap({ Int32($0) }), let start = labels[LabelKey.ownerStart] else {
      return nil
    }
    return ProcessIdentity(pid: pid, startTime: start)
  }

  /// A session container whose foreground `up` is gone: a leftover of a crashed run.
  package var isLeftover: Bool {
    guard lifetime == .session, !isDetached, let owner else { return false }
    return !owner.isAlive
  }

  /// The cache password the container was started with (for `SAVE` before stopping it).
  package var cachePassword: String? {
    for server in ServerKind.allCases {
      if let password = environment[ServerCommand.passwordVariable(server)] { return password }
    }
    return nil
  }
}
