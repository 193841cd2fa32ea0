import AppHostKit
import ArgumentParser
import Foundation

extension Console {
  /// Prints a manifest's warnings (its errors stop the command before this).
  func warnings(_ loaded: LoadedManifest) {
    for warning in loaded.warnings { error(warning.rendered(file: loaded.path)) }
  }
}

/// A command's connection to the project: the manifest, the engine and what runs there now.
struct EngineSession {
  var project: Project
  var plan: Plan
  var engine: any ContainerEngine
  var containers: [ContainerRecord]
  var environment: [String: String]

  /// Whether this session created the project network while connecting (`starting`).
  var networkCreated: Bool?

  /// `starting`: the command will start things (`up`, `run`). Engine commands a killed apphost left in
  /// flight finish first, and the project network (when the plan has one) is created while the engine
  /// lists the project's containers: it is needed, and creating it is the slowest step of a cold start.
  static func open(_ options: ManifestOptions, console: Console, starting: Bool = false)
    async throws(AppHostError) -> EngineSession
  {
    let environment = ProcessInfo.processInfo.environment
    let project = try Project.load(file: options.file)
    console.warnings(project.loaded)
    // Planning first: a plan that cannot be made (a variable not set) must fail before the engine is
    // touched. Only bind mounts depend on the engine (rootless or not); those are planned again below.
    let requested =
      try EngineSelection.requested(
        flag: options.engine, environment: environment, manifest: project.loaded.manifest.engine)
      ?? project.state.lastEngine
    var plan = try project.plan(environment: environment, nativeEngine: requested == .native)
    let network = starting ? plan.network : nil
    // What a killed apphost left in flight finishes before the project is looked at.
    if starting { await OrphanScan.settleEngineCommands(projectDirectory: project.directory) }
    let connected = try await EngineSelection.connect(
      flag: requested, environment: environment, project: project.name, directory: project.directory,
      creating: network)
    let engine = connected.engine
    if starting { project.state.remember(engine: engine.flavor) }
    let networkCreated = connected.networkCreated
    if let fallback = connected.fallback { console.note(fallback) }
    do throws(AppHostError) {
      if engine.flavor == .native {
        if requested != .native { plan = try project.plan(environment: environment, nativeEngine: true) }
        if !plan.skipped.isEmpty && starting {
          console.warning(
            "\(plan.skipped.joined(separator: ", ")) skipped: the admin UIs run in containers, and the native engine "
              + "runs none (use --engine docker or --engine podman to see them)")
        }
      } else if project.hasBindMounts, try await EngineSelection.isRootless(engine, environment: environment) {
        plan = try project.plan(environment: environment, rootlessEngine: true)
      }
    } catch {
      if networkCreated == true, let network { try? await engine.removeNetworks([network.name]) }
      throw error
    }
    return EngineSession(
      project: project, plan: plan, engine: engine, containers: connected.containers, environment: environment,
      networkCreated: networkCreated)
  }

}

/// Runs an async body, turning `AppHostError` into its message and exit code.
func reportingFailures<T>(_ console: Console, _ body: () async throws(AppHostError) -> T) async throws -> T {
  do {
    return try await body()
  } catch {
    throw error.reported(to: console)
  }
}
