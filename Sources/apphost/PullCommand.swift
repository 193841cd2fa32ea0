import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "pull",
      abstract: "Pull the images of the manifest's caches and UIs, with progress.",
      discussion: """
        Pulls every image the manifest runs (or those of the named resources), all at once, printing the \
        engine's progress as `name | line`. `apphost up` pulls the images that are missing before it starts \
        its readiness clock, so this is needed only to fetch newer images of the same tags, or ahead of \
        time. The native engine runs servers from this machine: there is nothing to pull, and it says so.
        """)

    @OptionGroup var options: ManifestOptions

    @Argument(help: "Resources whose images to pull; default: all.")
    var resources: [String] = []

    func run() async throws {
      let console = Console()
      let session = try await reportingFailures(console) { () async throws(AppHostError) in
        try await ProjectSession.open(options, console: console)
      }
      let plan = session.plan
      let selection = try reportingFailures(console) { () throws(AppHostError) in try plan.closure(of: resources) }
      let containers = plan.containers.filter { selection.contains($0.resource) }
      let printer = EventPrinter(console: console, names: containers.map(\.resource))
      let pulled = try await reportingFailures(console) { () async throws(AppHostError) in
        try await ImagePull(engine: session.engine, events: { printer($0) }).pull(containers, onlyMissing: false)
      }
      if session.engine.flavor != .native {
        console.output(
          containers.isEmpty
            ? "apphost: the manifest runs no images"
            : "apphost: \(pulled.count) image\(pulled.count == 1 ? "" : "s") pulled")
      }
    }
  }
}
