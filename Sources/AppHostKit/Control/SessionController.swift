import Foundation

/// The control socket's side of a running session: lists its resources, and restarts, stops, starts and
/// removes single ones. Programs go through their supervisor (their process group, one replica or all);
/// containers (and native servers) through the engine, staying in the session: a restarted container is
/// waited for until it answers, as `up` waits.
package actor SessionController: ControlService {
  package private(set) var plan: Plan
  package let engine: any ContainerEngine
  package let supervisor: Supervisor?
  package let hub: EventHub
  private let events: EventSink
  /// How long a container (re)started here gets to answer.
  package var timeout: Duration = .seconds(60)
  /// Containers stopped (or being restarted) by request, and those removed by `down NAME`: what follows
  /// their output knows that their end is no crash.
  private var controlled: Set<String> = []
  private var removed: Set<String> = []
  /// Containers `apply` added to the session (they go with it), and the tasks following their output.
  private var added: [String] = []
  private var following: [Task<Void, Never>] = []
  /// Containers `apply` recreated: the `up`'s own following of their output ends (they are followed anew).
  private var superseded: Set<String> = []
  /// The session is `up -d`'s: containers `apply` makes outlive it, as the `up`'s own do.
  package let detached: Bool

  package init(
    plan: Plan, engine: any ContainerEngine, supervisor: Supervisor?, hub: EventHub, detached: Bool = false,
    events: @escaping EventSink
  ) {
    self.plan = plan
    self.engine = engine
    self.supervisor = supervisor
    self.hub = hub
    self.detached = detached
    self.events = events
  }

  // MARK: list

  package func list() async -> [ControlResource] {
    let engine = self.engine
    let names = plan.containers.map(\.containerName)
    let records =
      names.isEmpty
      ? []
      : await Log.quietly("inspect the project's containers") { () async throws(AppHostError) in
        try await engine.inspect(names)
      } ?? []
    var rows: [ControlResource] = []
    let processes = await supervisor?.processes ?? []
    for name in plan.resourceNames {
      if let container = plan.container(name) {
        rows.append(await row(container, record: records.first { $0.name == container.containerName }))
      } else if let skipped = plan.skipped.first(where: { $0.name == name }) {
        var row = ControlResource(
          name: name, resource: name, kind: "container", type: skipped.kind.rawValue, state: "skipped", ready: false)
        row.reason = "needs docker or podman"
        rows.append(row)
      } else if plan.executable(name) != nil {
        let mine = processes.filter { $0.resource == name }
        if mine.isEmpty {
          var row = ControlResource(
            name: name, resource: name, kind: "program", type: ResourceType.executable.rawValue, state: "not started",
            ready: false)
          row.reason = "not selected by this apphost up"
          rows.append(row)
        }
        for process in mine { rows.append(Self.row(process)) }
      }
    }
    return rows
  }

  private func row(_ container: ContainerPlan, record: ContainerRecord?) async -> ControlResource {
    var row = ControlResource(
      name: container.resource, resource: container.resource, kind: "container", type: container.kind.rawValue,
      state: "removed", ready: false)
    guard let record else {
      row.reason = removed.contains(container.resource) ? "removed by apphost down" : "not created"
      return row
    }
    row.exitCode = record.isRunning ? nil : Int32(truncatingIfNeeded: record.exitCode)
    guard record.isRunning, let port = record.ports[container.containerPort] else {
      row.state = controlled.contains(container.resource) ? "stopped" : "exited"
      row.reason = "\(record.state.rawValue), exit code \(record.exitCode)"
      return row
    }
    row.endpoint = container.url(hostPort: port) ?? "\(Planner.host):\(port)"
    switch await Probe.check(container.health, port: port) {
    case .ready:
      row.state = "ready"
      row.ready = true
    case .notReady(let reason), .failed(let reason):
      row.state = "starting"
      row.reason = reason
    }
    return row
  }

  private static func row(_ process: ExecutableState.Process) -> ControlResource {
    var row = ControlResource(
      name: process.name, resource: process.resource, kind: "program", type: ResourceType.executable.rawValue,
      state: process.state.rawValue, ready: process.state == .running && process.ready != false)
    row.replica = process.replica
    if process.task == true {
      row.type = ResourceType.task.rawValue
      if process.state == .exited && process.exitCode == 0 {
        row.state = "completed"
        row.ready = true
      }
    } else if process.state == .running && process.ready == false {
      row.reason = "not ready yet (its readiness check has not passed)"
    }
    row.pid = process.state == .running ? process.pid : nil
    row.restarts = process.restarts
    row.exitCode = process.state == .running ? nil : process.exitCode
    switch process.state {
    case .running: break
    case .exited where row.ready: break
    case .starting: row.reason = "starting"
    case .restarting: row.reason = "restarting by its restart policy after it exited with code \(process.exitCode ?? 0)"
    case .exited: row.reason = "exited with code \(process.exitCode.map(String.init) ?? "?")"
    case .stopped: row.reason = "stopped"
    }
    return row
  }

  // MARK: restart, stop, start, down

  package func perform(_ command: ControlCommand, names: [String]) async throws(AppHostError) -> [String] {
    var containers: [ContainerPlan] = []
    var processes: [String] = []
    for name in names {
      if plan.container(name) != nil {
        // A cache comes with its read replicas (after it) or its cluster's nodes; `cache-replica-1` names one.
        for node in plan.servers(of: name)
        where !containers.contains(where: { $0.resource == node.resource }) {
          containers.append(node)
        }
      } else if let supervisor,
        plan.executable(name) != nil
          || plan.executables.contains(where: { executable in
            (0..<executable.replicas).contains { executable.displayName(replica: $0) == name }
          })
      {
        for process in try await supervisor.processNames([name]) where !processes.contains(process) {
          processes.append(process)
        }
      } else if plan.executable(name) != nil {
        throw .controlFailed(reason: "\(name) is not run by this apphost up (it was started without it)")
      } else if plan.skipped.contains(where: { $0.name == name }) {
        throw .controlFailed(reason: "\(name) is skipped: it needs docker or podman")
      } else {
        var known = plan.resourceNames
        for executable in plan.executables where executable.replicas > 1 {
          known += (0..<executable.replicas).map { executable.displayName(replica: $0) }
        }
        throw .unknownResource(name: name, known: known)
      }
    }
    if let supervisor, !processes.isEmpty {
      switch command {
      case .restart: try await supervisor.restartProcesses(processes)
      case .stop, .down: await supervisor.stopProcesses(processes)
      case .start: try await supervisor.startProcesses(processes)
      default: break
      }
    }
    for container in containers {
      switch command {
      case .restart:
        let before = try await record(container)?.ports[container.containerPort]
        try await stopContainer(container)
        try await startContainer(container)
        let after = try await record(container)?.ports[container.containerPort]
        if let before, let after, before != after {
          // The engine picked the port, and picks anew on every start.
          let users = plan.executables.filter { $0.needs.contains(container.resource) }.map(\.resource)
          events(
            .note(
              "\(container.resource) now answers on \(Planner.host):\(after) (was \(before)): the engine picked a new "
                + "port"
                + (users.isEmpty
                  ? ""
                  : "; \(users.joined(separator: ", ")) still have the old one until restarted (`apphost restart "
                    + "\(users.joined(separator: " "))`; a hostPort in apphost.json keeps it)")))
        }
      case .stop:
        try await stopContainer(container)
      case .start:
        try await startContainer(container)
      case .down:
        try await removeContainer(container)
      default: break
      }
    }
    return containers.map(\.resource) + processes
  }

  private func record(_ container: ContainerPlan) async throws(AppHostError) -> ContainerRecord? {
    try await engine.inspect([container.containerName]).first { $0.projectDirectory == plan.projectDirectory }
  }

  private func stopContainer(_ container: ContainerPlan) async throws(AppHostError) {
    guard let record = try await record(container) else {
      throw .notRunning(resources: [container.resource])
    }
    controlled.insert(container.resource)
    guard record.isRunning else { return }
    events(.stopping(resource: container.resource))
    try await engine.stop(container.containerName, grace: ChildProcess.grace)
    let code = try await self.record(container).map { Int32(truncatingIfNeeded: $0.exitCode) }
    events(.stopped(resource: container.resource, code: code))
  }

  private func startContainer(_ container: ContainerPlan) async throws(AppHostError) {
    guard let record = try await record(container) else {
      throw .controlFailed(
        reason: "\(container.resource) has no container (it was removed); `apphost up` makes it again")
    }
    controlled.insert(container.resource)
    let began = ContinuousClock.now
    if !record.isRunning {
      events(.starting(resource: container.resource))
      try await engine.start(container.containerName)
    }
    // Running again: its output is followed again from here (a crash while it gets ready is a crash).
    controlled.remove(container.resource)
    let port = try await engine.hostPort(container.containerName, containerPort: container.containerPort)
    let engine = self.engine
    let name = container.containerName
    let outcome: Probe.Outcome
    do {
      outcome = try await Probe.waitUntilReady(container.health, port: port, deadline: began + timeout) {
        let records = await Log.quietly("inspect \(name)") { () async throws(AppHostError) in
          try await engine.inspect([name])
        }
        guard let record = records?.first else { return "the container is gone" }
        return record.isRunning ? nil : "it stopped (\(record.state.rawValue), exit code \(record.exitCode))"
      }
    } catch {
      throw .cancelled
    }
    switch outcome {
    case .ready:
      let address = container.url(hostPort: port) ?? "\(Planner.host):\(port)"
      events(.ready(resource: container.resource, address: address, seconds: (ContinuousClock.now - began).seconds))
    case .notReady(let reason), .failed(let reason):
      let failure = ResourceFailure(resource: container.resource, reason: reason)
      events(.failed(failure))
      throw .startFailed([failure])
    }
  }

  private func removeContainer(_ container: ContainerPlan) async throws(AppHostError) {
    controlled.insert(container.resource)
    removed.insert(container.resource)
    guard let record = try await record(container) else { return }
    try await Teardown(engine: engine, events: events).remove([record])
  }

  // MARK: apply (a second `up`)

  /// Reads the manifest again and applies every change to the session, as a second `docker compose up`
  /// does: what `SessionChanges` decides (from the plan the session runs and the new one) is carried out
  /// here. Removed programs stop; changed containers are recreated (volumes stay) and waited for, new ones
  /// made; removed containers go (their volumes stay); then changed programs, and those that need a
  /// recreated container, start again with their new plan, and new ones start. A container that does not
  /// get ready is a `failed` change (what it needs is not restarted); the rest of the session runs on.
  /// Returns the changes, in that order; nothing is changed when the manifest cannot be planned.
  package func apply() async throws(AppHostError) -> [ControlChange] {
    let flavor = engine.flavor
    let events = self.events
    let session = try await ProjectSession.open(file: plan.manifestPath, engine: flavor) { notice in
      switch notice {
      case .warning(let text), .note(let text): events(.note(text))
      }
    }
    // Ports the engine picked are asked for again, as the `up` did.
    let next = PortMemory(state: session.project.state).preferringRememberedPorts(
      session.plan, running: session.containers, notice: { events(.note($0)) })
    let ours = session.containers.filter { $0.projectDirectory == plan.projectDirectory }
    var present = Set(
      plan.containers.filter { container in ours.contains { $0.name == container.containerName } }.map(\.resource))
    present.formUnion(await supervisor?.specs.map(\.resource) ?? [])
    let decision = SessionChanges.between(plan, next, running: present, flavor: flavor)
    let programs =
      decision.names(.restarted)
      + next.executables.map(\.resource).filter {
        decision.names(.added).contains($0)
      }
    // Programs that cannot run are found before anything changes.
    for name in programs {
      if let executable = next.executable(name), executable.resolvedCommand == nil {
        throw .commandNotFound(resource: name, command: executable.command)
      }
    }
    if !programs.isEmpty && supervisor == nil {
      throw .controlFailed(reason: "this apphost runs no programs; run `apphost up` again to start them")
    }
    let old = plan
    plan = next
    hub.register(next)
    guard !decision.isEmpty else { return [] }
    var done: [ControlChange] = []
    // 1. Programs gone from the manifest.
    let removedPrograms = decision.names(.removed).filter { old.executable($0) != nil }
    if let supervisor, !removedPrograms.isEmpty {
      try await supervisor.replace(Set(removedPrograms), with: [])
    }
    done += decision.changes.filter { removedPrograms.contains($0.name) }
    // 2. Containers, one at a time in plan order (what needs another comes after it): one that fails
    // leaves the others as they are.
    var failed: [String] = []
    for change in decision.changes where change.kind != .removed && next.container(change.name) != nil {
      guard let container = next.container(change.name) else { continue }
      do throws(AppHostError) {
        try await bringUp(container, change: change, observed: session.containers, events: events)
        done.append(change)
      } catch {
        failed.append(container.resource)
        done.append(ControlChange(name: container.resource, kind: .failed, reason: Self.reason(error)))
      }
    }
    // 3. Containers gone from the manifest (their volumes stay).
    for name in decision.names(.removed) where old.container(name) != nil {
      guard let container = old.container(name) else { continue }
      do throws(AppHostError) {
        try await removeContainer(container)
        added.removeAll { $0 == container.containerName }
        done.append(ControlChange(name: name, kind: .removed))
      } catch {
        done.append(ControlChange(name: name, kind: .failed, reason: Self.reason(error)))
      }
    }
    // 4. Programs: changed ones (and the users of recreated containers) with their new plan, new ones.
    let starting = programs.filter { name in !(next.executable(name)?.needs.contains { failed.contains($0) } ?? false) }
    for name in programs where !starting.contains(name) {
      let needed = next.executable(name)?.needs.filter { failed.contains($0) } ?? []
      done.append(
        ControlChange(
          name: name, kind: .failed,
          reason: "not \(decision.names(.added).contains(name) ? "started" : "restarted"): "
            + "\(SessionChanges.listed(needed)) did not start"))
    }
    if let supervisor, !starting.isEmpty {
      do throws(AppHostError) {
        let running = try await engine.containers(project: next.project)
        let ports = StatusReport.ports(plan: next, containers: running)
        let specs = try ProcessSpec.specs(
          plan: next, containerPorts: ports, selection: Set(starting), state: session.project.state,
          notice: { events(.note($0)) })
        try await supervisor.replace(Set(decision.names(.restarted)).intersection(starting), with: specs)
        done += decision.changes.filter { starting.contains($0.name) }
      } catch {
        for name in starting {
          done.append(ControlChange(name: name, kind: .failed, reason: Self.reason(error)))
        }
      }
    }
    return done
  }

  /// A failure in a few words (the first line of its description).
  private static func reason(_ error: AppHostError) -> String {
    if case .startFailed(let failures) = error, let failure = failures.first { return failure.reason }
    let text = error.errorDescription ?? "\(error)"
    return String(text.split(separator: "\n").first ?? Substring(text))
  }

  /// One container `apply` recreates or adds: made (or started, or reused) as `up` does, waited for until it
  /// answers, its output followed from its start. What a failed start made is removed again.
  private func bringUp(
    _ container: ContainerPlan, change: ControlChange, observed: [ContainerRecord], events: @escaping EventSink
  ) async throws(AppHostError) {
    var reconciliation = try Reconciliation.plan(plan, observed: observed, selection: [container.resource])
    reconciliation.steps = reconciliation.steps.compactMap { step in
      guard step.resource == container.resource, step.container != nil else { return nil }
      // The reason the plans give (an engine's record knows less: a native server has no image).
      if case .recreate(let plan, let record, _) = step, let reason = change.reason {
        return .recreate(plan, record, reason: reason)
      }
      return step
    }
    reconciliation.joins = reconciliation.joins.filter { $0 == container.containerName }
    reconciliation.volumes = reconciliation.volumes.filter { $0.resource == container.resource }
    let recreating = reconciliation.steps.contains { $0.makesContainer && $0.record != nil }
    if recreating {
      // What follows its output now knows that its end is no crash, and ends: it is followed anew below.
      controlled.insert(container.resource)
      superseded.insert(container.resource)
    }
    let launcher = Launcher(engine: engine, plan: plan, owner: .current, events: events)
    var options = Launcher.Options(selection: [container.resource], detached: detached, timeout: timeout)
    options.networkCreated = nil
    let outcome = try await launcher.carryOut(reconciliation, options: options)
    controlled.remove(container.resource)
    removed.remove(container.resource)
    if outcome.ports[container.resource] != nil {
      if container.lifetime == .session && !added.contains(container.containerName) {
        added.append(container.containerName)
      }
      if !outcome.unchanged.contains(container.resource) { follow(container) }
    }
  }

  /// Streams a container `apply` added, as the `up` does for its own.
  private func follow(_ container: ContainerPlan) {
    let engine = self.engine
    let events = self.events
    following.append(
      Task {
        await Log.quietly("follow the output of \(container.containerName)") { () async throws(AppHostError) in
          try await engine.followLogs(container.containerName, tail: nil) { line in
            events(.log(resource: container.resource, line: line))
          }
        }
      })
  }

  /// The containers `apply` made that go with the session (`added`), and those of the session's own that a
  /// second `up` made persistent (`kept`); no more following of their output.
  package func endSession() -> (added: [String], kept: [String]) {
    for task in following { task.cancel() }
    following = []
    let kept = plan.containers.filter { $0.lifetime == .persistent }.map(\.containerName)
    return (added.filter { !kept.contains($0) }, kept)
  }

  // MARK: env

  package func environment(of name: String) async throws(AppHostError) -> [String: String] {
    guard let supervisor else { throw .controlFailed(reason: "this apphost up runs no programs") }
    let process = try await supervisor.processNames([name]).first ?? name
    guard let environment = await supervisor.environment(of: process) else {
      throw .controlFailed(reason: "\(name) is not a program of this apphost up")
    }
    return environment
  }

  // MARK: what follows the containers' output

  /// What the end of a container's output means.
  package enum OutputEnd: Sendable, Equatable {
    /// It was stopped or restarted by request and runs again: follow it again.
    case resumed
    /// It was stopped or removed by request and stays so.
    case requested
    /// Not by request: it crashed, or was stopped from outside.
    case unexpected
  }

  /// Called when a container's output ended: waits while a request has it stopped, then says whether to
  /// follow it again.
  package func outputEnded(_ resource: String) async -> OutputEnd {
    if superseded.remove(resource) != nil { return .requested }
    while controlled.contains(resource) && !removed.contains(resource) && !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(100))
    }
    if removed.contains(resource) || Task.isCancelled { return .requested }
    // Started again (a restart that was over before its old output had ended, too).
    if let container = plan.container(resource), let record = try? await record(container), record.isRunning {
      return .resumed
    }
    return .unexpected
  }

  /// After a crash: waits until the container runs again (`apphost start` or `restart`); false when it
  /// was removed instead, or the wait was cancelled.
  package func waitUntilRunningAgain(_ resource: String) async -> Bool {
    guard let container = plan.container(resource) else { return false }
    while !Task.isCancelled && !removed.contains(resource) {
      if let record = try? await record(container), record.isRunning, !controlled.contains(resource) { return true }
      try? await Task.sleep(for: .milliseconds(250))
    }
    return false
  }

  /// Whether a container is stopped (or removed) by request now.
  package func isStoppedByRequest(_ resource: String) -> Bool { controlled.contains(resource) }
}

/// A running session's control: the controller and the socket serving it.
package struct SessionControl: Sendable {
  package var controller: SessionController
  package var server: ControlServer?

  /// Serves `.apphost/control.sock` for the session. When the socket cannot be made the session runs
  /// on without it, saying so.
  package static func serve(
    plan: Plan, engine: any ContainerEngine, supervisor: Supervisor?, state: StateDirectory, hub: EventHub,
    detached: Bool = false, events: @escaping EventSink
  ) -> SessionControl {
    let controller = SessionController(
      plan: plan, engine: engine, supervisor: supervisor, hub: hub, detached: detached, events: events)
    do {
      let server = try ControlServer.start(state: state, service: controller, hub: hub)
      return SessionControl(controller: controller, server: server)
    } catch {
      events(
        .note(
          "no control socket (restart, stop, start and events will not reach this run): \(error.errorDescription ?? "\(error)")"
        ))
      return SessionControl(controller: controller, server: nil)
    }
  }
}
