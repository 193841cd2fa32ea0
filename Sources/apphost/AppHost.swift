import AppHostKit
import ArgumentParser
import Foundation

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
    version: BuildVersion.description,
    subcommands: [
      Up.self, Down.self, Ps.self, Env.self, Logs.self, Run.self, Cli.self, Publish.self, Config.self, Init.self,
      Supervise.self,
    ]
  )

  /// Parses, runs, and turns what went wrong into a message and an exit code, once for every command.
  static func main() async {
    // `apphost up | head`: a closed pipe is an error to handle, not a signal that kills apphost before
    // it has cleaned up.
    signal(SIGPIPE, SIG_IGN)
    let arguments = Array(CommandLine.arguments.dropFirst())
    if VerboseOption.requested(in: arguments) { Log.enable() }
    do {
      var command = try parseAsRoot(arguments)
      if var command = command as? AsyncParsableCommand {
        try await command.run()
      } else {
        try command.run()
      }
    } catch let error as AppHostError {
      exit(withError: error.reported(to: Console()))
    } catch {
      exit(withError: error)
    }
  }
}
