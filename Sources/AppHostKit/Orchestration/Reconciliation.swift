/// What `up` must do to turn what the engine has (observed) into what the plan wants (desired), as data:
/// an ordered list of steps that `Launcher` carries out and `apphost up --dry-run` prints. Computing it
/// touches nothing; the same inputs always give the same steps (docker/compose keeps its observed state,
/// plan and execution apart the same way).
package struct Reconciliation: Sendable, Equatable {
  package enum Step: Sendable, Equatable {
    /// A session container whose foreground `up` is gone (it was killed).
    case removeLeftover(ContainerRecord)
    /// A container of a resource no longer in the manifest.
    case removeStale(ContainerRecord)
    /// Nothing of the resource exists: make it.
    case create(ContainerPlan)
    /// It exists but was made from another configuration: remove it, make it again.
    case recreate(ContainerPlan, ContainerRecord, reason: String)
    /// It exists, unchanged, but is stopped: start it again.
    case start(ContainerPlan, ContainerRecord)
    /// It runs, unchanged: leave it.
    case reuse(ContainerPlan, ContainerRecord)

    /// The resource a step is about.
    package var resource: String {
      switch self {
      case .removeLeftover(let record), .removeStale(let record): record.resource ?? record.name
      case .create(let container), .recreate(let container, _, _), .start(let container, _),
        .reuse(let container, _):
        container.resource
      }
    }

    /// The plan of a step that brings a resource up (nil for removals).
    package var container: ContainerPlan? {
      switch self {
      case .removeLeftover, .removeStale: nil
      case .create(let container), .recreate(let container, _, _), .start(let container, _),
        .reuse(let container, _):
        container
      }
    }

    /// The engine's record the step starts from, if any.
    package var record: ContainerRecord? {
      switch self {
      case .removeLeftover(let record), .removeStale(let record), .recreate(_, let record, _),
        .start(_, let record), .reuse(_, let record):
        record
      case .create: nil
      }
    }

    package var isReuse: Bool {
      if case .reuse = self { return true }
      return false
    }

    /// True when carrying out the step makes a new container (what a failed `up` must remove again).
    package var makesContainer: Bool {
      switch self {
      case .create, .recreate: true
      default: false
      }
    }

    /// One line, the way `up --dry-run` prints it and the table tests assert it.
    package var summary: String { summary(madeFrom: \.image) }

    /// The line, naming what a new container is made from with `madeFrom` (the image; the native
    /// engine's server program).
    package func summary(madeFrom: (ContainerPlan) -> String) -> String {
      switch self {
      case .removeLeftover(let record):
        "remove   \(record.resource ?? record.name)  (\(record.name): left by apphost up \(record.owner?.description ?? "?"), which is gone)"
      case .removeStale(let record):
        "remove   \(record.resource ?? record.name)  (\(record.name): no longer in the manifest)"
      case .create(let container):
        "create   \(container.resource)  (\(madeFrom(container)))"
      case .recreate(let container, _, let reason):
        "recreate \(container.resource)  (\(reason))"
      case .start(let container, let record):
        "start    \(container.resource)  (\(record.name) is \(record.state.rawValue))"
      case .reuse(let container, _):
        "reuse    \(container.resource)  (running, unchanged)"
      }
    }
  }

  /// Removals first, then one step per selected container in plan order.
  package var steps: [Step]
  /// The project network, when a step needs it made or joined (nil: no step does).
  package var network: NetworkPlan?
  /// Containers that exist but must join the project network (made before it had one).
  package var joins: [String]
  /// Volumes of the resources being made or started (created if missing).
  package var volumes: [VolumePlan]

  package var removals: [ContainerRecord] {
    steps.compactMap {
      switch $0 {
      case .removeLeftover(let record), .removeStale(let record): record
      default: nil
      }
    }
  }

  /// The steps that bring a resource up, in plan order.
  package var bringUps: [Step] { steps.filter { $0.container != nil } }

  /// True when nothing would change.
  package var isNoOp: Bool {
    joins.isEmpty && steps.allSatisfy(\.isReuse)
  }

  /// Every step as text, one a line, with the network and volumes: what `up --dry-run` prints.
  package var lines: [String] { lines(madeFrom: \.image) }

  package func lines(madeFrom: (ContainerPlan) -> String) -> [String] {
    var lines = steps.map { $0.summary(madeFrom: madeFrom) }
    for name in joins { lines.append("connect  \(name)  (to the network \(network?.name ?? "?"))") }
    if let network {
      lines.append("network  \(network.name)  (created if missing)")
    }
    for volume in volumes { lines.append("volume   \(volume.name)  (created if missing)") }
    return lines
  }

  /// Decides what to do. `selection` (`up NAME...`) limits the containers looked at, and then nothing
  /// outside it is removed as stale. Throws when a container of the project's name belongs to another
  /// folder's project (not ours to touch) or a name is not in the plan.
  package static func plan(_ plan: Plan, observed: [ContainerRecord], selection: [String] = [])
    throws(AppHostError) -> Reconciliation
  {
    let wanted = try plan.closure(of: selection)
    let containers = plan.containers.filter { wanted.contains($0.resource) }
    let records = Dictionary(observed.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    for container in containers {
      if let record = records[container.containerName], record.projectDirectory != plan.projectDirectory {
        throw .containerNameTaken(
          name: container.containerName, resource: container.resource, ownerDirectory: record.projectDirectory)
      }
    }
    let ours = observed.filter { $0.projectDirectory == plan.projectDirectory }
    let planned = Set(plan.containers.map(\.containerName))
    var steps: [Step] = ours.filter(\.isLeftover).map { .removeLeftover($0) }
    if selection.isEmpty {
      steps += ours.filter { !planned.contains($0.name) && !$0.isLeftover }.map { .removeStale($0) }
    }
    let gone = Set(steps.compactMap { $0.record?.name })
    var joins: [String] = []
    for container in containers {
      guard let record = records[container.containerName], !gone.contains(record.name) else {
        steps.append(.create(container))
        continue
      }
      if record.configHash != container.configHash {
        steps.append(.recreate(container, record, reason: changeReason(container, record)))
        continue
      }
      if let network = container.network, !record.networks.contains(network) { joins.append(record.name) }
      steps.append(record.isRunning ? .reuse(container, record) : .start(container, record))
    }
    // Made or started again: needs its volumes and the network (a reused one only when it must join).
    let touching = Set(steps.filter { $0.container != nil && !$0.isReuse }.map(\.resource))
    let needsNetwork = !touching.isEmpty || !joins.isEmpty
    return Reconciliation(
      steps: steps, network: needsNetwork ? plan.network : nil, joins: joins,
      volumes: plan.volumes.filter { touching.contains($0.resource) })
  }

  /// Why a container must be made again, as specific as the engine's record allows.
  static func changeReason(_ container: ContainerPlan, _ record: ContainerRecord) -> String {
    // A native server's record names its program (`native:/usr/bin/redis-server`), never an image.
    if !record.image.isEmpty, record.image != container.image, !record.image.hasPrefix("sha256:"),
      !record.image.hasPrefix("native:")
    {
      return "its image changed: \(record.image) -> \(container.image)"
    }
    if record.configHash == nil { return "it was not made by this version of apphost" }
    return "its configuration changed"
  }
}
