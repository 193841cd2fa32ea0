import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  /// The background part of `up --detach`: runs the programs until SIGTERM (from `down` or the next
  /// `up`). Not for people: `up -d` starts it with its output in `.apphost/logs/supervisor.log`.
  struct Supervise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "__supervise", abstract: "Runs the programs of `up --detach` (internal).", shouldDisplay: false)

    @OptionGroup var options: ManifestOptions

    @Argument var resources: [String] = []

    func run() async throws {
      // A session of its own: no terminal, no SIGHUP when the terminal that ran `up -d` closes.
      _ = setsid()
      let console = Console(environment: ["NO_COLOR": "1"])
      let signals = SignalWatcher()
      let (session, specs) = try await reportingFailures(console) { () async throws(AppHostError) in
        let session = try await ProjectSession.open(options, console: console)
        let ports = StatusReport.ports(plan: session.plan, containers: session.containers)
        let selection = try session.plan.closure(of: resources)
        return (
          session,
          try ProcessSpec.specs(
            plan: session.plan, containerPorts: ports, selection: selection, state: session.project.state,
            notice: { console.output($0) })
        )
      }
      // Program output goes to their own log files; this log keeps what happened to them.
      let proxies = ReplicaProxies(specs: specs, plan: session.plan)
      let hub = EventHub(plan: session.plan)
      let log: EventSink = { event in
        hub.publish(event)
        if case .logLines = event { return }
        console.output("\(Date().formatted(.iso8601)) \(describe(event))")
      }
      proxies.start(events: log)
      defer { proxies.stop() }
      let events = proxies.observing(log)
      let supervisor = Supervisor(
        specs: specs, events: events, logDirectory: ExecutableState.logDirectory(session.project.state),
        state: session.project.state,
        owner: .current, detached: true)
      let watchers = ProgramWatchers(plan: session.plan, specs: specs, supervisor: supervisor, events: log)
      defer { watchers.stop() }
      signals.onSignal { _, count in
        Task { await supervisor.stop(immediately: count > 1) }
      }
      // `apphost restart/stop/start/events` reach the programs (and the project's containers) here.
      let control = SessionControl.serve(
        plan: session.plan, engine: session.engine, supervisor: supervisor, state: session.project.state, hub: hub,
        detached: true, events: events)
      // The dashboard `up -d` asked for (its token and port in the environment).
      var dashboard: DashboardProcess?
      let environment = ProcessInfo.processInfo.environment
      if environment[DashboardAccess.tokenVariable] != nil {
        do {
          dashboard = try await DashboardProcess.start(
            DashboardProcess.prepare(session.project.state, environment: environment),
            manifest: session.project.loaded.path, engine: session.engine.flavor, state: session.project.state)
        } catch {
          console.output("no dashboard: \(error.errorDescription ?? "\(error)")")
        }
      }
      _ = await supervisor.run()
      await dashboard?.stop()
      control.server?.close()
    }
  }
}

/// An event as one plain line (for the background supervisor's log).
func describe(_ event: RunEvent) -> String {
  switch event {
  case .started(let resource, let pid): "\(resource) started (pid \(pid))"
  case .exited(let resource, let code): "\(resource) exited with code \(code)"
  case .restarting(let resource, let after): "\(resource) restarting in \(after) s"
  case .failed(let failure): failure.description
  case .note(let text): text
  default: "\(event)"
  }
}
