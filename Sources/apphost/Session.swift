import AppHostKit
import ArgumentParser
import Foundation

extension Console {
  /// Prints a manifest's warnings (its errors stop the command before this).
  func warnings(_ loaded: LoadedManifest) {
    for warning in loaded.warnings { error(warning.rendered(file: loaded.path)) }
  }
}

/// A command's connection to the project, with its notices on this terminal.
extension ProjectSession {
  static func open(_ options: ManifestOptions, console: Console, starting: Bool = false)
    async throws(AppHostError) -> ProjectSession
  {
    try await open(file: options.file, engine: options.engine, starting: starting) { notice in
      switch notice {
      // A manifest's warnings carry `file:line:col: warning:` and are coloured as such.
      case .warning(let text) where text.contains(": warning: "): console.error(text)
      case .warning(let text): console.warning(text)
      case .note(let text): console.note(text)
      }
    }
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
