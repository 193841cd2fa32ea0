import AppHostKit
import Foundation
import MCP

/// `apphost mcp`: a Model Context Protocol server on standard input and output, for coding agents. It
/// answers for one project (the manifest it was started with), opening it anew for every call.
package enum MCPServer {
  /// Every tool this server offers with these options (`cache_command` only with `--allow-write`).
  static func tools(_ options: MCPOptions) -> [ToolSpec] {
    ProjectTools.all + ControlTools.all + CacheTools.all(allowWrite: options.allowWrite)
  }

  static let instructions = """
    apphost runs a project's caches (Redis, Valkey, Garnet), their admin UIs and the developer's own \
    programs, described in apphost.json. Start with `resources` to see what runs and where; `logs` and \
    `environment` explain a program; `restart`, `stop` and `start` steer resources; the cache_* tools \
    look inside a cache (INFO, key counts and memory, a sample of keys, one key, the slow log, a short \
    MONITOR). Every tool is read-only unless its description says it changes something. Passwords never \
    appear in replies (shown as ********).
    """

  /// Serves until standard input ends.
  package static func run(_ options: MCPOptions, version: String) async throws {
    let context = ProjectContext(options: options)
    let specs = tools(options)
    let byName = Dictionary(uniqueKeysWithValues: specs.map { ($0.tool.name, $0) })
    let server = Server(
      name: "apphost", version: version, title: "apphost", instructions: instructions,
      capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))

    await server.withMethodHandler(ListTools.self) { _ in
      ListTools.Result(tools: specs.map(\.tool))
    }
    await server.withMethodHandler(CallTool.self) { parameters in
      await call(parameters, byName: byName, context: context)
    }
    await server.withMethodHandler(ListResources.self) { _ in
      ListResources.Result(resources: ProjectResources.list)
    }
    await server.withMethodHandler(ReadResource.self) { parameters in
      do throws(ToolError) {
        let text = try await ProjectResources.read(parameters.uri, context: context)
        return ReadResource.Result(contents: [
          .text(text, uri: parameters.uri, mimeType: ProjectResources.mimeType(parameters.uri))
        ])
      } catch {
        throw MCPError.invalidParams(error.description)
      }
    }
    try await server.start(transport: StdioTransport())
    await server.waitUntilCompleted()
  }

  /// One tool call: its arguments checked against its schema's names, its reply redacted and bounded.
  static func call(_ parameters: CallTool.Parameters, byName: [String: ToolSpec], context: ProjectContext) async
    -> CallTool.Result
  {
    guard let spec = byName[parameters.name] else {
      var message =
        "unknown tool \(quoted(parameters.name)); the tools are " + byName.keys.sorted().joined(separator: ", ")
      if parameters.name == "cache_command" { message += " (cache_command needs `apphost mcp --allow-write`)" }
      return CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }
    let arguments = ToolArguments(values: parameters.arguments ?? [:])
    let known = Set(spec.properties)
    if let unknown = arguments.values.keys.sorted().first(where: { !known.contains($0) }) {
      let message =
        "\(parameters.name) has no argument \(quoted(unknown))"
        + (known.isEmpty ? "; it takes none" : "; its arguments are " + known.sorted().joined(separator: ", "))
      return CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }
    var text: String
    var failed = false
    do throws(ToolError) {
      text = try await spec.run(arguments, context)
    } catch {
      text = error.description
      failed = true
    }
    // Last: whatever a cache or a file said, no secret of the project leaves (unless the call asked for
    // them, where a tool allows that), and nothing over the bound.
    let revealing = spec.revealsOnRequest && (try? arguments.bool("reveal")) == true && !failed
    if !revealing { text = await redactor(context).redact(text) }
    text = Bounds.cut(text, maxBytes: Bounds.reply)
    return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], isError: failed)
  }

  /// The project's secrets as they are now (a reply may quote a password generated after the call began).
  static func redactor(_ context: ProjectContext) async -> Redactor {
    guard let project = try? Project.load(file: context.options.file) else { return Redactor(secrets: []) }
    let environment = ProcessInfo.processInfo.environment
    let fromState = (try? SecretStore(state: project.state).load().map(\.value)) ?? []
    guard let plan = try? project.plan(environment: environment) else { return Redactor(secrets: fromState) }
    return Redactor(plan: plan, state: project.state)
  }
}
