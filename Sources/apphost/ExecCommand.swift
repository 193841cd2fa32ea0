import AppHostKit
import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension AppHost {
  struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "exec",
      abstract: "Run a command inside a resource (default: a shell), as `docker compose exec` does.",
      discussion: """
        Containers: `docker exec` / `podman exec` in the resource's container, with -it when standard input \
        and output are a terminal (-i otherwise), so `apphost exec cache -- redis-cli ping` and \
        `echo ping | apphost exec cache -- redis-cli` both work. Native caches and programs run no \
        container: the command runs here, in the project's folder, with the variables `apphost env NAME` \
        prints. The exit code is the command's. Needs no apphost up, only the resource running.

          apphost exec cache                      # a shell in the cache's container
          apphost exec cache -- redis-cli info    # one command
        """)

    @OptionGroup var options: ManifestOptions

    @Argument(help: "The resource.", completion: ResourceCompletion.names(.running))
    var name: String

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`; default: a shell.")
    var command: [String] = []

    func run() async throws {
      let console = Console()
      let (argv, environment, folder) = try await reportingFailures(console) {
        () async throws(AppHostError) -> ([String], [String: String], String?) in
        try await prepare(console)
      }
      // Into this process's environment (never its arguments: passwords among them), inherited below.
      for (key, value) in environment { setenv(key, value, 1) }
      if let folder, chdir(folder) != 0 {
        console.error("apphost exec: cannot enter \(folder): \(String(cString: strerror(errno)))")
        throw ExitCode(1)
      }
      // The command takes this process's place: its terminal, its signals, its exit code.
      let words = argv.map { strdup($0) } + [nil]
      execvp(argv[0], words)
      let reason = String(cString: strerror(errno))
      words.forEach { free($0) }
      console.error("apphost exec: cannot run \(argv[0]): \(reason)")
      throw ExitCode(127)
    }

    /// The command line to run, the variables to add, and where to run it.
    private func prepare(_ console: Console) async throws(AppHostError) -> ([String], [String: String], String?) {
      let session = try await ProjectSession.open(options, console: console)
      let plan = session.plan
      let ports = StatusReport.ports(plan: plan, containers: session.containers)
      if let container = plan.container(name) {
        guard ports[container.resource] != nil else { throw .notRunning(resources: [name]) }
        guard let engine = session.engine as? CLIEngine else {
          // The native engine: the server runs here; so does the command, with its variables.
          let shell = ProcessInfo.processInfo.environment["SHELL"].flatMap { $0.isEmpty ? nil : $0 } ?? "/bin/sh"
          let variables = try ConnectionVariables.resolve(name: name, plan: plan, ports: ports)
          return (
            command.isEmpty ? [shell] : command, Dictionary(variables.map { ($0.name, $0.value) }) { _, last in last },
            plan.projectDirectory
          )
        }
        let record = session.containers.first { $0.name == container.containerName }
        guard record?.isRunning == true else { throw .notRunning(resources: [name]) }
        let terminal = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        return (
          [engine.program, "exec", terminal ? "-it" : "-i", container.containerName]
            + (command.isEmpty ? ["sh"] : command),
          [:], nil
        )
      }
      if plan.executable(name) != nil {
        let shell = ProcessInfo.processInfo.environment["SHELL"].flatMap { $0.isEmpty ? nil : $0 } ?? "/bin/sh"
        let variables = try ConnectionVariables.resolve(name: name, plan: plan, ports: ports)
        return (
          command.isEmpty ? [shell] : command, Dictionary(variables.map { ($0.name, $0.value) }) { _, last in last },
          plan.executable(name)?.workingDirectory
        )
      }
      if plan.skipped.contains(where: { $0.name == name }) {
        throw .controlFailed(reason: "\(name) is skipped: it needs docker or podman")
      }
      throw .unknownResource(name: name, known: plan.resourceNames)
    }
  }
}
