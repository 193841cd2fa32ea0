import AppHostKit
import Foundation
import MCP

/// The MCP resources: the manifest, the resolved plan (`apphost config --json`), and the README's
/// manifest reference. Each at most `Bounds.reply` bytes, secrets masked.
enum ProjectResources {
  static let manifest = "apphost://manifest"
  static let plan = "apphost://plan"
  static let reference = "apphost://docs/manifest-reference"

  static let list: [MCP.Resource] = [
    MCP.Resource(
      name: "manifest", uri: manifest, title: "apphost.json",
      description: "The project's manifest as written (passwords written in it are masked).",
      mimeType: "application/json"),
    MCP.Resource(
      name: "plan", uri: plan, title: "The resolved plan",
      description: "What apphost does with the manifest: `apphost config --json` (secrets masked).",
      mimeType: "application/json"),
    MCP.Resource(
      name: "manifest-reference", uri: reference, title: "Manifest reference",
      description: "The README's manifest reference: every key of apphost.json.", mimeType: "text/markdown"),
  ]

  static func mimeType(_ uri: String) -> String? { list.first { $0.uri == uri }?.mimeType }

  static func read(_ uri: String, context: ProjectContext) async throws(ToolError) -> String {
    let file = context.options.file
    let text: String
    switch uri {
    case manifest:
      let project: Project
      do { project = try Project.load(file: file) } catch { throw ToolError(error) }
      guard let data = FileManager.default.contents(atPath: project.loaded.path) else {
        throw ToolError("\(project.loaded.path) cannot be read")
      }
      text = String(decoding: data, as: UTF8.self)
    case plan:
      do {
        let environment = ProcessInfo.processInfo.environment
        let project = try Project.load(file: file)
        let engine = try EngineSelection.preferred(
          flag: context.options.engine, environment: environment, manifest: project.loaded.manifest.engine)
        let rootless = engine == .podman && geteuid() != 0
        let plan = try project.plan(environment: environment, rootlessEngine: rootless, nativeEngine: engine == .native)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(PlanDocument(plan: plan, engine: engine, owner: .placeholder))) ?? Data()
        text = String(decoding: data, as: UTF8.self)
      } catch {
        throw ToolError(error)
      }
    case reference:
      text = ManifestReference.text
    default:
      throw ToolError("no resource \(quoted(uri)); the resources are " + list.map(\.uri).joined(separator: ", "))
    }
    return Bounds.cut(await MCPServer.redactor(context).redact(text), maxBytes: Bounds.reply)
  }
}
