import AppHostKit
import ArgumentParser
import Foundation

/// How the verbs reach a project: the control socket of its running `up`, else (for containers only,
/// e.g. after `up -d` of caches, which leaves no apphost running) the engine directly.
enum ProjectControl {
  /// The project's state folder, from the manifest.
  static func state(_ options: ManifestOptions) throws(AppHostError) -> StateDirectory {
    try Project.load(file: options.file).state
  }

  /// Runs `command` on `names` through the running `up`, or on containers directly when none runs.
  static func perform(_ command: ControlCommand, names: [String], options: ManifestOptions, console: Console)
    async throws(AppHostError) -> [String]
  {
    let state = try state(options)
    do {
      let client = try ControlClient.connect(state)
      return try await client.send(ControlRequest(command: command, names: names)).affected ?? []
    } catch .noSession(let socket) {
      let session = try await ProjectSession.open(options, console: console)
      let programs = names.filter { name in session.plan.container(name) == nil }
      if programs.contains(where: { isProgram($0, plan: session.plan) }) {
        throw .noSession(socket: socket)
      }
      let printer = EventPrinter(console: console, names: session.plan.resourceNames)
      let controller = SessionController(
        plan: session.plan, engine: session.engine, supervisor: nil, hub: EventHub(), events: { printer($0) })
      return try await controller.perform(command, names: names)
    }
  }

  static func isProgram(_ name: String, plan: Plan) -> Bool {
    plan.executables.contains { executable in
      executable.resource == name || (0..<executable.replicas).contains { executable.displayName(replica: $0) == name }
    }
  }

  /// The resources and their state: from the running `up`, else (no `up`) the containers as the engine
  /// has them, and the programs as not run.
  static func list(_ options: ManifestOptions, console: Console, session: inout ProjectSession?)
    async throws(AppHostError) -> [ControlResource]
  {
    let state = try state(options)
    if let client = try? ControlClient.connect(state) { return try await client.list() }
    if session == nil { session = try await ProjectSession.open(options, console: console) }
    guard let session else { return [] }
    let controller = SessionController(
      plan: session.plan, engine: session.engine, supervisor: nil, hub: EventHub(), events: { _ in })
    return await controller.list().map { row in
      var row = row
      if row.kind == "program" {
        row.state = "not started"
        row.reason = "no apphost up runs it"
      }
      return row
    }
  }
}

extension AppHost {
  /// `restart`, `stop` and `start`: the same shape, one verb each.
  struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "restart",
      abstract: "Restart resources of a running project (a program's every replica, or one: NAME-1).",
      discussion: """
        Programs: SIGTERM to the process group (SIGKILL after 10 s), then started again at once, whatever \
        their restart policy; the others keep running. Containers and native servers: stopped and started \
        through the engine and waited for until they answer; the session keeps them. Talks to the running \
        apphost up through .apphost/control.sock; containers of a detached up also without one.
        """)
    @OptionGroup var options: ManifestOptions
    @Argument(help: "Resources or replicas.", completion: ResourceCompletion.names(.running, repeating: true))
    var names: [String]

    func run() async throws { try await runVerb(.restart, names: names, options: options, done: "restarted") }
  }

  struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "stop",
      abstract: "Stop resources of a running project and keep them stopped until `apphost start`.",
      discussion: """
        Programs: SIGTERM to the process group (SIGKILL after 10 s); no restart policy brings them back. \
        Containers: stopped through the engine, kept (`apphost start` starts them again).
        """)
    @OptionGroup var options: ManifestOptions
    @Argument(help: "Resources or replicas.", completion: ResourceCompletion.names(.running, repeating: true))
    var names: [String]

    func run() async throws { try await runVerb(.stop, names: names, options: options, done: "stopped") }
  }

  struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "start",
      abstract: "Start stopped (or ended) resources of a running project again.",
      discussion: "Returns once each has started (containers: once they answer).")
    @OptionGroup var options: ManifestOptions
    @Argument(help: "Resources or replicas.", completion: ResourceCompletion.names(.running, repeating: true))
    var names: [String]

    func run() async throws { try await runVerb(.start, names: names, options: options, done: "started") }
  }
}

func runVerb(_ command: ControlCommand, names: [String], options: ManifestOptions, done: String) async throws {
  let console = Console()
  let affected = try await reportingFailures(console) { () async throws(AppHostError) in
    try await ProjectControl.perform(command, names: names, options: options, console: console)
  }
  console.output("apphost: \(done) \(affected.joined(separator: ", "))")
}

extension AppHost {
  struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "events",
      abstract: "Print every state change of the running project as one JSON object a line.",
      discussion: """
        Fields: time, type (starting, ready, exited, restarting, stopped), resource, process, replica, pid, \
        exitCode, attempt, delaySeconds, endpoint, reason (absent when they do not apply). Runs until the \
        apphost up ends (exit 0) or Ctrl-C. `apphost up --json` prints the same lines.
        """)
    @OptionGroup var options: ManifestOptions
    @Argument(
      help: "Only these resources; default: all.", completion: ResourceCompletion.names(.running, repeating: true))
    var names: [String] = []

    func run() async throws {
      let console = Console()
      let stream = try await reportingFailures(console) { () async throws(AppHostError) in
        try await ControlClient.connect(ProjectControl.state(options)).events()
      }
      for await event in stream where names.isEmpty || names.contains(event.resource) || names.contains(event.process) {
        console.output(String(decoding: ControlCoding.line(event).dropLast(), as: UTF8.self))
      }
    }
  }

  struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "wait",
      abstract: "Wait until resources are ready; exit 1 naming what is not, and why.",
      discussion: """
        Ready: a cache answers PING (with its password), a UI its health URL, a program its readiness check \
        (without one: it has started), a task has completed with 0. Asks \
        the running apphost up; containers of a detached up are checked through the engine without one.
        """)
    @OptionGroup var options: ManifestOptions
    @Argument(
      help: "Resources or replicas; default: all.", completion: ResourceCompletion.names(.running, repeating: true))
    var names: [String] = []
    @Option(help: ArgumentHelp("Seconds to wait.", valueName: "seconds"))
    var timeout: Double = 60

    func validate() throws {
      guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() async throws {
      let console = Console()
      let deadline = ContinuousClock.now + .seconds(timeout)
      var session: ProjectSession?
      while true {
        let rows = try await reportingFailures(console) { () async throws(AppHostError) in
          try await ProjectControl.list(options, console: console, session: &session)
        }
        var waiting: [ControlResource] = []
        for name in names where !rows.contains(where: { $0.name == name || $0.resource == name }) {
          throw AppHostError.unknownResource(name: name, known: rows.map(\.name)).reported(to: console)
        }
        for row in rows {
          let selected =
            names.isEmpty ? row.state != "skipped" : names.contains(row.name) || names.contains(row.resource)
          if selected && !row.ready { waiting.append(row) }
        }
        if waiting.isEmpty {
          console.output(
            "apphost: ready: \(rows.filter { names.isEmpty || names.contains($0.name) || names.contains($0.resource) }.map(\.name).joined(separator: ", "))"
          )
          return
        }
        if ContinuousClock.now >= deadline {
          console.error(
            "apphost wait: not ready after \(String(format: "%g", timeout)) s: "
              + waiting.map { "\($0.name) (\($0.state)\($0.reason.map { ": \($0)" } ?? ""))" }.joined(separator: ", "))
          throw ExitCode(1)
        }
        try await Task.sleep(for: .milliseconds(200))
      }
    }
  }
}
