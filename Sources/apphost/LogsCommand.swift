import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "logs",
      abstract: "Show the output of resources as `name | line`.",
      discussion: "Without names: every resource. With --follow: keep printing new lines until Ctrl-C.")

    // `-f` is --follow here, as in `docker compose logs -f`; the manifest is given with --file.
    @Option(name: .customLong("file"), help: ArgumentHelp("The manifest to read.", valueName: "path"))
    var file: String = "apphost.json"

    @Option(help: ArgumentHelp("docker, podman or native (chosen as for the other commands).", valueName: "engine"))
    var engine: EngineFlavor?

    @OptionGroup var verbosity: VerboseOption

    var options: ManifestOptions {
      var options = ManifestOptions()
      options.file = file
      options.engine = engine
      return options
    }

    @Argument(
      help: "Resources to show; default: all.",
      completion: ResourceCompletion.names(.running, shortFileOption: false, repeating: true))
    var resources: [String] = []

    @Flag(name: .shortAndLong, help: "Keep printing new lines.")
    var follow = false

    @Option(help: ArgumentHelp("Only the last N lines of each.", valueName: "N"))
    var tail: Int?

    @Option(
      help: ArgumentHelp(
        "Only lines written since then: a duration back from now (10m, 1h30m, 45s, 2d) or a time "
          + "(2026-12-02T10:00:00Z).", valueName: "when"))
    var since: String?

    @Flag(name: [.customShort("t"), .customLong("timestamps")], help: "Begin every line with when it was written.")
    var timestamps = false

    func validate() throws {
      if let since, LogTime.since(since) == nil {
        throw ValidationError("--since \(since): give a duration (10m, 1h30m, 45s) or a time (2026-12-02T10:00:00Z)")
      }
    }

    func run() async throws {
      let console = Console()
      let signals = SignalWatcher()
      let session = try await reportingFailures(console) { () async throws(AppHostError) in
        try await ProjectSession.open(options, console: console)
      }
      let selected = try reportingFailures(console) { () throws(AppHostError) -> [String] in
        for name in resources where !session.plan.resourceNames.contains(name) {
          throw .unknownResource(name: name, known: session.plan.resourceNames)
        }
        // A cache's read replicas or cluster nodes come with it (`logs cache`); `logs cache-node-2` shows one.
        return resources.isEmpty
          ? session.plan.resourceNames
          : resources.flatMap { name in
            session.plan.container(name) == nil ? [name] : session.plan.servers(of: name).map(\.resource)
          }
      }
      let plan = session.plan
      let state = session.project.state
      let programFiles = plan.executables.filter { selected.contains($0.resource) }.flatMap {
        ProgramLogs.files(for: $0, state: state)
      }
      let printer = EventPrinter(console: console, names: selected + programFiles.map(\.name))
      let existing = Set(session.containers.filter { $0.projectDirectory == plan.projectDirectory }.map(\.name))
      let containers = plan.containers.filter { selected.contains($0.resource) && existing.contains($0.containerName) }
      let engine = session.engine
      let tail = self.tail
      let follow = self.follow
      let since = self.since.flatMap { LogTime.since($0) }
      let timestamps = self.timestamps
      let work = Task {
        await withTaskGroup(of: Void.self) { group in
          for container in containers {
            group.addTask {
              if follow {
                await Log.quietly("follow the output of \(container.containerName)") {
                  () async throws(AppHostError) in
                  try await engine.followLogs(
                    container.containerName, tail: tail, since: since, timestamps: timestamps
                  ) { line in
                    printer(.log(resource: container.resource, line: line))
                  }
                }
              } else {
                let lines = await Log.quietly("read the output of \(container.containerName)") {
                  () async throws(AppHostError) in
                  try await engine.logs(container.containerName, tail: tail, since: since, timestamps: timestamps)
                }
                for line in lines ?? [] {
                  printer(.log(resource: container.resource, line: line))
                }
              }
            }
            // Without --follow, one resource after the other keeps each one's lines together.
            if !follow { await group.next() }
          }
          for file in programFiles {
            let (lines, end) = ProgramLogs.read(file.path, tail: tail, since: since, timestamps: timestamps)
            if !lines.isEmpty { printer(.logLines(resource: file.name, lines: lines)) }
            if follow {
              group.addTask {
                await ProgramLogs.follow(file.path, from: end, timestamps: timestamps) {
                  printer(.logLines(resource: file.name, lines: $0))
                }
              }
            }
          }
        }
      }
      signals.onSignal { _, _ in work.cancel() }
      await work.value
      if containers.isEmpty && programFiles.isEmpty {
        console.error(
          "apphost: none of \(listing(selected, conjunction: "and")) has a container; start it with `apphost up`")
      }
      if let signal = signals.first { throw ExitCode(SignalWatcher.exitCode(for: signal)) }
    }
  }
}
