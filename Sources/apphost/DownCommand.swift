import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "down",
      abstract: "Stop the project: remove its containers and network (and with -v its volumes).",
      discussion: """
        Caches that keep data are asked to save it first. Removes persistent containers too, and the \
        leftovers of an apphost up that crashed. A running foreground apphost up of this project is asked \
        to stop first. Named volumes stay unless you pass --volumes.
        """)

    @OptionGroup var options: ManifestOptions

    @Flag(
      name: [.customShort("v"), .customLong("volumes")], help: "Also remove the project's named volumes (its data).")
    var volumes = false

    @Argument(
      help: "Only these resources of the running project (stopped and removed from its session); default: all.",
      completion: ResourceCompletion.names(.running, repeating: true))
    var resources: [String] = []

    func validate() throws {
      if volumes && !resources.isEmpty {
        throw ValidationError("--volumes removes the whole project's volumes; it is not for single resources")
      }
    }

    func run() async throws {
      if !resources.isEmpty {
        try await runVerb(.down, names: resources, options: options, done: "removed")
        return
      }
      let console = Console()
      let environment = ProcessInfo.processInfo.environment
      try await reportingFailures(console) { () async throws(AppHostError) in
        // A broken manifest must not keep `down` from cleaning up: fall back to the project's name.
        let project: (name: String, directory: String)
        var manifestEngine: EngineFlavor?
        do throws(AppHostError) {
          let loaded = try Project.load(file: options.file)
          project = (loaded.name, loaded.directory)
          manifestEngine = loaded.loaded.manifest.engine
        } catch .invalidManifest(let file, _) {
          project = Project.fallbackName(file: options.file)
          console.warning("\(file) is not valid; removing what runs under the project name \(project.name)")
        }
        let state = StateDirectory(projectDirectory: project.directory)
        try await ProjectLock.stopHolder(state) { pid in
          console.output("apphost: stopping the apphost up running for this project (pid \(pid))")
        }
        let requested = try EngineSelection.requested(
          flag: options.engine, environment: environment, manifest: manifestEngine)
        // Docker or podman commands a killed apphost left running: done before the containers are listed
        // (the native engine lists none).
        if requested != .native { await OrphanScan.settleEngineCommands(projectDirectory: project.directory) }
        let connected = try await EngineSelection.connect(
          flag: requested, environment: environment, project: project.name, directory: project.directory,
          preferred: state.lastEngine)
        let (engine, containers) = (connected.engine, connected.containers)
        let programs = ExecutableState.load(state)?.processes.map(\.name) ?? []
        let printer = EventPrinter(console: console, names: containers.compactMap(\.resource) + programs)
        // Programs first: they may still be writing to the caches.
        let stopped = await BackgroundSupervisor.stop(state, events: { printer($0) })
        for name in stopped { printer.line(name, "stopped") }
        let teardown = Teardown(engine: engine, events: { printer($0) })
        try await teardown.down(
          project: project.name, directory: project.directory, containers: containers, volumes: volumes)
        state.remember(networkSeen: false)
        let ours = containers.filter { $0.projectDirectory == project.directory }
        if ours.isEmpty && stopped.isEmpty { console.output("apphost: nothing of \(project.name) was running") }
      }
    }
  }
}
