import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "up",
      abstract: "Start the caches, UIs and programs of the manifest and wait until they answer.",
      discussion: """
        Starts what apphost.json describes (or the named resources and what they need) in dependency \
        order, independent ones in parallel, and waits until each answers (PING for caches, the health URL \
        for UIs); then starts the programs with the connection variables in their environment. Running it \
        again changes only what changed.

        While an up runs for the project (in the foreground; or, for `up -d`, its background supervisor of \
        programs), a second up applies apphost.json to it: changed caches and UIs are recreated (their \
        volumes stay) and waited for, changed programs and those using a recreated cache restart with their \
        new settings, removed resources are stopped and removed (named volumes stay), new ones are added; \
        the rest keeps running. It prints one line a change and exits 0 (1 when a change failed; 65 for an \
        invalid manifest, which changes nothing).

        In the foreground it streams every resource's output as `name | line` until Ctrl-C (or SIGTERM, or \
        until every program has ended), then stops the programs (SIGTERM to their process group, SIGKILL \
        after 10 s) and removes the session containers; a second Ctrl-C stops at once. The exit code is \
        130/143 after a signal, else that of the first program that failed.

        With --detach it returns once everything is ready and leaves it running until `apphost down`; \
        programs then run in the background with their output in .apphost/logs/.
        """)

    @OptionGroup var options: ManifestOptions

    @Argument(help: "Resources to start (with what they need); default: all.")
    var resources: [String] = []

    @Flag(name: .shortAndLong, help: "Return once everything is ready; stop it later with `apphost down`.")
    var detach = false

    @Option(help: ArgumentHelp("Seconds to wait for everything to be ready.", valueName: "seconds"))
    var timeout: Double = 60

    @Flag(help: "Print what up would do now (create, reuse, recreate and why, remove), changing nothing.")
    var dryRun = false

    @Flag(
      help: ArgumentHelp(
        "Every state change as one JSON object a line on standard output (as `apphost events`); the usual "
          + "lines go to standard error."))
    var json = false

    @Flag(
      help: "Serve no web dashboard (by default up serves one on 127.0.0.1; `apphost dashboard` prints its address).")
    var noDashboard = false

    func validate() throws {
      guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() async throws {
      // With --json, standard output carries the events only.
      let console = Console(outputToStandardError: json)
      if dryRun {
        try await printDryRun(console)
        return
      }
      if try await appliedToRunningUp(console) { return }
      let signals = SignalWatcher()
      // `apphost up | head`: when the reader goes, stop as after Ctrl-C, leaving nothing behind.
      OutputClosed.shared.onClose { signals.inject(SIGPIPE) }
      let session = try await reportingFailures(console) { () async throws(AppHostError) in
        try await ProjectSession.open(options, console: console, starting: true)
      }
      let state = session.project.state
      let lock = try await reportingFailures(console) { () async throws(AppHostError) -> ProjectLock in
        do throws(AppHostError) {
          // Programs that cannot run are found before anything starts.
          let selection = try session.plan.closure(of: resources)
          for executable in session.plan.executables where selection.contains(executable.resource) {
            if executable.resolvedCommand == nil {
              throw .commandNotFound(resource: executable.resource, command: executable.command)
            }
          }
          return try ProjectLock.acquire(state)
        } catch {
          await session.discardCreatedNetwork()
          throw error
        }
      }
      defer { lock.release() }
      let printer = EventPrinter(
        console: console,
        names: session.plan.resourceNames.flatMap { name in
          session.plan.executable(name).map { executable in
            (0..<executable.replicas).map { executable.displayName(replica: $0) }
          } ?? [name]
        })
      printer(.connected(session.engine.flavor, project: session.plan.project))
      // Every state change also goes to the control socket's subscribers (`apphost events`).
      let hub = EventHub(plan: session.plan)
      if json {
        let events = Console()
        hub.subscribe { event in events.output(String(decoding: ControlCoding.line(event).dropLast(), as: UTF8.self)) }
      }
      let launcher = session.launcher(events: {
        printer($0); hub.publish($0)
      })
      var launchOptions = Launcher.Options(selection: resources, detached: detach, timeout: .seconds(timeout))
      launchOptions.networkCreated = session.networkCreated
      let containers = session.containers
      let start = Task { () async throws(AppHostError) -> Launcher.Outcome in
        try await launcher.start(existing: containers, options: launchOptions)
      }
      signals.onSignal { _, _ in start.cancel() }
      let outcome: Launcher.Outcome
      switch await start.result {
      case .success(let value):
        outcome = value
        PortMemory(state: state).remember(value.ports)
      case .failure(let error):
        if let signal = signals.first { throw ExitCode(SignalWatcher.exitCode(for: signal)) }
        throw (error as? AppHostError ?? .cancelled).reported(to: console)
      }
      let specs = try await reportingFailures(console) { () async throws(AppHostError) in
        do throws(AppHostError) {
          return try ProcessSpec.specs(
            plan: session.plan, containerPorts: outcome.ports, selection: try session.plan.closure(of: resources),
            state: state, notice: { printer(.note($0)) })
        } catch {
          await session.backOut(outcome, events: { printer($0) })
          throw error
        }
      }
      if detach {
        try await startInBackground(specs, session: session, outcome: outcome, console: console, printer: printer)
        return
      }
      // A foreground up runs the programs itself: the ones a detached up started stop first.
      await BackgroundSupervisor.stop(state, events: { printer($0) })
      console.output(
        "apphost: \(outcome.ports.count) resource\(outcome.ports.count == 1 ? "" : "s") ready"
          + (specs.isEmpty ? "" : ", starting \(specs.count) program\(specs.count == 1 ? "" : "s")")
          + "; Ctrl-C stops " + (outcome.ports.count + specs.count == 1 ? "it" : "them"))
      // The dashboard follows the control socket Foreground serves; it ends with this up.
      let dashboard = noDashboard ? nil : await startDashboard(session: session, console: console)
      var foreground = Foreground(
        engine: session.engine, plan: session.plan, outcome: outcome, processes: specs, state: state,
        events: {
          printer($0); hub.publish($0)
        })
      foreground.hub = hub
      let code = await foreground.run(signals: signals)
      await dashboard?.stop()
      throw ExitCode(code)
    }

    /// Starts the dashboard and prints its address with this run's token; a dashboard that cannot start
    /// is a note, not a failure of `up`.
    private func startDashboard(session: ProjectSession, console: Console) async -> DashboardProcess? {
      let state = session.project.state
      do {
        let process = try await DashboardProcess.start(
          DashboardProcess.prepare(state, environment: [:]), manifest: session.project.loaded.path,
          engine: session.engine.flavor, state: state)
        console.output("apphost: dashboard \(process.record.loginURL)")
        return process
      } catch {
        console.error("apphost: no dashboard: \(error.errorDescription ?? "\(error)")")
        return nil
      }
    }

    /// An `up` runs for the project (in the foreground, or `up -d`'s background supervisor): the manifest's
    /// changes are applied to its session through its control socket, instead of refusing. One line a
    /// change, then a summary; exit 1 when a change failed. True when that was done.
    private func appliedToRunningUp(_ console: Console) async throws -> Bool {
      // A foreground up holds the project's lock; `up -d`'s background supervisor serves the socket without
      // it (a second `up -d` goes to it; a plain `up` takes over in the foreground, as before).
      guard let project = try? Project.load(file: options.file) else { return false }
      let supervised = ExecutableState.load(project.state).map { $0.detached && $0.owner.isAlive } ?? false
      guard ProjectLock.holder(project.state) != nil || (detach && supervised) else { return false }
      // A manifest that cannot be planned here goes the usual way, which refuses it (65): nothing changes.
      guard let plan = try? project.plan(environment: ProcessInfo.processInfo.environment) else { return false }
      for executable in plan.executables where executable.resolvedCommand == nil {
        throw AppHostError.commandNotFound(resource: executable.resource, command: executable.command)
          .reported(to: console)
      }
      // The running up opens its socket once its resources are ready (and its dashboard started): give it
      // a few seconds before refusing.
      var client = try? ControlClient.connect(project.state)
      let deadline = ContinuousClock.now + .seconds(5)
      while client == nil && ContinuousClock.now < deadline
        && (ProjectLock.holder(project.state) != nil || supervised)
      {
        try? await Task.sleep(for: .milliseconds(100))
        client = try? ControlClient.connect(project.state)
      }
      guard let client else { return false }
      if !resources.isEmpty {
        console.warning("apphost: an apphost up runs for this project; applying all of apphost.json to it")
      }
      let changes = try await reportingFailures(console) { () async throws(AppHostError) in
        try await client.send(ControlRequest(command: .apply)).changes ?? []
      }
      guard !changes.isEmpty else {
        console.output("apphost: nothing changed; the running apphost up has every resource of apphost.json as it is")
        return true
      }
      let printer = EventPrinter(console: console, names: changes.map(\.name))
      for change in changes { printer.line(change.name, change.summary) }
      let failed = changes.filter { $0.kind == .failed }
      let counts = ControlChange.Kind.allCases.compactMap { kind -> String? in
        let count = changes.filter { $0.kind == kind }.count
        return count == 0 ? nil : "\(count) \(kind.rawValue)"
      }
      let summary = "apphost: applied apphost.json to the running apphost up: \(counts.joined(separator: ", "))"
      guard failed.isEmpty else {
        console.error(
          summary + "; \(failed.map(\.name).joined(separator: ", ")) failed (the rest runs on; `apphost logs` "
            + "shows why)")
        throw ExitCode(1)
      }
      console.output(summary)
      return true
    }

    /// `up --dry-run`: the steps `up` would carry out, from what the engine has now; nothing is made,
    /// started or removed (not even the network `up` makes while listing).
    private func printDryRun(_ console: Console) async throws {
      let (session, reconciliation) = try await reportingFailures(console) {
        () async throws(AppHostError) -> (ProjectSession, Reconciliation) in
        let session = try await ProjectSession.open(options, console: console)
        return (session, try Reconciliation.plan(session.plan, observed: session.containers, selection: resources))
      }
      let plan = session.plan
      let selection = try reportingFailures(console) { () throws(AppHostError) in try plan.closure(of: resources) }
      let flavor = session.engine.flavor
      var lines = reconciliation.lines { $0.madeFrom(on: flavor) }
      for executable in plan.executables where selection.contains(executable.resource) {
        let command = shellCommandLine([executable.command] + executable.arguments.map { $0.masked() })
        let copies = executable.replicas == 1 ? "" : "; \(executable.replicas) replicas"
        lines.append("program  \(executable.resource)  (\(command)\(copies))")
      }
      console.output(
        "apphost: up would do this on \(session.engine.flavor.rawValue) (--dry-run: nothing was changed):")
      for line in lines { console.output("  " + line) }
      if reconciliation.isNoOp && plan.executables.isEmpty { console.output("  (nothing to change)") }
    }

    /// `up --detach`: programs go to a background apphost, unless the same ones already run there.
    private func startInBackground(
      _ specs: [ProcessSpec], session: ProjectSession, outcome: Launcher.Outcome, console: Console,
      printer: EventPrinter
    ) async throws {
      let state = session.project.state
      let count = outcome.ports.count
      var unchangedPrograms = false
      var dashboardRecord: DashboardRecord?
      var dashboardEnvironment: [String: String] = [:]
      if specs.isEmpty {
        // A full up of a manifest without programs stops programs a previous up left running.
        if resources.isEmpty { await BackgroundSupervisor.stop(state, events: { printer($0) }) }
      } else if let running = ExecutableState.load(state), running.detached, running.owner.isAlive,
        running.fingerprint == ProcessSpec.fingerprint(specs)
      {
        unchangedPrograms = true
        for process in running.processes { printer.line(process.name, "unchanged, \(process.state.rawValue)") }
        if !noDashboard { dashboardRecord = DashboardProcess.running(state) }
      } else {
        await BackgroundSupervisor.stop(state, events: { printer($0) })
        var arguments = ["--file", session.project.loaded.path, "--engine", session.engine.flavor.rawValue]
        arguments += resources
        // The supervisor serves the dashboard with the token and port chosen here, so this up can print it.
        if !noDashboard {
          let record = DashboardProcess.prepare(state, environment: [:])
          dashboardRecord = record
          dashboardEnvironment = [
            DashboardAccess.tokenVariable: record.token ?? "", DashboardAccess.portVariable: String(record.port),
          ]
        }
        let environment = dashboardEnvironment
        let started = try await reportingFailures(console) { () async throws(AppHostError) in
          do throws(AppHostError) {
            return try await BackgroundSupervisor.start(
              arguments: arguments, state: state,
              timeout: BackgroundSupervisor.waitLimit(specs, timeout: .seconds(timeout)), environment: environment)
          } catch {
            await session.backOut(outcome, events: { printer($0) })
            throw error
          }
        }
        for process in started.processes {
          printer.line(process.name, "started in the background (pid \(process.pid.map(String.init) ?? "?"))")
        }
      }
      let total = count + specs.count
      if let asked = dashboardRecord {
        // The supervisor's dashboard says where it listens once it does (another port if that one was taken).
        if let record = try? await DashboardProcess.waitForRecord(token: asked.token, state: state) {
          console.output("apphost: dashboard \(record.loginURL)")
        } else {
          console.error("apphost: no dashboard: see .apphost/logs/dashboard.log")
        }
      }
      if outcome.unchanged.count == count && (specs.isEmpty || unchangedPrograms) && total > 0 {
        console.output("apphost: nothing changed; \(total) resource\(total == 1 ? " is" : "s are") running")
      } else {
        console.output(
          "apphost: \(total) resource\(total == 1 ? "" : "s") ready; `apphost ps` shows them, `apphost env` "
            + "prints the connection variables, `apphost logs` the output, `apphost down` stops "
            + (total == 1 ? "it" : "them"))
      }
    }
  }
}
