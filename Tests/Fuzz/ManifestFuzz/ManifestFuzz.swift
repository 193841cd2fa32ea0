// libFuzzer entry point over the manifest reader: what `apphost config` (and every command) does with the
// bytes of apphost.json. Built and run by scripts/fuzz, never by `swift build` (not a target of Package.swift).
import AppHostKit
import Foundation

/// A folder that exists, so that the validator's checks of relative paths (a program's command, a working
/// directory, a bind mount) run against the real file system, the same for every input.
private let projectDirectory: String = {
  let folder = NSTemporaryDirectory() + "apphost-fuzz-manifest"
  try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  return folder
}()

private let environment = ["FUZZ_PASSWORD": "from-the-environment", "FUZZ_CONNECTION": "example:6379,password=p"]

@_cdecl("LLVMFuzzerTestOneInput")
public func manifestFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  let path = projectDirectory + "/apphost.json"
  do {
    // UTF-8 check, JSON parser, typed reading, validation: ManifestLoader.load(path:) minus the file read.
    let loaded = try ManifestLoader.load(bytes: bytes, path: path, projectDirectory: projectDirectory)
    for warning in loaded.warnings { _ = warning.rendered(file: "apphost.json") }
    // What the valid manifest turns into: the plan `apphost config` prints (generated passwords given, so
    // that nothing is written to disk).
    let passwords = Dictionary(
      uniqueKeysWithValues: Planner.resourcesNeedingGeneratedPasswords(loaded.manifest).map { ($0, "pw") })
    _ = try? Planner.plan(loaded, context: PlanContext(environment: environment, generatedPasswords: passwords))
  } catch {
    // The messages users read: each diagnostic with its place.
    _ = error.localizedDescription
    if case .invalidManifest(_, let diagnostics) = error {
      for diagnostic in diagnostics { _ = diagnostic.rendered(file: "apphost.json") }
    }
  }
  return 0
}
