import AppHostKit
import ArgumentParser
import Foundation

/// Shell completion of the project's resource names (`apphost logs <TAB>`): read from the manifest the
/// command line names with `--file` (or `-f`, where it means the file), else `./apphost.json`.
///
/// The shell runs `apphost ---completion ...` on every TAB, so this reads the file and nothing else: no
/// validation, no engine. A manifest that is missing, unreadable, not a regular file, too large or not
/// JSON gives no names, and nothing is printed about it (a message would land in the command line).
enum ResourceCompletion {
  /// Which resources a command takes.
  enum Selection: Sendable {
    /// Containers and programs: what has output or can be restarted (`logs`, `restart`).
    case running
    /// Caches and UIs: what runs in a container (`exec`).
    case containers
    /// Caches and connection strings: what `cli` talks to.
    case connectable
    /// Programs, caches and connection strings: what `env` prints the variables of.
    case environment

    func includes(_ type: ResourceType) -> Bool {
      switch self {
      case .running: type != .connectionString
      case .containers: type != .connectionString && !type.isProgram
      case .connectable: type.isConnectable
      case .environment: type.isConnectable || type.isProgram
      }
    }
  }

  /// The completion for an argument that takes resource names. `shortFileOption`: whether `-f` is
  /// `--file` in this command (in `logs` it is `--follow`). `repeating`: the argument takes several names,
  /// so those already on the command line are not offered again.
  static func names(_ selection: Selection, shortFileOption: Bool = true, repeating: Bool = false)
    -> CompletionKind
  {
    .custom { words, index, _ in
      let typed = repeating ? Set(words.indices.filter { $0 != index }.map { unquoted(words[$0]) }) : []
      let file = manifestPath(in: words, skipping: index, shortFileOption: shortFileOption)
      return names(selection, manifest: file, currentDirectory: FileManager.default.currentDirectoryPath)
        .filter { !typed.contains($0) }
    }
  }

  /// The resource names `selection` takes from the manifest at `manifest`, in file order; none when the
  /// file cannot be read as JSON. A resource whose `"type"` is missing or unknown (a manifest being
  /// edited) is offered for every selection.
  static func names(_ selection: Selection, manifest: String, currentDirectory: String) -> [String] {
    let path = resolvePath(manifest, relativeTo: currentDirectory)
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
      attributes[.type] as? FileAttributeType == .typeRegular,
      let handle = FileHandle(forReadingAtPath: path)
    else { return [] }
    defer { try? handle.close() }
    guard let data = try? handle.read(upToCount: ManifestLoader.maximumSize + 1),
      data.count <= ManifestLoader.maximumSize,
      let root = try? JSONParser.parse([UInt8](data)),
      case .object(let members) = root.value,
      case .object(let resources) = members.last(where: { $0.key == "resources" })?.value.value
    else { return [] }
    var names: [String] = []
    for resource in resources where !names.contains(resource.key) {
      var type: ResourceType?
      if case .object(let fields) = resource.value.value,
        case .string(let name) = fields.last(where: { $0.key == "type" })?.value.value
      {
        type = ResourceType(rawValue: name)
      }
      if type.map(selection.includes) ?? true { names.append(resource.key) }
    }
    return names
  }

  /// The value of the last `--file PATH` (`--file=PATH`, or `-f PATH` when `shortFileOption`) among the
  /// shell's words, else `apphost.json`. The word being completed (`skipping`) is not a value yet.
  static func manifestPath(in words: [String], skipping current: Int, shortFileOption: Bool) -> String {
    var path = "apphost.json"
    var index = words.startIndex
    while index < words.endIndex {
      let word = unquoted(words[index])
      if word == "--" { break }
      if word.hasPrefix("--file=") {
        path = String(word.dropFirst("--file=".count))
      } else if word == "--file" || (shortFileOption && word == "-f") {
        var value = words.index(after: index)
        // bash splits `--file=PATH` at the `=` (COMP_WORDBREAKS): `--file`, `=`, `PATH`.
        if value < words.endIndex && words[value] == "=" { value = words.index(after: value) }
        if value < words.endIndex && value != current {
          path = unquoted(words[value])
          index = value
        }
      }
      index = words.index(after: index)
    }
    return path
  }

  /// A shell word as the shell would pass it on: quotes removed, backslash escapes resolved. (The words
  /// reach the completion verbatim, as typed.)
  static func unquoted(_ word: String) -> String {
    var result = ""
    var quote: Character?
    var escaped = false
    for character in word {
      if escaped {
        // Inside double quotes a backslash escapes only these; elsewhere it stays.
        if quote == "\"" && !"$`\"\\".contains(character) { result.append("\\") }
        result.append(character)
        escaped = false
      } else if let open = quote {
        if character == open {
          quote = nil
        } else if character == "\\" && open == "\"" {
          escaped = true
        } else {
          result.append(character)
        }
      } else if character == "'" || character == "\"" {
        quote = character
      } else if character == "\\" {
        escaped = true
      } else {
        result.append(character)
      }
    }
    return result
  }
}
