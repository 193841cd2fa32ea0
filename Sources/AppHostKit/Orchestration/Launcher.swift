import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Brings the containers of a plan up: creates what is missing, recreates what changed, reuses what
/// runs unchanged, removes leftovers of crashed runs, then waits until every one answers. When anything
/// fails, what this run made is removed again: no half-started stacks.
package struct Launcher: Sendable {
  package var engine: any ContainerEngine
  package var plan: Plan
  package var owner: ProcessIdentity
  package var events: EventSink
  /// Waits until a resource answers (`Probe.waitUntilReady`; unit tests give their own).
  package var readiness: Readiness
  /// Loads seed commands (`Seeding.seed`; unit tests give their own).
  package var seeding: Seeder = { port, password, tls, commands, source in
    await Seeding.seed(port: port, password: password, tls: tls, commands: commands, source: source)
  }

  package typealias Seeder =
    @Sendable (
      _ port: Int, _ password: String?, _ tls: TLSClient?, _ commands: [CacheSeed.Command], _ source: String
    ) async -> Seeding.Outcome

  /// Throws `Probe.Unreachable` when given how long an unanswered port may stay so.
  package typealias Readiness =
    @Sendable (
      _ health: HealthCheck, _ port: Int, _ deadline: ContinuousClock.Instant, _ unreachableAfter: Duration?,
      _ stillRunning: @escaping @Sendable () async -> String?
    ) async throws -> Probe.Outcome

  package init(
    engine: any ContainerEngine, plan: Plan, owner: ProcessIdentity, events: @escaping EventSink,
    readiness: @escaping Readiness = { health, port, deadline, unreachableAfter, stillRunning in
      try await Probe.waitUntilReady(
        health, port: port, deadline: deadline, unreachableAfter: unreachableAfter, stillRunning: stillRunning)
    }
  ) {
    self.engine = engine
    self.plan = plan
    self.owner = owner
    self.events = events
    self.readiness = readiness
  }

  package struct Options: Sendable {
    /// `up NAME...`: these and what they need; empty: everything.
    package var selection: [String] = []
    /// Session containers outlive this process (`up --detach`).
    package var detached = false
    /// How long to wait for everything to be ready.
    package var timeout: Duration = .seconds(60)
    /// Whether the network was already made by this run (true) or found (false) while connecting.
    package var networkCreated: Bool?

    package init(selection: [String] = [], detached: Bool = false, timeout: Duration = .seconds(60)) {
      self.selection = selection
      self.detached = detached
      self.timeout = timeout
    }
  }

  /// What the run did, for the command line and for undoing it.
  package struct Outcome: Sendable {
    /// Host port of every container resource that is up.
    package var ports: [String: Int] = [:]
    /// Containers this run created (and would remove if it had to back out).
    package var created: [String] = []
    package var createdNetwork = false
    package var createdVolumes: [String] = []
    /// Resources that were already up and unchanged.
    package var unchanged: [String] = []
  }

  /// What creating the network or a volume did. Task groups here return plain structs: a tuple holding
  /// a `Result` with a typed error crashed the release build of Swift 6.3 when a child completed.
  private struct Created: Sendable {
    var volume: String?
    var created = false
    var error: AppHostError?
  }

  /// What bringing up one container did.
  private struct Brought: Sendable {
    var resource: String
    var port: Int?
    var failure: ResourceFailure?
    var created: Bool
  }

  /// Starts the selected containers. `existing` is what the engine reported for the project.
  package func start(existing: [ContainerRecord], options: Options) async throws(AppHostError) -> Outcome {
    do {
      let reconciliation = try Reconciliation.plan(plan, observed: existing, selection: options.selection)
      return try await carryOut(reconciliation, options: options)
    } catch {
      // A network made while connecting goes with a start that failed before using it (the engine
      // refuses to remove one that containers still use).
      if options.networkCreated == true, let network = plan.network {
        let engine = self.engine
        await Log.quietly("remove the network \(network.name) after a failed start") { () async throws(AppHostError) in
          try await engine.removeNetworks([network.name])
        }
      }
      throw error
    }
  }

  /// Carries out the steps: removals first, then network and volumes, then every container at once,
  /// each waited for until it answers. When anything fails, what this run made is removed again.
  package func carryOut(_ reconciliation: Reconciliation, options: Options) async throws(AppHostError) -> Outcome {
    try await engine.preflight(reconciliation.bringUps.filter { !$0.isReuse }.compactMap(\.container))
    // Missing images first: the readiness clock starts once they are here, so that a slow first pull
    // does not use up the time the servers have to answer.
    try await ImagePull(engine: engine, events: events).pull(
      reconciliation.bringUps.filter(\.makesContainer).compactMap(\.container), onlyMissing: true)
    let started = ContinuousClock.now
    let deadline = started + options.timeout
    for step in reconciliation.steps {
      switch step {
      case .removeLeftover(let record):
        events(
          .removingLeftover(resource: step.resource, container: record.name, owner: record.owner?.description ?? "?"))
      case .removeStale(let record):
        events(.removingStale(resource: step.resource, container: record.name))
      default: break
      }
    }
    try await Teardown(engine: engine, events: events).remove(reconciliation.removals)
    let bringUps = reconciliation.bringUps
    try checkHostPorts(bringUps)

    var outcome = Outcome()
    do {
      try await prepareNetworkAndVolumes(reconciliation, options: options, outcome: &outcome)
      // Read replicas after the rest: a replica follows a primary that runs (natively it needs its port).
      // Sentinels last: each is ready once it sees the primary, its replicas and the other sentinels.
      let isReplica = { (step: Reconciliation.Step) in step.container?.replicaOf != nil }
      let isSentinel = { (step: Reconciliation.Step) in step.container?.sentinelOf != nil }
      var results = await bringUpAll(
        bringUps.filter { !isReplica($0) && !isSentinel($0) }, options: options, deadline: deadline, started: started)
      if results.allSatisfy({ $0.failure == nil }) && !Task.isCancelled {
        results += await formClusters(bringUps, results: results, deadline: deadline, started: started)
      }
      if results.allSatisfy({ $0.failure == nil }) && !Task.isCancelled {
        results += await bringUpAll(bringUps.filter(isReplica), options: options, deadline: deadline, started: started)
      }
      if results.allSatisfy({ $0.failure == nil }) && !Task.isCancelled {
        results += await bringUpAll(
          bringUps.filter(isSentinel), options: options, deadline: deadline, started: started)
      }
      var failures: [ResourceFailure] = []
      for result in results {
        if result.created, let container = plan.container(result.resource) {
          outcome.created.append(container.containerName)
        }
        if let port = result.port { outcome.ports[result.resource] = port }
        if let failure = result.failure, failure.reason != Self.cancelledReason { failures.append(failure) }
      }
      if Task.isCancelled { throw AppHostError.cancelled }
      if !failures.isEmpty { throw AppHostError.startFailed(failures) }
      for step in bringUps {
        if case .reuse = step { outcome.unchanged.append(step.resource) }
      }
      return outcome
    } catch {
      // Back out: remove what this run made. When interrupted, persistent containers and all volumes
      // stay (they are meant to outlive runs); after a failure nothing half-made stays.
      let interrupted = Task.isCancelled
      let cleanup = Task { await backOut(outcome, keepingPersistent: interrupted) }
      await cleanup.value
      if let error = error as? AppHostError { throw error }
      throw .cancelled
    }
  }

  /// Brings up the containers of the steps at once, each waited for until it answers; the first failure
  /// cancels the others.
  private func bringUpAll(
    _ steps: [Reconciliation.Step], options: Options, deadline: ContinuousClock.Instant,
    started: ContinuousClock.Instant
  ) async -> [Brought] {
    await withTaskGroup(of: Brought.self) { group in
      for step in steps {
        guard let container = step.container else { continue }
        group.addTask {
          do throws(ResourceFailure) {
            let port = try await bringUp(
              container, step: step, options: options, deadline: deadline, started: started)
            return Brought(resource: container.resource, port: port, failure: nil, created: step.makesContainer)
          } catch {
            return Brought(resource: container.resource, port: nil, failure: error, created: step.makesContainer)
          }
        }
      }
      var results: [Brought] = []
      for await result in group {
        results.append(result)
        if result.failure != nil { group.cancelAll() }
      }
      return results
    }
  }

  private static let cancelledReason = "stopped before it was ready"

  /// Forms each cluster one of whose nodes was brought up (`ClusterForming`), once every node answers: the
  /// cluster is ready when it serves every slot. A failure is the cluster's (its cache's resource).
  private func formClusters(
    _ steps: [Reconciliation.Step], results: [Brought], deadline: ContinuousClock.Instant,
    started: ContinuousClock.Instant
  ) async -> [Brought] {
    let brought = Set(steps.map(\.resource))
    var formed: [Brought] = []
    for cluster in plan.clusters where cluster.nodes.contains(where: brought.contains) {
      guard let first = plan.container(cluster.resource) else { continue }
      do {
        var ports: [Int] = []
        for node in cluster.nodes {
          if let port = results.first(where: { $0.resource == node })?.port {
            ports.append(port)
          } else if let container = plan.container(node) {
            // A node this run did not touch (a second `up` that changed another): where it runs.
            ports.append(try await engine.hostPort(container.containerName, containerPort: container.containerPort))
          }
        }
        // Where the nodes reach each other: here, or each container's address on the project network.
        var hosts = cluster.nodes.map { _ in Planner.host }
        if engine.flavor.isContainerEngine, let network = plan.network?.name {
          let names = cluster.nodes.compactMap { plan.container($0)?.containerName }
          let records = try await engine.inspect(names)
          hosts = try names.map { name throws(AppHostError) in
            guard let address = records.first(where: { $0.name == name })?.addresses[network] else {
              throw .engineOutput(command: "inspect \(name)", reason: "it has no address on the network \(network)")
            }
            return address
          }
        }
        let events = self.events
        let summary = try await ClusterForming.form(
          cluster, ports: ports, hosts: hosts, password: first.health.password?.revealed(), tls: first.health.tls,
          deadline: deadline
        ) { step in events(.cluster(resource: cluster.resource, message: step)) }
        let seconds = (ContinuousClock.now - started).seconds
        events(
          .cluster(
            resource: cluster.resource, message: "cluster ready: \(summary) (\(String(format: "%.2f", seconds)) s)"))
      } catch {
        let reason: String
        switch error {
        case let failure as ClusterForming.FormingFailure: reason = "the cluster did not form: \(failure.reason)"
        case let failure as AppHostError: reason = failure.errorDescription ?? "\(failure)"
        default: reason = Self.cancelledReason
        }
        let failure = ResourceFailure(resource: cluster.resource, reason: reason)
        if reason != Self.cancelledReason { events(.failed(failure)) }
        formed.append(Brought(resource: cluster.resource, port: nil, failure: failure, created: false))
      }
    }
    return formed
  }

  /// Fixed host ports must be free before anything starts (ports of containers being replaced excepted).
  private func checkHostPorts(_ steps: [Reconciliation.Step]) throws(AppHostError) {
    for step in steps {
      guard let container = step.container, let port = container.hostPort else { continue }
      switch step {
      case .reuse: continue
      case .recreate(_, let record, _) where record.isRunning && record.ports[container.containerPort] == port: continue
      default: break
      }
      if !LocalPorts.isFree(port) {
        if container.hostPortChosen {
          throw .clusterPortInUse(
            port: port, node: container.resource,
            memory: PortMemory(state: StateDirectory(projectDirectory: plan.projectDirectory)).path)
        }
        throw .portInUse(port: port, resource: container.resource, reason: "")
      }
    }
  }

  private func prepareNetworkAndVolumes(
    _ reconciliation: Reconciliation, options: Options, outcome: inout Outcome
  )
    async throws(AppHostError)
  {
    guard
      reconciliation.network != nil || !reconciliation.volumes.isEmpty
        || reconciliation.bringUps.contains(where: { !$0.isReuse })
    else {
      if let created = options.networkCreated { outcome.createdNetwork = created }
      return
    }
    let creating = Set(reconciliation.bringUps.filter { !$0.isReuse }.map(\.resource))
    let volumes = reconciliation.volumes
    // Bind-mounted folders are made by us, as the user: an engine would make them owned by root.
    for container in plan.containers where creating.contains(container.resource) {
      for mount in container.mounts where !mount.readOnly {
        guard case .bind(let folder) = mount.source else { continue }
        do {
          try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
          throw .stateUnwritable(path: folder, reason: "the data folder of \(container.resource) cannot be created")
        }
      }
    }
    let engine = self.engine
    // The network may have been made already, while the engine was listing the containers.
    let network = options.networkCreated == nil ? reconciliation.network : nil
    if let created = options.networkCreated { outcome.createdNetwork = created }
    guard network != nil || !volumes.isEmpty else { return }
    // One result type for every child (a plain struct: see `Created`).
    let results = await withTaskGroup(of: Created.self) { group in
      if let network {
        group.addTask {
          do throws(AppHostError) {
            return Created(volume: nil, created: try await engine.createNetwork(network))
          } catch {
            return Created(volume: nil, error: error)
          }
        }
      }
      for volume in volumes {
        group.addTask {
          do throws(AppHostError) {
            return Created(volume: volume.name, created: try await engine.createVolume(volume))
          } catch {
            return Created(volume: volume.name, error: error)
          }
        }
      }
      var results: [Created] = []
      for await result in group { results.append(result) }
      return results
    }
    var firstError: AppHostError?
    for result in results {
      if let error = result.error {
        firstError = firstError ?? error
      } else if let volume = result.volume {
        if result.created { outcome.createdVolumes.append(volume) }
      } else {
        outcome.createdNetwork = result.created
      }
    }
    if let firstError { throw firstError }
  }

  /// One container: replace, create or start it, find its port, wait until it answers.
  private func bringUp(
    _ container: ContainerPlan, step: Reconciliation.Step, options: Options, deadline: ContinuousClock.Instant,
    started: ContinuousClock.Instant
  ) async throws(ResourceFailure) -> Int {
    let resource = container.resource
    do throws(AppHostError) {
      var port: Int
      switch step {
      case .removeLeftover, .removeStale:
        throw AppHostError.engineOutput(command: "up", reason: "a removal is not a start")
      case .reuse(_, let record):
        events(.unchanged(resource: resource))
        try await attach(record, container)
        guard let known = record.ports[container.containerPort] ?? container.hostPort else {
          throw AppHostError.engineOutput(command: "inspect \(record.name)", reason: "no published port")
        }
        port = known
      case .start(_, let record):
        events(.starting(resource: resource))
        try await attach(record, container)
        try await engine.start(record.name)
        port = try await publishedPort(container)
      case .create:
        events(.creating(resource: resource, image: container.madeFrom(on: engine.flavor)))
        try await run(container, options: options)
        port = try await publishedPort(container)
      case .recreate(_, let record, let reason):
        events(.recreating(resource: resource, reason: reason))
        try await Teardown(engine: engine, events: events).remove([record])
        try await run(container, options: options)
        port = try await publishedPort(container)
      }
      if Task.isCancelled { throw AppHostError.cancelled }
      let engine = self.engine
      let name = container.containerName
      var outcome: Probe.Outcome
      var attempt = 1
      while true {
        // A container just made, on a port its engine picked, that stays silent (podman's netavark has
        // left a rule of a removed container in front of the new one's): made again, on another port.
        let mayMoveOn = step.makesContainer && container.hostPort == nil && engine.flavor.isContainerEngine
        let unreachableAfter = mayMoveOn && attempt < Self.portAttempts ? Self.unreachableAfter : nil
        do {
          outcome = try await readiness(container.health.startup, port, deadline, unreachableAfter) {
            let records = await Log.quietly("inspect \(name)") { () async throws(AppHostError) in
              try await engine.inspect([name])
            }
            guard let record = records?.first else { return "the container is gone" }
            if record.isRunning { return nil }
            let what = engine.flavor == .native ? "the server process ended" : "the container stopped"
            return "\(what) (\(record.state.rawValue), exit code \(record.exitCode))"
          }
          break
        } catch let unreachable as Probe.Unreachable {
          attempt += 1
          events(
            .note(
              "\(resource): nothing answered on \(Planner.host):\(unreachable.port), the port \(engine.flavor.rawValue) "
                + "published, for \(Int(unreachable.after.seconds)) s; making the container again on another port"))
          await Log.quietly("remove \(name) to start it again") { () async throws(AppHostError) in
            try await engine.remove([name], grace: nil)
          }
          // Not on the port remembered from last time, if that was the one: the engine picks.
          try await run(container.withoutPreferredPort, options: options)
          port = try await publishedPort(container)
        } catch {
          throw AppHostError.cancelled
        }
      }
      switch outcome {
      case .ready:
        if !step.isReuse { try await seed(container, port: port) }
        let address = container.url(hostPort: port) ?? "\(Planner.host):\(port)"
        events(.ready(resource: resource, address: address, seconds: (ContinuousClock.now - started).seconds))
        return port
      case .notReady(let reason), .failed(let reason):
        let logs = await lastLines(name)
        let failure = ResourceFailure(resource: resource, reason: reason, logTail: logs)
        events(.failed(failure))
        throw AppHostError.startFailed([failure])
      }
    } catch {
      if case .cancelled = error { throw ResourceFailure(resource: resource, reason: Self.cancelledReason) }
      if case .startFailed(let failures) = error, let failure = failures.first { throw failure }
      let failure = ResourceFailure(resource: resource, reason: error.errorDescription ?? "\(error)")
      events(.failed(failure))
      throw failure
    }
  }

  /// Seed commands, once a cache that has just started answers, into an empty dataset only.
  private func seed(_ container: ContainerPlan, port: Int) async throws(AppHostError) {
    guard case .commands(let source, _, let commands) = container.seed else { return }
    let password = container.health.password?.revealed()
    switch await seeding(port, password, container.health.tls, commands, source) {
    case .seeded(let count):
      events(
        .seed(
          resource: container.resource, message: "seeded with \(count) command\(count == 1 ? "" : "s") from \(source)"))
    case .skipped(let keys):
      events(
        .seed(
          resource: container.resource,
          message: "not seeded: the dataset is not empty (\(keys) key\(keys == 1 ? "" : "s"))"))
    case .failed(let reason):
      let failure = ResourceFailure(resource: container.resource, reason: "seeding failed: \(reason)")
      events(.failed(failure))
      throw .startFailed([failure])
    }
  }

  /// A container made before the project had a network joins it (instead of being recreated).
  private func attach(_ record: ContainerRecord, _ container: ContainerPlan) async throws(AppHostError) {
    guard let network = container.network, !record.networks.contains(network) else { return }
    try await engine.connect(record.name, to: network, alias: container.resource)
  }

  private func run(_ container: ContainerPlan, options: Options) async throws(AppHostError) {
    var attempt = 1
    var container = container
    while true {
      do {
        try await runOnce(container, options: options)
        return
      } catch .portInUse(nil, _, let reason) where attempt < Self.portAttempts {
        // A port the engine picks: podman picks each container's while the others start beside it,
        // and has given two of them the same one. Or the port remembered from last time, free when `up`
        // looked, was taken before the container started (a connection's local port, on a busy machine):
        // the engine gets no second try at an explicit port. The container it made is removed; the
        // engine picks again.
        attempt += 1
        let which =
          container.preferredPort.map { "port \($0) (used last time)" } ?? "the port \(engine.flavor.rawValue) picked"
        container = container.withoutPreferredPort
        events(
          .note(
            "\(container.resource): \(which) was taken before the container could publish it (\(reason)); "
              + "making it again on a port \(engine.flavor.rawValue) picks (attempt \(attempt) of \(Self.portAttempts))"
          ))
        let engine = self.engine
        await Log.quietly("remove \(container.containerName) to start it again") { () async throws(AppHostError) in
          try await engine.remove([container.containerName], grace: nil)
        }
      }
    }
  }

  /// Starts of a container whose engine-picked port turned out to be taken, or to lead nowhere.
  static let portAttempts = 3

  /// How long a new container's engine-picked port may leave every connect unanswered before the
  /// container is made again on another one. A server that is still starting refuses at once.
  static let unreachableAfter: Duration = .seconds(4)

  private func runOnce(_ container: ContainerPlan, options: Options) async throws(AppHostError) {
    do {
      try await engine.run(container, owner: owner.owner, detached: options.detached)
    } catch .engineFailed(let command, let reason) where reason.contains("already in use") {
      // A container of that name that is not labelled as this project's.
      let record = await inspect(container.containerName)
      if let record, record.projectDirectory == plan.projectDirectory {
        throw .engineFailed(command: command, reason: reason)
      }
      throw .containerNameTaken(
        name: container.containerName, resource: container.resource, ownerDirectory: record?.projectDirectory)
    }
  }

  private func publishedPort(_ container: ContainerPlan) async throws(AppHostError) -> Int {
    if let port = container.hostPort { return port }
    do {
      return try await engine.hostPort(container.containerName, containerPort: container.containerPort)
    } catch {
      // A container that stopped at once has no published port: say that, with its log.
      if case .cancelled = error { throw error }
      if let record = await inspect(container.containerName), !record.isRunning {
        let logs = await lastLines(container.containerName)
        let failure = ResourceFailure(
          resource: container.resource,
          reason:
            "the container stopped right after it started (\(record.state.rawValue), exit code \(record.exitCode))",
          logTail: logs)
        events(.failed(failure))
        throw .startFailed([failure])
      }
      throw error
    }
  }

  /// Removes what this run made: its containers (also those whose creation was interrupted), the volumes
  /// and the network it created. Never anything that was there before.
  private func backOut(_ outcome: Outcome, keepingPersistent: Bool) async {
    let teardown = Teardown(engine: engine, events: events)
    let kept = keepingPersistent ? Set(plan.containers.filter { $0.lifetime == .persistent }.map(\.containerName)) : []
    let names = Set(outcome.created).subtracting(kept)
    let engine = self.engine
    let records =
      await Log.quietly("inspect what a failed start made") { () async throws(AppHostError) in
        try await engine.inspect(Array(names).sorted())
      } ?? []
    await Log.quietly("remove what a failed start made") { () async throws(AppHostError) in
      try await teardown.remove(records, save: keepingPersistent)
    }
    // Containers whose `run` was interrupted may exist without having been seen.
    let unseen = names.subtracting(records.map(\.name))
    if !unseen.isEmpty {
      await Log.quietly("remove \(unseen.sorted().joined(separator: ", "))") { () async throws(AppHostError) in
        try await engine.remove(Array(unseen).sorted(), grace: nil)
      }
    }
    if !keepingPersistent && !outcome.createdVolumes.isEmpty {
      await Log.quietly("remove the volumes a failed start made") { () async throws(AppHostError) in
        try await engine.removeVolumes(outcome.createdVolumes)
      }
    }
    if let network = plan.network, outcome.createdNetwork && kept.isEmpty {
      await Log.quietly("remove the network \(network.name)") { () async throws(AppHostError) in
        try await engine.removeNetworks([network.name])
      }
    }
  }

  private func inspect(_ name: String) async -> ContainerRecord? {
    let engine = self.engine
    return await Log.quietly("inspect \(name)") { () async throws(AppHostError) in
      try await engine.inspect([name])
    }?.first
  }

  /// The last lines of a container's output, for a failure message.
  private func lastLines(_ name: String) async -> [String] {
    let engine = self.engine
    return await Log.quietly("read the log of \(name)") { () async throws(AppHostError) in
      try await engine.logs(name, tail: 15)
    } ?? []
  }
}

extension Duration {
  package var seconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
