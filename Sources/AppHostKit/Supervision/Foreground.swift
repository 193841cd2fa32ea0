import Foundation

#if canImport(Glibc)
  import Glibc
#endif

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

/// The foreground `apphost up` once the containers are ready: runs the programs, streams every
/// resource's output, and on Ctrl-C (or when every program has ended) stops the programs first and
/// then removes the session containers (persistent ones and all volumes stay) and the project network
/// when nothing needs it any more.
package struct Foreground: Sendable {
  package var engine: any ContainerEngine
  package var plan: Plan
  package var outcome: Launcher.Outcome
  package var processes: [ProcessSpec]
  package var state: StateDirectory
  package var events: EventSink
  /// Set: the run serves the control socket (`restart`, `stop`, `start`, `events`, ...) with these events.
  package var hub: EventHub?

  package init(
    engine: any ContainerEngine, plan: Plan, outcome: Launcher.Outcome, processes: [ProcessSpec],
    state: StateDirectory, events: @escaping EventSink
  ) {
    self.engine = engine
    self.plan = plan
    self.outcome = outcome
    self.processes = processes
    self.state = state
    self.events = events
  }

  private enum Ending: Sendable {
    case requested(StopRequest)
    case programsEnded(failure: Int32?)
  }

  /// Runs until stopped or until every program has ended; returns the exit code: 128 + the signal,
  /// else the exit code of the first program that failed, else 0.
  package func run(stopRequests: AsyncStream<StopRequest>) async -> Int32 {
    let proxies = ReplicaProxies(specs: processes, plan: plan)
    proxies.start(events: events)
    defer { proxies.stop() }
    let supervisor = Supervisor(
      specs: processes, events: proxies.observing(events), logDirectory: ExecutableState.logDirectory(state),
      state: state, owner: .current, detached: false)
    let control = hub.map { hub in
      SessionControl.serve(
        plan: plan, engine: engine, supervisor: supervisor, state: state, hub: hub, events: self.events)
    }
    let watchers = ProgramWatchers(plan: plan, specs: processes, supervisor: supervisor, events: events)
    defer { watchers.stop() }
    let programs = Task { await supervisor.run() }
    let logs = Task { await followContainerLogs(control?.controller) }
    let readyBlock = Task { [plan, outcome, events] in
      guard let ready = await supervisor.readiness() else { return }
      let lines = ReadyBlock.lines(plan: plan, containerPorts: outcome.ports, processes: ready.processes)
      events(.note("ready:\n" + lines.joined(separator: "\n")))
    }
    let (endings, ended) = AsyncStream<Ending>.makeStream()
    let immediately = OnceFlag()
    let events = self.events
    let listener = Task {
      for await request in stopRequests {
        // Said first: the programs that end because of it must not count as having ended by themselves.
        ended.yield(.requested(request))
        if case .immediate = request {
          immediately.set()
          events(.note("stopping at once"))
          await supervisor.stop(immediately: true)
        } else {
          events(.note("stopping (Ctrl-C again stops at once)"))
          await supervisor.stop(immediately: false)
        }
      }
    }
    if !processes.isEmpty {
      Task {
        let failure = await programs.value
        ended.yield(.programsEnded(failure: failure))
      }
    }
    var iterator = endings.makeAsyncIterator()
    let ending = await iterator.next()
    _ = await programs.value
    control?.server?.close()
    logs.cancel()
    readyBlock.cancel()
    let end = await control?.controller.endSession() ?? (added: [], kept: [])
    let cleaned = await shutDown(immediately: immediately.isSet, adding: end.added, keeping: end.kept)
    listener.cancel()
    ExecutableState.remove(state)
    // Containers that could not be removed (the engine stopped answering) are a failure to report.
    if !cleaned { return 1 }
    switch ending {
    case .requested(let request): return 128 + request.signal
    case .programsEnded(let failure):
      events(.note("every program has ended"))
      return failure ?? 0
    case nil: return 0
    }
  }

  private func followContainerLogs(_ controller: SessionController?) async {
    let containers = plan.containers.filter { outcome.ports[$0.resource] != nil }
    let engine = self.engine
    let events = self.events
    await withTaskGroup(of: Void.self) { group in
      for container in containers {
        // New containers show all their output; reused ones only what comes from now on.
        let firstTail: Int? = outcome.unchanged.contains(container.resource) ? 0 : nil
        group.addTask {
          var tail = firstTail
          while !Task.isCancelled {
            await Log.quietly("follow the output of \(container.containerName)") { () async throws(AppHostError) in
              try await engine.followLogs(container.containerName, tail: tail) { line in
                events(.log(resource: container.resource, line: line))
              }
            }
            if Task.isCancelled { return }
            // Stopped or restarted through the control socket: followed again once it runs.
            tail = 0
            switch await controller?.outputEnded(container.resource) ?? .unexpected {
            case .resumed: continue
            case .requested: return
            case .unexpected: break
            }
            // The output ended: the container stopped or was removed from outside, or the engine went away.
            do throws(AppHostError) {
              let record = try await engine.inspect([container.containerName]).first
              let state = record.map { "\($0.state.rawValue), exit code \($0.exitCode)" } ?? "removed"
              if let record, !record.isRunning {
                events(.exited(resource: container.resource, code: Int32(truncatingIfNeeded: record.exitCode)))
              }
              let remedy =
                controller == nil
                ? "Stop this apphost up and start it again to repair it"
                : "`apphost restart \(container.resource)` starts it again"
              events(.note("\(container.resource) stopped (\(state)); the rest keeps running. \(remedy)"))
            } catch {
              events(.note("lost contact with \(engine.flavor.rawValue): \(error.errorDescription ?? "\(error)")"))
            }
            guard let controller, await controller.waitUntilRunningAgain(container.resource) else { return }
          }
        }
      }
    }
  }

  /// Removes the session containers this run brought up, and the network when no container needs it.
  /// Returns false, having said why, when the engine could not do it.
  package func shutDown(immediately: Bool, adding added: [String] = [], keeping kept: [String] = []) async -> Bool {
    var names =
      plan.containers.filter { $0.lifetime == .session && outcome.ports[$0.resource] != nil }
      .map(\.containerName).filter { !kept.contains($0) }
    // Those a second `up` added or recreated (once each).
    names += added.filter { !names.contains($0) }
    let teardown = Teardown(engine: engine, events: events)
    do throws(AppHostError) {
      let records = try await engine.inspect(names)
      try await teardown.remove(records.filter { $0.projectDirectory == plan.projectDirectory }, save: !immediately)
      let remaining = try await engine.containers(project: plan.project)
      if let network = plan.network, !remaining.contains(where: { $0.projectDirectory == plan.projectDirectory }) {
        await Log.quietly("remove the network \(network.name)") { () async throws(AppHostError) in
          try await engine.removeNetworks([network.name])
        }
        events(.removedNetwork(network.name))
      }
      return true
    } catch {
      events(
        .failed(
          ResourceFailure(
            resource: plan.project,
            reason: "the session containers could not be removed: \(error.errorDescription ?? "\(error)")\n"
              + "Run `apphost down` once \(engine.flavor.rawValue) answers again; it removes what is left.")))
      return false
    }
  }
}

/// A flag set once, read from anywhere.
package final class OnceFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false

  package init() {}

  package func set() {
    lock.lock()
    value = true
    lock.unlock()
  }

  package var isSet: Bool {
    lock.lock()
    defer { lock.unlock() }
    return value
  }
}
