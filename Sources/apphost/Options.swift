import AppHostKit
import ArgumentParser

/// `-f/--file` and `--engine`, shared by every command that reads the manifest.
struct ManifestOptions: ParsableArguments {
  @Option(
    name: [.customShort("f"), .customLong("file")],
    help: ArgumentHelp("The manifest to read.", valueName: "path"))
  var file: String = "apphost.json"

  @Option(
    help: ArgumentHelp(
      "docker, podman or native (the servers as processes of this machine). Default: $APPHOST_ENGINE, else "
        + "the manifest's \"engine\", else the engine the project last ran on, else the first of docker and "
        + "podman that answers, else native.",
      valueName: "engine"))
  var engine: EngineFlavor?

  @OptionGroup var verbosity: VerboseOption
}

/// `--verbose`, on every command. `AppHost.main` turns the log on before parsing (so that what happens
/// while the manifest is read is logged too); the flag is declared here so that every command accepts
/// it and lists it in its help.
struct VerboseOption: ParsableArguments {
  @Flag(help: "Print every engine command (secrets masked) with its duration, and every error handled quietly.")
  var verbose = false

  /// Whether `arguments` ask for it (only before a `--`, after which they belong to another program).
  static func requested(in arguments: [String]) -> Bool {
    arguments.prefix { $0 != "--" }.contains("--verbose")
  }
}

extension EngineFlavor: ExpressibleByArgument {}
