import Foundation

/// What `apphost init` writes.
package enum StarterProject {
  package static let manifest = """
    {
      "$schema": "./apphost.schema.json",
      "resources": {
        "cache": {
          "type": "redis",
          "dataVolume": true
        }
      }
    }

    """

  package struct Result: Sendable, Equatable {
    package var created: [String]
    package var gitignoreUpdated: Bool
  }

  /// Writes the manifest (never over an existing one), the schema beside it when missing, and
  /// `.apphost/` into the folder's `.gitignore`.
  package static func write(manifestPath: String, currentDirectory: String) throws(AppHostError) -> Result {
    let path = resolvePath(manifestPath, relativeTo: currentDirectory)
    let folder = (path as NSString).deletingLastPathComponent
    if FileManager.default.fileExists(atPath: path) {
      throw .manifestExists(path: path)
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw .stateUnwritable(path: path, reason: "the folder \(folder) does not exist")
    }
    var created: [String] = []
    try writeNew(path, manifest)
    created.append(path)
    let schemaPath = (folder as NSString).appendingPathComponent("apphost.schema.json")
    if !FileManager.default.fileExists(atPath: schemaPath) {
      try writeNew(schemaPath, ManifestSchema.text + "\n")
      created.append(schemaPath)
    }
    let gitignoreUpdated = try addToGitignore(folder: folder, entry: ".apphost/")
    return Result(created: created, gitignoreUpdated: gitignoreUpdated)
  }

  private static func writeNew(_ path: String, _ text: String) throws(AppHostError) {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
      throw .stateUnwritable(path: path, reason: "the file could not be created")
    }
  }

  /// Appends `entry` to `.gitignore` unless a line already ignores it; true when the file changed.
  private static func addToGitignore(folder: String, entry: String) throws(AppHostError) -> Bool {
    let path = (folder as NSString).appendingPathComponent(".gitignore")
    let existing = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    let bare = entry.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    let ignored = existing.split(whereSeparator: \.isNewline).contains { line in
      line.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "/")) == bare
    }
    if ignored { return false }
    let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
    let text = existing + separator + "# apphost state, generated passwords and logs\n\(entry)\n"
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
      throw .stateUnwritable(path: path, reason: "the file could not be written")
    }
    return true
  }
}
