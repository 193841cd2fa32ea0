import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "init",
      abstract: "Write a starter apphost.json (and apphost.schema.json for editors) in this folder.",
      discussion: """
        Also adds .apphost/ (apphost's state, generated passwords and logs) to .gitignore. Never \
        overwrites an existing manifest.
        """)

    @Option(
      name: [.customShort("f"), .customLong("file")],
      help: ArgumentHelp("Where to write the manifest.", valueName: "path"))
    var file = "apphost.json"

    @OptionGroup var verbosity: VerboseOption

    func run() async throws {
      let console = Console()
      let written = try reportingFailures(console) { () throws(AppHostError) in
        try StarterProject.write(manifestPath: file, currentDirectory: FileManager.default.currentDirectoryPath)
      }
      for path in written.created {
        console.output("wrote \(path)")
      }
      if written.gitignoreUpdated {
        console.output("added .apphost/ to .gitignore")
      }
      console.output(
        """

        Next:
          apphost config                      see what apphost would do
          apphost up                          start the cache (Ctrl-C stops it)
          apphost run -- python3 app.py       run a program with REDIS_URL and friends set
        """)
    }
  }
}
