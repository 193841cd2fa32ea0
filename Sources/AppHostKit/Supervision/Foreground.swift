/// A request to stop a foreground `up`: the first Ctrl-C stops gracefully, a second one at once.
package enum StopRequest: Sendable, Equatable {
  case graceful(signal: Int32)
  case immediate(signal: Int32)

  package var signal: Int32 {
    switch self {
    case .graceful(let signal), .immediate(let signal): signal
    }
  }
}

/// The foreground `apphost up` once everything is ready: streams every container's output until asked
/// to stop, then removes the session containers (persistent ones and all volumes stay) and the project
/// network when nothing needs it any more.
package struct Foreground: Sendable {
  package var engine: any ContainerEngine
  package var plan: Plan
  package var outcome: Launcher.Outcome
  package var events: EventSink

  package init(engine: any ContainerEngine, plan: Plan, outcome: Launcher.Outcome, events: @escaping EventSink) {
    self.engine = engine
    self.plan = plan
    self.outcome = outcome
    self.events = events
  }

  /// Runs until the first stop request; returns the exit code (128 + the signal).
  package func run(stopRequests: AsyncStream<StopRequest>) async -> Int32 {
    let containers = plan.containers.filter { outcome.ports[$0.resource] != nil }
    let engine = self.engine
    let events = self.events
    var iterator = stopRequests.makeAsyncIterator()
    let request: StopRequest? = await withTaskGroup(of: StopRequest?.self) { group in
      for container in containers {
        // New containers show all their output; reused ones only what comes from now on.
        let tail: Int? = outcome.unchanged.contains(container.resource) ? 0 : nil
        group.addTask {
          try? await engine.followLogs(container.containerName, tail: tail) { line in
            events(.log(resource: container.resource, line: line))
          }
          if Task.isCancelled { return nil }
          // The output ended: the container stopped or was removed from outside.
          let record = try? await engine.inspect([container.containerName]).first
          let state = record.map { "\($0.status), exit code \($0.exitCode)" } ?? "removed"
          events(
            .note(
              "\(container.resource) stopped (\(state)); the rest keeps running. `apphost up` in another terminal "
                + "repairs it"))
          return nil
        }
      }
      let first = await iterator.next()
      group.cancelAll()
      return first
    }
    await shutDown(immediately: request.map { if case .immediate = $0 { true } else { false } } ?? false)
    return 128 + (request?.signal ?? 15)
  }

  /// Removes the session containers this run brought up, and the network when no container needs it.
  package func shutDown(immediately: Bool) async {
    let names = plan.containers.filter { $0.lifetime == .session && outcome.ports[$0.resource] != nil }
      .map(\.containerName)
    let teardown = Teardown(engine: engine, events: events)
    let records = (try? await engine.inspect(names)) ?? []
    try? await teardown.remove(records.filter { $0.projectDirectory == plan.projectDirectory }, save: !immediately)
    let remaining = (try? await engine.containers(project: plan.project)) ?? []
    if !remaining.contains(where: { $0.projectDirectory == plan.projectDirectory }) {
      try? await engine.removeNetworks([plan.network.name])
      events(.removedNetwork(plan.network.name))
    }
  }
}
