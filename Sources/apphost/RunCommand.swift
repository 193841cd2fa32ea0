import AppHostKit
import ArgumentParser
import Foundation
import Subprocess

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

extension AppHost {
  struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "run",
      abstract: "Run a command with the caches' connection variables, starting the caches if needed.",
      discussion: """
        Makes sure the caches are up (starting them detached when they are not), then runs COMMAND with \
        the connection variables of every cache (or of the --ref ones) added to its environment, with \
        this terminal's input and output. Exits with COMMAND's exit code. With --down, removes afterwards \
        what this run started. The one-line CI smoke test:

          apphost run --down -- python3 -m pytest
        """)

    @OptionGroup var options: ManifestOptions

    @Option(
      name: .customLong("ref"),
      help: ArgumentHelp("A cache or connection string to pass (repeatable); default: every cache.", valueName: "name"))
    var references: [String] = []

    @Flag(help: "Remove what this run started when the command ends.")
    var down = false

    @Option(help: ArgumentHelp("Seconds to wait for the caches to be ready.", valueName: "seconds"))
    var timeout: Double = 60

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
      guard !command.isEmpty else {
        throw ValidationError("name the command to run after `--`, for example: apphost run -- python3 app.py")
      }
      guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() async throws {
      let console = Console()
      let signals = SignalWatcher()
      let (session, outcome, variables) = try await reportingFailures(console) {
        () async throws(AppHostError) -> (ProjectSession, Launcher.Outcome?, [(name: String, value: String)]) in
        let session = try await ProjectSession.open(options, console: console, starting: true)
        let plan = session.plan
        for reference in references where plan.endpoint(reference) == nil {
          throw .unknownResource(name: reference, known: plan.endpoints.map(\.resource))
        }
        let caches = (references.isEmpty ? plan.endpoints.map(\.resource) : references).filter {
          plan.container($0) != nil
        }
        // Already up and unchanged: use them as they are.
        var ports = StatusReport.ports(plan: plan, containers: session.containers)
        var outcome: Launcher.Outcome?
        let current = try caches.isEmpty ? true : session.isCurrent(caches)
        if current {
          // The network made while connecting is not needed after all.
          await session.discardCreatedNetwork()
        } else {
          let lock = try ProjectLock.acquire(session.project.state)
          defer { lock.release() }
          // Progress goes to stderr: stdout belongs to the command.
          let printer = EventPrinter(console: Console(outputToStandardError: true), names: caches)
          let launcher = session.launcher(events: { printer($0) })
          var options = Launcher.Options(selection: caches, detached: true, timeout: .seconds(timeout))
          options.networkCreated = session.networkCreated
          outcome = try await launcher.start(existing: session.containers, options: options)
          ports.merge(outcome?.ports ?? [:]) { _, new in new }
          PortMemory(state: session.project.state).remember(outcome?.ports ?? [:])
        }
        return (session, outcome, try ConnectionVariables.forReferences(references, plan: plan, ports: ports))
      }
      let status = await execute(variables, signals: signals, console: console)
      if down, let outcome { await session.backOut(outcome, events: { _ in }) }
      throw ExitCode(status)
    }

    /// Runs the command in this terminal and returns its exit status (128 + signal when one ended it).
    private func execute(_ variables: [(name: String, value: String)], signals: SignalWatcher, console: Console) async
      -> Int32
    {
      var updates: [Environment.Key: String?] = [:]
      for variable in variables { updates[Environment.Key(stringLiteral: variable.name)] = variable.value }
      let program = command[0]
      let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
      let finished = OnceFlag()
      do {
        let result = try await Subprocess.run(
          executable, arguments: Arguments(Array(command.dropFirst())), environment: .inherit.updating(updates),
          input: .currentStandardInput, output: .currentStandardOutput, error: .currentStandardError
        ) { execution in
          // The terminal's Ctrl-C reaches the command directly (same process group); SIGTERM sent to
          // apphost is passed on.
          let pid = execution.processIdentifier.value
          signals.onSignal { number, _ in
            if number == SIGTERM && !finished.isSet { kill(pid, SIGTERM) }
          }
        }
        finished.set()
        switch result.terminationStatus {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
      } catch {
        console.error("apphost run: \(program) could not be started: \(error)")
        return program.contains("/")
          || findExecutable(program, path: ProcessInfo.processInfo.environment["PATH"]) != nil
          ? 126 : 127
      }
    }
  }
}
