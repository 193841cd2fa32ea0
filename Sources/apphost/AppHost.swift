import AppHostKit
import ArgumentParser

@main
struct AppHost: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apphost",
    abstract: "Start Redis, Valkey and Garnet containers and your own programs, wired together.",
    discussion: """
      apphost reads apphost.json, starts the caches it describes with docker or podman, waits until \
      they answer, and runs your programs with the connection details in their environment \
      (ConnectionStrings__NAME, NAME_HOST, NAME_PORT, REDIS_URL, ...).

      New here? Run `apphost init` to write a starter apphost.json, then `apphost config` to see \
      what apphost would do with it.
      """,
    version: AppHostVersion.current,
    subcommands: [
      Up.self, Down.self, Ps.self, Env.self, Logs.self, Run.self, Cli.self, Publish.self, Config.self, Init.self,
      Supervise.self,
    ]
  )

  /// `apphost help NAME` for a NAME that is no command: ArgumentParser would print the overview and exit 0,
  /// as if the command existed.
  static func main() async {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "help", let name = arguments.dropFirst().first, !name.hasPrefix("-") {
      let commands = configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
      if !commands.contains(name) && name != "help" {
        exit(
          withError: ValidationError(
            "there is no command \"\(name)\"; the commands are \(commands.joined(separator: ", "))"))
      }
    }
    await main(nil)
  }
}
