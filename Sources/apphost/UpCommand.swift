import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Start the caches, UIs and programs of the manifest and wait until they answer.",
      discussion: """
        Starts what apphost.json describes (or the named resources and what they need) in dependency \
        order, independent ones in parallel, and waits until each answers (PING for caches, the health URL \
        for UIs). Running it again changes only what changed.

        In the foreground it streams every resource's output as `name | line` until Ctrl-C (or SIGTERM), \
        then removes the session containers; a second Ctrl-C stops at once. With --detach it returns once \
        everything is ready and leaves it running until `apphost down`.
        """)

    @OptionGroup var options: ManifestOptions

    @Argument(help: "Resources to start (with what they need); default: all.")
    var resources: [String] = []

    @Flag(name: .shortAndLong, help: "Return once everything is ready; stop it later with `apphost down`.")
    var detach = false

    @Option(help: ArgumentHelp("Seconds to wait for everything to be ready.", valueName: "seconds"))
    var timeout: Double = 60

    func validate() throws {
      guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() async throws {
      signal(SIGPIPE, SIG_IGN)
      let console = Console()
      let signals = SignalWatcher()
      let session = try await reportingFailures(console) { () async throws(AppHostError) in
        try await EngineSession.open(options, console: console)
      }
      let lock = try reportingFailures(console) { () throws(AppHostError) in
        try ProjectLock.acquire(session.project.state)
      }
      defer { lock.release() }
      let printer = EventPrinter(console: console, names: session.plan.resourceNames)
      printer(.connected(session.engine.flavor, project: session.plan.project))
      let launcher = Launcher(
        engine: session.engine, plan: session.plan, owner: .current, events: { printer($0) })
      let launchOptions = Launcher.Options(selection: resources, detached: detach, timeout: .seconds(timeout))
      let containers = session.containers
      let start = Task { () async throws(AppHostError) -> Launcher.Outcome in
        try await launcher.start(existing: containers, options: launchOptions)
      }
      signals.onSignal { _, _ in start.cancel() }
      let outcome: Launcher.Outcome
      switch await start.result {
      case .success(let value):
        outcome = value
      case .failure(let error):
        if let signal = signals.first { throw ExitCode(SignalWatcher.exitCode(for: signal)) }
        throw (error as? AppHostError ?? .cancelled).reported(to: console)
      }
      if detach {
        let count = outcome.ports.count
        console.output(
          outcome.unchanged.count == count && count > 0
            ? "apphost: nothing changed; \(count) resource\(count == 1 ? " is" : "s are") running"
            : "apphost: \(count) resource\(count == 1 ? "" : "s") ready; `apphost env` prints the connection "
              + "variables, `apphost down` stops \(count == 1 ? "it" : "them")")
        return
      }
      console.output(
        "apphost: \(outcome.ports.count) resource\(outcome.ports.count == 1 ? "" : "s") ready; Ctrl-C stops "
          + (outcome.ports.count == 1 ? "it" : "them"))
      let foreground = Foreground(
        engine: session.engine, plan: session.plan, outcome: outcome, events: { printer($0) })
      let code = await foreground.run(signals: signals)
      throw ExitCode(code)
    }
  }
}
