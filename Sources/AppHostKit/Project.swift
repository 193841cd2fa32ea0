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

  /// Makes the plan, creating the generated passwords it needs (once, in `.apphost/secrets.json`) and, for
  /// `"tls": true` caches, the project's certificates (`.apphost/tls/`).
  package func plan(
    environment: [String: String], rootlessEngine: Bool = false, nativeEngine: Bool = false, publishing: Bool = false
  ) throws(AppHostError) -> Plan {
    let needed = Planner.resourcesNeedingGeneratedPasswords(loaded.manifest)
    let passwords = needed.isEmpty ? [:] : try SecretStore(state: state).passwords(for: needed)
    var context = PlanContext(
      environment: environment, generatedPasswords: passwords, userID: getuid(), groupID: getgid(),
      rootlessEngine: rootlessEngine)
    context.nativeEngine = nativeEngine
    context.publishing = publishing
    context.dotEnv = DotEnv.projectValues(projectDirectory: loaded.projectDirectory)
    let tlsNames = Planner.tlsServerNames(loaded.manifest)
    if !tlsNames.isEmpty { context.tls = try ProjectCertificates(state: state).ensure(serverNames: tlsNames) }
    if !nativeEngine { context.listeningPorts = try PortMemory(state: state).listeningPorts(loaded.manifest) }
    return try Planner.plan(loaded, context: context)
  }

  /// The project's name when the manifest cannot be loaded (so that `down` still cleans up): its
  /// `"name"` if the file parses, else the top-level `"name"` read up to the first mistake (a half-written
  /// file still names its project), else the folder's name.
  package static func fallbackName(file: String, currentDirectory: String = FileManager.default.currentDirectoryPath)
    -> (name: String, directory: String)
  {
    let path = resolvePath(file, relativeTo: currentDirectory)
    let directory = (path as NSString).deletingLastPathComponent
    if let data = FileManager.default.contents(atPath: path) {
      let bytes = [UInt8](data)
      func isName(_ text: String) -> Bool { text.wholeMatch(of: /[a-z0-9][a-z0-9-]{0,62}/) != nil }
      if let root = try? JSONParser.parse(bytes), case .object(let members) = root.value,
        case .string(let name) = members.first(where: { $0.key == "name" })?.value.value, isName(name)
      {
        return (name, directory)
      }
      if let name = leadingName(bytes), isName(name) { return (name, directory) }
    }
    return (ManifestLoader.defaultProjectName(folder: (directory as NSString).lastPathComponent), directory)
  }
}

package enum AppHostVersion {
  package static let current = "0.1.0"
}

extension Project {
  /// The string value of a `"name"` key of the outermost object, scanning only as far as the text is
  /// well-formed enough to tell keys from values: strings (with escapes), nesting and comments.
  static func leadingName(_ bytes: [UInt8]) -> String? {
    var index = 0
    var depth = 0
    var expectingKey = false
    var lastKey: String?
    func string() -> String? {
      // At the opening quote; returns the content (an escaped character stands for itself).
      var content: [UInt8] = []
      index += 1
      while index < bytes.count {
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\"") { return String(decoding: content, as: UTF8.self) }
        if byte == UInt8(ascii: "\\"), index < bytes.count {
          content.append(bytes[index])
          index += 1
        } else {
          content.append(byte)
        }
      }
      return nil
    }
    while index < bytes.count {
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "/"):
        while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
      case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
        index += 2
        while index + 1 < bytes.count && !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) {
          index += 1
        }
        index += 2
      case UInt8(ascii: "\""):
        guard let text = string() else { return nil }
        if depth == 1 && expectingKey {
          lastKey = text
          expectingKey = false
        } else if depth == 1 && lastKey == "name" {
          return text
        } else if depth == 1 {
          lastKey = nil
        }
        continue
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        expectingKey = depth == 1 && byte == UInt8(ascii: "{")
        if depth > 1 { lastKey = nil }
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        depth -= 1
        if depth < 1 { return nil }
      case UInt8(ascii: ","):
        if depth == 1 {
          expectingKey = true
          lastKey = nil
        }
      default:
        break
      }
      index += 1
    }
    return nil
  }
}
