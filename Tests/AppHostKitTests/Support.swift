import Foundation
import Testing

@testable import AppHostKit

/// The repository's top folder and the test fixtures.
enum Paths {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
  static let manifests = repository + "/Tests/Fixtures/manifests"
}

/// Loads manifest text as if it were `folder/apphost.json`.
func load(_ text: String, folder: String = "/projects/shop") throws(AppHostError) -> LoadedManifest {
  try ManifestLoader.load(bytes: Array(text.utf8), path: folder + "/apphost.json", projectDirectory: folder)
}

/// The diagnostics of an invalid manifest (fails the test when it is valid).
func diagnostics(
  _ text: String, folder: String = "/projects/shop", sourceLocation: Testing.SourceLocation = #_sourceLocation
)
  -> [Diagnostic]
{
  do {
    _ = try load(text, folder: folder)
    Issue.record("the manifest was accepted", sourceLocation: sourceLocation)
    return []
  } catch {
    guard case .invalidManifest(_, let diagnostics) = error else {
      Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
      return []
    }
    return diagnostics
  }
}

/// Plans manifest text with fixed passwords and environment.
func plan(
  _ text: String, folder: String = "/projects/shop", environment: [String: String] = [:],
  passwords: [String: String] = [:], rootless: Bool = false, native: Bool = false, publishing: Bool = false
) throws -> Plan {
  let loaded = try load(text, folder: folder)
  var generated = passwords
  for name in Planner.resourcesNeedingGeneratedPasswords(loaded.manifest) where generated[name] == nil {
    generated[name] = "Generated\(name.capitalized)Password1"
  }
  var context = PlanContext(
    environment: environment, generatedPasswords: generated, userID: 1000, groupID: 1001, rootlessEngine: rootless)
  context.nativeEngine = native
  context.publishing = publishing
  if !native {
    // Cluster nodes in containers listen on the port they are published on, the servers of a cache sentinels
    // watch on the host's network: 7001, 7002, ... here; then UIs showing them, and the other caches they
    // show (a fixed hostPort kept, as PortMemory.listeningPorts does).
    let uis = Planner.uisOnHostNetwork(loaded.manifest)
    let nodes =
      loaded.manifest.resources.flatMap { resource -> [String] in
        guard let cache = resource.cache, cache.handsOutAddresses else { return [] }
        return Planner.serverNames(of: resource.name, cache)
      } + uis.flatMap { [$0.ui] + $0.caches }
    var next = 7001
    for name in nodes where context.listeningPorts[name] == nil {
      let fixed =
        uis.contains { $0.caches.contains(name) } ? loaded.manifest[name]?.cache?.container.hostPort : nil
      if let fixed {
        context.listeningPorts[name] = fixed
      } else {
        context.listeningPorts[name] = next
        next += 1
      }
    }
  }
  return try Planner.plan(loaded, context: context)
}
