import AppHostKit
import Foundation
import MCP

/// restart, stop, start: through the control socket of the project's running `apphost up`
/// (`.apphost/control.sock`), as `apphost restart|stop|start` do; containers of a detached `up` (which
/// leaves no apphost running) through the engine when no `up` listens.
enum ControlTools {
  static var all: [ToolSpec] {
    [
      verb(
        .restart, "restart",
        """
        Restarts resources of the running project: a program's every replica (or one: NAME-N) — SIGTERM to \
        its process group, SIGKILL after 10 s, started again at once; a container or native server is \
        stopped and started through the engine and waited for until it answers. Changes what runs (no data \
        is deleted). Reply: JSON {restarted: [names]} once each runs again, at most 16 KiB.
        """, idempotent: false),
      verb(
        .stop, "stop",
        """
        Stops resources of the running project and keeps them stopped until `start` (programs: no restart \
        policy brings them back; containers are kept, with their data). Changes what runs. Reply: JSON \
        {stopped: [names]}, at most 16 KiB.
        """, idempotent: true),
      verb(
        .start, "start",
        """
        Starts stopped (or ended) resources of the running project again; returns once each has started \
        (containers: once they answer). Changes what runs. Reply: JSON {started: [names]}, at most 16 KiB.
        """, idempotent: true),
    ]
  }

  static func verb(_ command: ControlCommand, _ name: String, _ description: String, idempotent: Bool) -> ToolSpec {
    let done = ["restart": "restarted", "stop": "stopped", "start": "started"][name] ?? name
    return ToolSpec(
      tool: Tool(
        name: name, description: description,
        inputSchema: schema(
          [
            "names": .object([
              "type": "array", "items": .object(["type": "string"]), "minItems": 1,
              "description": "Resources, or replicas of a program (NAME-N).",
            ])
          ], required: ["names"]),
        annotations: .init(
          title: name.capitalized + " resources", readOnlyHint: false, destructiveHint: false,
          idempotentHint: idempotent, openWorldHint: false)),
      run: { arguments, context throws(ToolError) in
        guard let names = try arguments.strings("names"), !names.isEmpty else {
          throw ToolError("names is required: the resources to \(name)")
        }
        let affected: [String]
        do throws(AppHostError) {
          affected = try await perform(command, names: names, context: context)
        } catch {
          throw ToolError(error)
        }
        return Bounds.cut(json(.object([done: .array(affected.map { .string($0) })])), maxBytes: 16 * 1024)
      })
  }

  /// `ProjectControl.perform` of the command line: the socket, else the engine for containers only.
  static func perform(_ command: ControlCommand, names: [String], context: ProjectContext)
    async throws(AppHostError) -> [String]
  {
    let state = try Project.load(file: context.options.file).state
    do {
      let client = try ControlClient.connect(state)
      return try await client.send(ControlRequest(command: command, names: names)).affected ?? []
    } catch .noSession(let socket) {
      let session: ProjectSession
      do { session = try await context.open() } catch { throw .controlFailed(reason: error.description) }
      let plan = session.plan
      if names.contains(where: { plan.container($0) == nil && ProjectTools.program(named: $0, in: plan) != nil }) {
        throw .noSession(socket: socket)
      }
      let controller = SessionController(
        plan: plan, engine: session.engine, supervisor: nil, hub: EventHub(), events: { _ in })
      return try await controller.perform(command, names: names)
    }
  }
}
