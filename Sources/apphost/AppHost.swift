import AppHostKit
import ArgumentParser
import Foundation

@main
struct AppHost: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apphost",
    abstract: "Start Redis, Valkey and Garnet containers and your own programs, wired together.",
    discussion: """
      apphost reads apphost.json, starts the caches it describes with docker or podman (or, with \
      neither, as processes of this machine: the native engine), waits until they answer, and runs your programs with the connection details in their environment \
      (ConnectionStrings__NAME, NAME_HOST, NAME_PORT, REDIS_URL, ...).

      New here? Run `apphost init` to write a starter apphost.json, then `apphost config` to see \
      what apphost would do with it.
      """,
    version: BuildVersion.description,
    subcommands: [
      Up.self, Down.self, Pull.self, Ps.self, Env.self, Logs.self, Run.self, Cli.self, Publish.self, Config.self,
      Init.self, Restart.self, Stop.self, Start.self, Exec.self, Wait.self, Events.self, Mcp.self, Dashboard.self,
      Supervise.self,
    ]
  )

  /// `apphost --verbose COMMAND` works as `apphost COMMAND --verbose` does.
  @OptionGroup var verbosity: VerboseOption

  /// Parses, runs, and turns what went wrong into a message and an exit code, once for every command.
  static func main() async {
    // `apphost up | head`: a closed pipe is an error to handle, not a signal that kills apphost before
    // it has cleaned up.
    signal(SIGPIPE, SIG_IGN)
    let arguments = manifestOptionsAfterCommand(Array(CommandLine.arguments.dropFirst()))
    if VerboseOption.requested(in: arguments) { Log.enable() }
    if let directory = listingProjectDirectory(arguments) { ListingPrefetch.start(projectDirectory: directory) }
    if let problem = unknownCommand(in: arguments) { await finish(withError: ValidationError(problem)) }
    do {
      var command = try parseAsRoot(arguments)
      if var command = command as? AsyncParsableCommand {
        try await command.run()
      } else {
        try command.run()
      }
    } catch let error as AppHostError {
      await finish(withError: error.reported(to: Console()))
    } catch {
      await finish(withError: error)
    }
    await ListingPrefetch.settle()
  }

  /// Exits as ArgumentParser does, once no engine listing started with apphost is left running.
  static func finish(withError error: any Error) async -> Never {
    await ListingPrefetch.settle()
    exit(withError: error)
  }

  /// The project folder whose engine listing `ListingPrefetch` may start at once: for the commands that
  /// open the project and list its containers first, the folder of `--file` (else this one). Not for
  /// help.
  static func listingProjectDirectory(_ arguments: [String]) -> String? {
    let words = Array(arguments.prefix { $0 != "--" })
    guard let command = words.first, ["ps", "up", "env", "logs", "cli", "run"].contains(command),
      !words.contains(where: { ["-h", "--help", "help"].contains($0) })
    else { return nil }
    var file: String?
    for (index, word) in words.enumerated() {
      if word.hasPrefix("--file=") {
        file = String(word.dropFirst("--file=".count))
      } else if word == "--file" || (word == "-f" && command != "logs"), index + 1 < words.count {
        file = words[index + 1]
      }
    }
    let here = FileManager.default.currentDirectoryPath
    guard let file else { return here }
    return (resolvePath(file, relativeTo: here) as NSString).deletingLastPathComponent
  }

  /// `apphost -f other.json up` and `apphost --engine podman ps`: the options every command takes, given
  /// before the command, are moved after it (as `--file`/`--engine`: in `logs`, `-f` is --follow).
  static func manifestOptionsAfterCommand(_ arguments: [String]) -> [String] {
    var moved: [String] = []
    var index = 0
    while index < arguments.count {
      let word = arguments[index]
      if ["-f", "--file", "--engine"].contains(word), index + 1 < arguments.count {
        moved += [word == "--engine" ? "--engine" : "--file", arguments[index + 1]]
        index += 2
      } else if word.hasPrefix("--file=") || word.hasPrefix("--engine=") {
        moved.append(word)
        index += 1
      } else if word == "--verbose" {
        moved.append(word)
        index += 1
      } else {
        break
      }
    }
    guard !moved.isEmpty, index < arguments.count else { return arguments }
    // The command, then the moved options, then the rest (before any `--`, which ends the options).
    return [arguments[index]] + moved + arguments[(index + 1)...]
  }

  /// `apphost restart web` or `apphost help upp` for a command that does not exist: ArgumentParser would
  /// say "2 unexpected arguments" (or print the overview and exit 0, as if the command existed).
  static func unknownCommand(in arguments: [String]) -> String? {
    let commands = configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
    var words = arguments[...]
    if words.first == "help" { words = words.dropFirst() }
    guard let name = words.first, !name.hasPrefix("-"), name != "help", !commands.contains(name),
      !configuration.subcommands.contains(where: { $0._commandName == name })
    else { return nil }
    return "unknown command \(quoted(name))\(didYouMean(name, among: commands)); the commands are "
      + commands.joined(separator: ", ") + " (`apphost help COMMAND` explains each)"
  }
}
