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
      "The container engine: docker or podman (default: $APPHOST_ENGINE, else the first of docker and podman "
        + "that is installed).",
      valueName: "engine"))
  var engine: EngineFlavor?
}

extension EngineFlavor: ExpressibleByArgument {}
