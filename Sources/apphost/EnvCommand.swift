import AppHostKit
import ArgumentParser
import Foundation

extension EnvironmentFormat: ExpressibleByArgument {}

extension AppHost {
  struct Env: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "env",
      abstract: "Print the connection variables (for eval, .env files or JSON).",
      discussion: """
        With an executable's NAME: the environment apphost gives it. With a cache's NAME: the variables a \
        reference to it gives. Without NAME: those of every cache. The caches must be running \
        (apphost up -d) unless their hostPort is fixed. A cache with "replicas" also gives NAME_REPLICAS \
        (127.0.0.1:PORT of each read replica, comma-separated), and its ConnectionStrings__NAME lists \
        every node, primary first.

          eval "$(apphost env --format shell)"
          apphost env cache > .env
        """)

    @OptionGroup var options: ManifestOptions

    @Argument(
      help: "An executable or a cache; default: every cache.", completion: ResourceCompletion.names(.environment))
    var name: String?

    @Option(help: "dotenv (KEY=value), json or shell (export KEY='value').")
    var format: EnvironmentFormat = .dotenv

    func run() async throws {
      let console = Console()
      let text = try await reportingFailures(console) { () async throws(AppHostError) -> String in
        let session = try await ProjectSession.open(options, console: console)
        let variables = try ConnectionVariables.resolve(
          name: name, plan: session.plan,
          ports: StatusReport.ports(plan: session.plan, containers: session.containers).merging(
            ProgramPorts.known(plan: session.plan, state: session.project.state)
          ) { container, _ in container })
        return format.render(variables)
      }
      if !text.isEmpty { console.output(text) }
    }
  }
}
