import Foundation

/// A manifest read from disk and validated, with where it came from.
package struct LoadedManifest: Sendable {
  package var manifest: Manifest
  /// The absolute path of apphost.json.
  package var path: String
  /// The folder holding apphost.json: relative paths start here and `.apphost/` lives here.
  package var projectDirectory: String
  /// `name`, or the folder's name made valid.
  package var project: String
  /// Warnings only (a manifest with errors is not loaded).
  package var warnings: [Diagnostic]
}

package enum ManifestLoader {
  /// Larger than any real manifest; keeps a wrong `-f` (a log file, a disk image) from being read whole.
  package static let maximumSize = 1 << 20

  /// Reads, parses and validates the manifest at `path` (relative to `currentDirectory`).
  package static func load(path: String, currentDirectory: String = FileManager.default.currentDirectoryPath)
    throws(AppHostError) -> LoadedManifest
  {
    let absolute = resolvePath(path, relativeTo: currentDirectory)
    let bytes = try readManifestBytes(at: absolute, asGiven: path)
    let projectDirectory = (absolute as NSString).deletingLastPathComponent
    return try load(bytes: bytes, path: absolute, projectDirectory: projectDirectory)
  }

  /// Parses and validates manifest text; `path` is used in messages and to name the project.
  package static func load(bytes: [UInt8], path: String, projectDirectory: String) throws(AppHostError)
    -> LoadedManifest
  {
    let file = path
    if let problem = firstInvalidUTF8(bytes) {
      throw .invalidManifest(
        file: file,
        diagnostics: [
          Diagnostic(
            .error, .root,
            "the file is not UTF-8 text (invalid byte 0x\(String(problem.byte, radix: 16, uppercase: true).leftPadded(to: 2))); is -f "
              + "pointing at a binary file?",
            at: problem.location)
        ])
    }
    let root: JSONNode
    do {
      root = try JSONParser.parse(bytes)
    } catch {
      throw .invalidManifest(
        file: file, diagnostics: [Diagnostic(.error, .root, "malformed JSON: \(error.message)", at: error.location)])
    }
    var reader = ManifestReader()
    var manifest = reader.read(root)
    var diagnostics = reader.diagnostics
    if var read = manifest {
      diagnostics += readConfigFiles(&read, projectDirectory: projectDirectory, locations: reader.locations)
      diagnostics += readSeeds(&read, projectDirectory: projectDirectory, locations: reader.locations)
      manifest = read
    }
    let folderName = (projectDirectory as NSString).lastPathComponent
    let project = manifest?.name ?? defaultProjectName(folder: folderName)
    if let manifest {
      diagnostics += ManifestValidator.validate(
        manifest, project: project, projectDirectory: projectDirectory, locations: reader.locations,
        declaredResources: reader.declaredResources)
    }
    diagnostics.sort {
      ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0)
    }
    guard let manifest, !diagnostics.contains(where: { $0.severity == .error }) else {
      throw .invalidManifest(file: file, diagnostics: diagnostics)
    }
    return LoadedManifest(
      manifest: manifest, path: path, projectDirectory: projectDirectory, project: project,
      warnings: diagnostics)
  }

  /// The project name when the manifest has none: the folder's name, lower-cased, `[a-z0-9-]`.
  package static func defaultProjectName(folder: String) -> String {
    let name = sanitizedName(folder)
    return name.isEmpty ? "apphost" : name
  }

  private static func readManifestBytes(at path: String, asGiven: String) throws(AppHostError) -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw .manifestNotFound(path: path, asGiven: asGiven)
    }
    if isDirectory.boolValue {
      let inside = (path as NSString).appendingPathComponent("apphost.json")
      throw .invalidManifest(
        file: path,
        diagnostics: [
          Diagnostic(
            .error, .root,
            "this is a folder, not a manifest file"
              + (FileManager.default.fileExists(atPath: inside) ? "; did you mean -f \(inside)?" : ""))
        ])
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw .manifestUnreadable(path: path, reason: "permission denied; check the file's permissions")
    }
    defer { try? handle.close() }
    let data: Data
    do {
      data = try handle.read(upToCount: maximumSize + 1) ?? Data()
    } catch {
      throw .manifestUnreadable(path: path, reason: error.localizedDescription)
    }
    if data.count > maximumSize {
      throw .invalidManifest(
        file: path,
        diagnostics: [
          Diagnostic(
            .error, .root,
            "the file is larger than \(maximumSize / 1024) KiB; a manifest is a small JSON file; is -f pointing "
              + "at the right file?")
        ])
    }
    return [UInt8](data)
  }

  private static func firstInvalidUTF8(_ bytes: [UInt8]) -> (byte: UInt8, location: TextLocation)? {
    var line = 1
    var column = 1
    var index = 0
    while index < bytes.count {
      let byte = bytes[index]
      let length: Int
      switch byte {
      case 0x00: return (byte, TextLocation(line: line, column: column))
      case 0x01...0x7F: length = 1
      case 0xC2...0xDF: length = 2
      case 0xE0...0xEF: length = 3
      case 0xF0...0xF4: length = 4
      default: return (byte, TextLocation(line: line, column: column))
      }
      if length > 1 {
        guard index + length <= bytes.count,
          String(validating: bytes[index..<(index + length)], as: UTF8.self) != nil
        else { return (byte, TextLocation(line: line, column: column)) }
      }
      if byte == UInt8(ascii: "\n") {
        line += 1
        column = 1
      } else {
        column += 1
      }
      index += length
    }
    return nil
  }
}
