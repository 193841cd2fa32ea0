import Foundation

package enum EngineSelection {
  package static let variable = "APPHOST_ENGINE"

  /// The engine named by `--engine`, else `APPHOST_ENGINE`, else the manifest's `"engine"`; nil when
  /// none names one.
  package static func requested(flag: EngineFlavor?, environment: [String: String], manifest: EngineFlavor? = nil)
    throws(AppHostError) -> EngineFlavor?
  {
    if let flag { return flag }
    guard let value = environment[variable], !value.isEmpty else { return manifest }
    guard let flavor = EngineFlavor(rawValue: value.lowercased()) else {
      throw .invalidEngineVariable(value: value)
    }
    return flavor
  }

  /// Without running anything: the requested engine, else the first of docker and podman installed,
  /// else docker.
  package static func preferred(flag: EngineFlavor?, environment: [String: String], manifest: EngineFlavor? = nil)
    throws(AppHostError) -> EngineFlavor
  {
    if let requested = try requested(flag: flag, environment: environment, manifest: manifest) { return requested }
    return EngineFlavor.containerEngines.first { findExecutable($0.rawValue, path: environment["PATH"]) != nil }
      ?? .native
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
  /// `preferred` (the engine the project last ran on) is tried first when nothing names an engine; when
  /// it does not answer, the others are tried as usual.
  package static func connect(
    flag: EngineFlavor?, environment: [String: String], project: String, directory: String? = nil,
    manifest: EngineFlavor? = nil, preferred: EngineFlavor? = nil, creating network: NetworkPlan? = nil
  ) async throws(AppHostError) -> Connected {
    let path = environment["PATH"]
    let mark = directory.map { OrphanScan.mark(owner: .current, projectDirectory: $0) }
    if let requested = try requested(flag: flag, environment: environment, manifest: manifest) {
      if requested == .native {
        return try await native(directory: directory, path: path, project: project, fallback: nil)
      }
      guard let program = findExecutable(requested.rawValue, path: path) else {
        throw .engineNotInstalled(requested: requested)
      }
      let engine = CLIEngine(flavor: requested, program: program, ownerMark: mark)
      let (containers, created) = try await listing(engine, project: project, creating: network)
      return Connected(engine: engine, containers: containers, networkCreated: created)
    }
    if preferred == .native {
      return try await native(directory: directory, path: path, project: project, fallback: nil)
    }
    var reasons: [String] = []
    let order =
      EngineFlavor.containerEngines.filter { $0 == preferred }
      + EngineFlavor.containerEngines.filter {
        $0 != preferred
      }
    for flavor in order {
      guard let program = findExecutable(flavor.rawValue, path: path) else { continue }
      let engine = CLIEngine(flavor: flavor, program: program, ownerMark: mark)
      do {
        let (containers, created) = try await listing(engine, project: project, creating: network)
        return Connected(engine: engine, containers: containers, networkCreated: created)
      } catch .engineUnreachable(_, let reason) {
        reasons.append("\(flavor.rawValue): \(reason)")
      }
    }
    // Neither answers: the caches run as processes of this machine.
    let why = reasons.isEmpty ? "neither docker nor podman is installed" : "neither docker nor podman answers"
    return try await native(directory: directory, path: path, project: project, fallback: why)
  }

  /// What connecting found: the engine, the project's containers, and whether the network was made.
  package struct Connected: Sendable {
    package var engine: any ContainerEngine
    package var containers: [ContainerRecord]
    /// nil: not attempted (or failed; the caller tries again).
    package var networkCreated: Bool?
    /// Set when apphost chose the native engine by itself: the one line that says so.
    package var fallback: String?
  }

  private static func native(directory: String?, path: String?, project: String, fallback: String?)
    async throws(AppHostError) -> Connected
  {
    let folder = directory ?? FileManager.default.currentDirectoryPath
    let engine = NativeEngine(state: StateDirectory(projectDirectory: folder), path: path)
    let containers = try await engine.containers(project: project)
    return Connected(
      engine: engine, containers: containers, networkCreated: nil,
      fallback: fallback.map { "\($0); running the caches as processes of this machine (the native engine)" })
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
