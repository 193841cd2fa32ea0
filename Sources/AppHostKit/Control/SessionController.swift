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

  package init(
    plan: Plan, engine: any ContainerEngine, supervisor: Supervisor?, hub: EventHub, events: @escaping EventSink
  ) {
    self.plan = plan
    self.engine = engine
    self.supervisor = supervisor
    self.hub = hub
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
      if let container = plan.container(name) {
        // A cache comes with its read replicas (after it); `cache-replica-1` names one of them.
        for node in [container] + plan.containers.filter({ $0.replicaOf == name })
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
                  : "; \(users.joined(separator: ", ")) still have the old one until `apphost up` runs again "
                    + "(a hostPort in apphost.json keeps it)")))
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

  /// Reads the manifest again and adds to the session what it has and the session has not: containers
  /// (started and waited for as `up` does) and programs. Resources that changed or went are named, not
  /// touched: that needs this `up` to be started again.
  package func apply() async throws(AppHostError) -> [String] {
    let flavor = engine.flavor
    let events = self.events
    let session = try await ProjectSession.open(file: plan.manifestPath, engine: flavor) { notice in
      switch notice {
      case .warning(let text), .note(let text): events(.note(text))
      }
    }
    let next = session.plan
    let new = next.resourceNames.filter { !plan.resourceNames.contains($0) }
    var unchangeable: [String] = []
    for name in next.resourceNames where plan.resourceNames.contains(name) {
      if let container = next.container(name), container.configHash != plan.container(name)?.configHash {
        unchangeable.append(name)
      }
      if let executable = next.executable(name), executable != plan.executable(name) { unchangeable.append(name) }
    }
    let gone = plan.resourceNames.filter { !next.resourceNames.contains($0) }
    if !unchangeable.isEmpty || !gone.isEmpty {
      events(
        .note(
          "changed or removed in apphost.json: \((unchangeable + gone).joined(separator: ", ")); a running up only adds "
            + "resources: stop it and run `apphost up` again to apply the rest"))
    }
    guard !new.isEmpty else { return [] }
    let selection = try next.closure(of: new)
    // What the new resources need must run as it is: recreating a cache under running programs is not adding.
    if let needed = selection.first(where: { unchangeable.contains($0) }) {
      throw .controlFailed(
        reason:
          "\(new.joined(separator: ", ")) need\(new.count == 1 ? "s" : "") \(needed), which changed in apphost.json; "
          + "stop this up and run `apphost up` again")
    }
    for executable in next.executables where new.contains(executable.resource) && executable.resolvedCommand == nil {
      throw .commandNotFound(resource: executable.resource, command: executable.command)
    }
    let launcher = Launcher(engine: engine, plan: next, owner: .current, events: events)
    let outcome = try await launcher.start(
      existing: session.containers, options: Launcher.Options(selection: Array(selection), timeout: timeout))
    let newContainers = next.containers.filter { new.contains($0.resource) && outcome.ports[$0.resource] != nil }
    added += newContainers.filter { $0.lifetime == .session }.map(\.containerName)
    for container in newContainers { follow(container) }
    let running = try await engine.containers(project: next.project)
    var ports = StatusReport.ports(plan: next, containers: running)
    ports.merge(outcome.ports) { _, new in new }
    let specs = try ProcessSpec.specs(plan: next, ports: ports, selection: Set(new))
    plan = next
    hub.register(next)
    if !specs.isEmpty {
      guard let supervisor else {
        throw .controlFailed(reason: "this apphost runs no programs; run `apphost up` again to start them")
      }
      try await supervisor.add(specs)
    }
    return new
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

  /// The containers `apply` added (removed with the session), and no more following of their output.
  package func endSession() -> [String] {
    for task in following { task.cancel() }
    following = []
    return added
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
    events: @escaping EventSink
  ) -> SessionControl {
    let controller = SessionController(plan: plan, engine: engine, supervisor: supervisor, hub: hub, events: events)
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
