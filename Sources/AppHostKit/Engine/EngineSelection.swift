import Foundation

package enum EngineSelection {
  package static let variable = "APPHOST_ENGINE"

  /// The engine named by `--engine` or `APPHOST_ENGINE`; nil when neither names one.
  package static func requested(flag: EngineFlavor?, environment: [String: String]) throws(AppHostError)
    -> EngineFlavor?
  {
    if let flag { return flag }
    guard let value = environment[variable], !value.isEmpty else { return nil }
    guard let flavor = EngineFlavor(rawValue: value.lowercased()) else {
      throw .invalidEngineVariable(value: value)
    }
    return flavor
  }

  /// Without running anything: the requested engine, else the first of docker and podman installed,
  /// else docker.
  package static func preferred(flag: EngineFlavor?, environment: [String: String]) throws(AppHostError)
    -> EngineFlavor
  {
    if let requested = try requested(flag: flag, environment: environment) { return requested }
    return EngineFlavor.allCases.first { findExecutable($0.rawValue, path: environment["PATH"]) != nil } ?? .docker
  }
}

/// The absolute path of `name` on `PATH`, or nil.
package func findExecutable(_ name: String, path: String?) -> String? {
  let searchPath = path ?? "/usr/local/bin:/usr/bin:/bin"
  for folder in searchPath.split(separator: ":") where !folder.isEmpty {
    let candidate = (String(folder) as NSString).appendingPathComponent(name)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
      FileManager.default.isExecutableFile(atPath: candidate)
    {
      return candidate
    }
  }
  return nil
}

extension EngineSelection {
  /// Connects to the engine (`--engine`, else `APPHOST_ENGINE`, else the first of docker and podman that
  /// answers) by listing the project's containers, which every command needs first anyway.
  ///
  /// `network`, when given, is created at the same time (`up` will need it; creating it takes the engine
  /// longer than listing): `networkCreated` says whether this call made it (nil: not attempted or failed,
  /// the caller tries again).
  /// `directory` (the project's folder) marks the engine commands as this apphost's for the project.
  package static func connect(
    flag: EngineFlavor?, environment: [String: String], project: String, directory: String? = nil,
    creating network: NetworkPlan? = nil
  ) async throws(AppHostError) -> (engine: CLIEngine, containers: [ContainerRecord], networkCreated: Bool?) {
    let path = environment["PATH"]
    let mark = directory.map { OrphanScan.mark(owner: .current, projectDirectory: $0) }
    if let requested = try requested(flag: flag, environment: environment) {
      guard let program = findExecutable(requested.rawValue, path: path) else {
        throw .engineNotInstalled(requested: requested)
      }
      let engine = CLIEngine(flavor: requested, program: program, ownerMark: mark)
      let (containers, created) = try await listing(engine, project: project, creating: network)
      return (engine, containers, created)
    }
    var reasons: [String] = []
    for flavor in EngineFlavor.allCases {
      guard let program = findExecutable(flavor.rawValue, path: path) else { continue }
      let engine = CLIEngine(flavor: flavor, program: program, ownerMark: mark)
      do {
        let (containers, created) = try await listing(engine, project: project, creating: network)
        return (engine, containers, created)
      } catch .engineUnreachable(_, let reason) {
        reasons.append("\(flavor.rawValue): \(reason)")
      }
    }
    if reasons.isEmpty { throw .engineNotInstalled(requested: nil) }
    throw .noEngineAnswers(reasons: reasons)
  }

  private static func listing(_ engine: CLIEngine, project: String, creating network: NetworkPlan?)
    async throws(AppHostError) -> ([ContainerRecord], Bool?)
  {
    guard let network else { return (try await engine.containers(project: project), nil) }
    async let created = try? engine.createNetwork(network)
    let containers: [ContainerRecord]
    do {
      containers = try await engine.containers(project: project)
    } catch {
      _ = await created
      throw error
    }
    return (containers, await created)
  }

  /// Whether containers run rootless. Podman runs as the user who starts it, so it is rootless exactly
  /// when that user is not root (no need for its slow `info`); docker says so in its security options.
  package static func isRootless(_ engine: any ContainerEngine, environment: [String: String])
    async throws(AppHostError) -> Bool
  {
    switch engine.flavor {
    case .podman where environment["CONTAINER_HOST"] == nil: geteuid() != 0
    default: try await engine.isRootless()
    }
  }
}
