import Foundation

/// A manifest loaded from disk with its state folder: what every command starts from.
package struct Project: Sendable {
  package var loaded: LoadedManifest
  package var state: StateDirectory

  package var name: String { loaded.project }
  package var directory: String { loaded.projectDirectory }

  /// Loads and validates `file` (relative to `currentDirectory`).
  package static func load(file: String, currentDirectory: String = FileManager.default.currentDirectoryPath)
    throws(AppHostError) -> Project
  {
    let loaded = try ManifestLoader.load(path: file, currentDirectory: currentDirectory)
    return Project(loaded: loaded, state: StateDirectory(projectDirectory: loaded.projectDirectory))
  }

  /// True when a cache bind-mounts a folder: only then does the plan depend on a rootless engine.
  package var hasBindMounts: Bool {
    loaded.manifest.resources.contains { $0.cache?.dataBindMount != nil }
  }

  /// Makes the plan, creating the generated passwords it needs (once, in `.apphost/secrets.json`).
  package func plan(environment: [String: String], rootlessEngine: Bool = false, nativeEngine: Bool = false)
    throws(AppHostError) -> Plan
  {
    let needed = Planner.resourcesNeedingGeneratedPasswords(loaded.manifest)
    let passwords = needed.isEmpty ? [:] : try SecretStore(state: state).passwords(for: needed)
    var context = PlanContext(
      environment: environment, generatedPasswords: passwords, userID: getuid(), groupID: getgid(),
      rootlessEngine: rootlessEngine)
    context.nativeEngine = nativeEngine
    return try Planner.plan(loaded, context: context)
  }

  /// The project's name when the manifest cannot be loaded (so that `down` still cleans up): its
  /// `"name"` if the file at least parses, else the folder's name.
  package static func fallbackName(file: String, currentDirectory: String = FileManager.default.currentDirectoryPath)
    -> (name: String, directory: String)
  {
    let path = resolvePath(file, relativeTo: currentDirectory)
    let directory = (path as NSString).deletingLastPathComponent
    if let data = FileManager.default.contents(atPath: path), let root = try? JSONParser.parse([UInt8](data)),
      case .object(let members) = root.value,
      case .string(let name) = members.first(where: { $0.key == "name" })?.value.value,
      name.wholeMatch(of: /[a-z0-9][a-z0-9-]{0,62}/) != nil
    {
      return (name, directory)
    }
    return (ManifestLoader.defaultProjectName(folder: (directory as NSString).lastPathComponent), directory)
  }
}

package enum AppHostVersion {
  package static let current = "0.1.0"
}
