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
    version: BuildVersion.description,
    subcommands: [
      Up.self, Down.self, Ps.self, Env.self, Logs.self, Run.self, Cli.self, Publish.self, Config.self, Init.self,
      Supervise.self,
    ]
  )
}
