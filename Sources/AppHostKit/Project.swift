import Foundation

/// A manifest loaded, its secrets in place and its plan made: what every command starts from.
package struct Project: Sendable {
  package var loaded: LoadedManifest
  package var plan: Plan
  package var state: StateDirectory

  /// Loads `file`, creates the generated passwords it needs (once, in `.apphost/secrets.json`) and plans.
  package static func open(
    file: String, environment: [String: String], rootlessEngine: Bool = false,
    currentDirectory: String = FileManager.default.currentDirectoryPath
  ) throws(AppHostError) -> Project {
    let loaded = try ManifestLoader.load(path: file, currentDirectory: currentDirectory)
    let state = StateDirectory(projectDirectory: loaded.projectDirectory)
    let needed = Planner.resourcesNeedingGeneratedPasswords(loaded.manifest)
    let passwords = needed.isEmpty ? [:] : try SecretStore(state: state).passwords(for: needed)
    let context = PlanContext(
      environment: environment, generatedPasswords: passwords, userID: getuid(), groupID: getgid(),
      rootlessEngine: rootlessEngine)
    let plan = try Planner.plan(loaded, context: context)
    return Project(loaded: loaded, plan: plan, state: state)
  }
}

package enum AppHostVersion {
  package static let current = "0.1.0"
}
