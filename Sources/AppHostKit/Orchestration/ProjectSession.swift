import Foundation

/// A command's connection to the project: the manifest, its plan, the engine, and what runs there now.
/// Every command that looks at or changes what runs starts here; the helpers below are the decisions the
/// commands share (what to undo after a failure, whether what runs is current).
package struct ProjectSession: Sendable {
  package var project: Project
  package var plan: Plan
  package var engine: any ContainerEngine
  package var containers: [ContainerRecord]
  package var environment: [String: String]
  /// Whether this session created the project network while connecting (`starting`).
  package var networkCreated: Bool?

  /// What a session tells the person at the terminal while it opens: a warning, or a note.
  package enum Notice: Sendable, Equatable {
    case warning(String)
    case note(String)
  }

  /// Loads the manifest, plans, and connects to the engine (`--engine`, `APPHOST_ENGINE`, the manifest's
  /// `"engine"`, the engine this project last ran on, else the first that answers, else native).
  ///
  /// `starting`: the command will start things (`up`, `run`). Engine commands a killed apphost left in
  /// flight finish first, and the project network (when the plan has one) is created while the engine
  /// lists the project's containers: it is needed, and creating it is the slowest step of a cold start.
  package static func open(
    file: String, engine flag: EngineFlavor?, starting: Bool = false,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    notice: @Sendable (Notice) -> Void
  ) async throws(AppHostError) -> ProjectSession {
    let project = try Project.load(file: file)
    for warning in project.loaded.warnings { notice(.warning(warning.rendered(file: project.loaded.path))) }
    // Planning first: a plan that cannot be made (a variable not set) must fail before the engine is
    // touched. Only bind mounts depend on the engine (rootless or not); those are planned again below.
    let requested = try EngineSelection.requested(
      flag: flag, environment: environment, manifest: project.loaded.manifest.engine)
    let preferred = requested ?? project.state.lastEngine
    var plan = try project.plan(environment: environment, nativeEngine: preferred == .native)
    // Created while the engine lists, unless the project's containers were last seen on it.
    let network = starting && !project.state.networkSeen ? plan.network : nil
    // What a killed apphost left in flight finishes before the project is looked at.
    // (A listing started with apphost may not have seen what they did.) Not when the native engine is
    // asked for: it never looks at the containers, and the scan reads every process of the user.
    if starting, requested != .native, await OrphanScan.settleEngineCommands(projectDirectory: project.directory) {
      ListingPrefetch.discard()
    }
    let connected = try await EngineSelection.connect(
      flag: requested, environment: environment, project: project.name, directory: project.directory,
      preferred: project.state.lastEngine, creating: network)
    let engine = connected.engine
    ListingPrefetch.remember(
      (engine as? CLIEngine).map { [$0.program] + EngineCommands.listContainers($0.flavor, project: project.name) },
      in: project.state)
    if starting {
      project.state.remember(engine: engine.flavor)
      if let name = plan.network?.name {
        project.state.remember(
          networkSeen: connected.containers.contains {
            $0.projectDirectory == project.directory && $0.networks.contains(name)
          })
      }
    }
    if let fallback = connected.fallback { notice(.note(fallback)) }
    var session = ProjectSession(
      project: project, plan: plan, engine: engine, containers: connected.containers, environment: environment,
      networkCreated: connected.networkCreated)
    do throws(AppHostError) {
      if engine.flavor == .native {
        if preferred != .native { plan = try project.plan(environment: environment, nativeEngine: true) }
        if !plan.skipped.isEmpty && starting {
          notice(
            .warning(
              "\(plan.skipped.map(\.name).joined(separator: ", ")) skipped: the admin UIs run in containers, and the native "
                + "engine runs none (use --engine docker or --engine podman to see them)"))
        }
      } else if preferred == .native {
        plan = try project.plan(environment: environment)
      } else if project.hasBindMounts, try await EngineSelection.isRootless(engine, environment: environment) {
        plan = try project.plan(environment: environment, rootlessEngine: true)
      }
    } catch {
      await session.discardCreatedNetwork()
      throw error
    }
    // Ports the engine picked last time are asked for again (`.apphost/ports.json`).
    session.plan =
      starting
      ? PortMemory(state: project.state).preferringRememberedPorts(
        plan, running: connected.containers, notice: { notice(.note($0)) }) : plan
    return session
  }

  /// Removes the project network when this session made it while connecting and nothing came to use
  /// it (the command failed first, or found everything current).
  package func discardCreatedNetwork() async {
    guard networkCreated == true, let network = plan.network else { return }
    let engine = self.engine
    await Log.quietly("remove the network \(network.name) this command made") { () async throws(AppHostError) in
      try await engine.removeNetworks([network.name])
    }
  }

  /// Removes what a start made (its containers and the network it created) when what should follow
  /// them cannot start.
  package func backOut(_ outcome: Launcher.Outcome, events: @escaping EventSink) async {
    let engine = self.engine
    let records =
      await Log.quietly("inspect what this run made") { () async throws(AppHostError) in
        try await engine.inspect(outcome.created)
      } ?? []
    await Log.quietly("remove what this run made") { () async throws(AppHostError) in
      try await Teardown(engine: engine, events: events).remove(records)
    }
    if outcome.createdNetwork, let network = plan.network {
      await Log.quietly("remove the network \(network.name)") { () async throws(AppHostError) in
        try await engine.removeNetworks([network.name])
      }
    }
  }

  /// Whether the named resources (and what they need) run, each as the plan has it: then `run` uses them
  /// as they are.
  package func isCurrent(_ names: [String]) throws(AppHostError) -> Bool {
    try Reconciliation.plan(plan, observed: containers, selection: names).isNoOp
  }

  package func launcher(events: @escaping EventSink) -> Launcher {
    Launcher(engine: engine, plan: plan, owner: .current, events: events)
  }
}
