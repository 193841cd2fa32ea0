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
