import AppHostKit
import Foundation
import MCP

/// The tools over the project: what runs, a program's environment, logs, waiting until ready.
enum ProjectTools {
  static let logLines = 1...1000
  static let logBytes = 1024...(128 * 1024)
  static let waitSeconds = 1...300

  static var all: [ToolSpec] { [resources, environment, logs, wait] }

  static let resources = ToolSpec(
    tool: Tool(
      name: "resources",
      description: """
        Every resource of the apphost project (caches, admin UIs, programs, connection strings): type, \
        state, health, endpoint (127.0.0.1:PORT) or URL, pid, and a note when something needs attention — \
        what `apphost ps --json` prints. No secrets. Reply: a JSON array, at most 64 KiB.
        """,
      inputSchema: schema([:]),
      annotations: .init(title: "List resources", readOnlyHint: true, openWorldHint: false)),
    run: { _, context throws(ToolError) in
      let session = try await context.open()
      let rows = await StatusReport.collect(
        plan: session.plan, containers: session.containers, programs: ExecutableState.load(session.project.state))
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      let text = (try? encoder.encode(rows)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
      return Bounds.cut(text, maxBytes: 64 * 1024)
    })

  static let environment = ToolSpec(
    tool: Tool(
      name: "environment",
      description: """
        The environment apphost gives a program (its `env`, the connection variables of what it references, \
        ConnectionStrings__NAME, NAME_URL, ...), or for a cache the variables a reference to it gives. \
        Passwords and other secrets are shown as ******** unless reveal is true. Ports of caches that are \
        not running are shown as {NAME.port}. Reply: a JSON object of names to values, at most 64 KiB.
        """,
      inputSchema: schema(
        [
          "name": property("string", "A program (type executable), a cache or a connection string."),
          "reveal": property("boolean", "Show secrets as they are (default false)."),
        ], required: ["name"]),
      annotations: .init(title: "Environment of a program", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      guard let name = try arguments.string("name") else { throw ToolError("name is required") }
      let reveal = try arguments.bool("reveal") ?? false
      let session = try await context.open()
      let plan = session.plan
      let variables: [EnvironmentVariable]
      if let executable = plan.executable(name) {
        variables = executable.environment
      } else if let endpoint = plan.endpoint(name) {
        variables = ConnectionEnvironment.variables(for: [endpoint])
      } else {
        throw ToolError(
          AppHostError.unknownResource(
            name: name, known: plan.executables.map(\.resource) + plan.endpoints.map(\.resource)))
      }
      let ports = StatusReport.ports(plan: plan, containers: session.containers)
      var object: [String: MCP.Value] = [:]
      for variable in variables {
        let shown =
          reveal
          ? variable.value.revealed(ports: ports) ?? variable.value.masked(ports: ports)
          : variable.value.masked(ports: ports)
        object[variable.name] = .string(shown)
      }
      return Bounds.cut(json(.object(object)), maxBytes: 64 * 1024)
    }, revealsOnRequest: true)

  static let logs = ToolSpec(
    tool: Tool(
      name: "logs",
      description: """
        The recent output of one resource: a cache's or UI's container (or native server), or a program \
        (every replica, `NAME-N` for one). lines: the last N lines (default 100, at most 1000); since: only \
        what was written in the last `10s`/`5m`/`2h` or after an ISO 8601 time (containers: exact; native \
        servers: by the times Redis and Valkey print; programs' lines carry no time: then the last lines of \
        a log written after `since`, or none); maxBytes: default 16384, at most 131072 — longer lines are \
        cut to 2 KiB, and the reply is cut to maxBytes from the start, keeping the newest lines. \
        Reply: text, `name | line`.
        """,
      inputSchema: schema(
        [
          "name": property("string", "The resource (or a program's replica, NAME-N)."),
          "lines": property("integer", "How many of the last lines (1-1000, default 100)."),
          "since": property("string", "A duration back from now (30s, 10m, 2h) or an ISO 8601 time."),
          "maxBytes": property("integer", "The most bytes of the reply (1024-131072, default 16384)."),
        ], required: ["name"]),
      annotations: .init(title: "Recent logs", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      guard let name = try arguments.string("name") else { throw ToolError("name is required") }
      let lines = Bounds.clamp(try arguments.int("lines"), logLines, default: 100)
      let maxBytes = Bounds.clamp(try arguments.int("maxBytes"), logBytes, default: 16 * 1024)
      let since = try arguments.string("since").map { text throws(ToolError) in try parseSince(text) }
      let session = try await context.open()
      let plan = session.plan
      var blocks: [(String, [String])] = []
      var notes: [String] = []
      if let container = plan.container(name) {
        let exists = session.containers.contains {
          $0.name == container.containerName && $0.projectDirectory == plan.projectDirectory
        }
        guard exists else { throw ToolError("\(name) has no container (or server) now; start it with `apphost up`") }
        do throws(AppHostError) {
          let output = try await session.engine.logs(
            container.containerName, tail: lines, since: since, timestamps: false)
          blocks.append((name, output))
        } catch {
          throw ToolError(error)
        }
      } else if let (executable, replica) = program(named: name, in: plan) {
        let files = ProgramLogs.files(for: executable, state: session.project.state).filter {
          replica == nil || $0.name == name
        }
        if files.isEmpty { notes.append("\(name) has written no log yet") }
        for file in files {
          if let since {
            let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
            if let modified = attributes?[.modificationDate] as? Date, modified < since {
              blocks.append((file.name, []))
              continue
            }
            notes.append("\(file.name): program lines carry no time; these are its last lines, written after since")
          }
          blocks.append((file.name, ProgramLogs.read(file.path, tail: lines).lines))
        }
      } else if plan.skipped.contains(where: { $0.name == name }) {
        throw ToolError("\(name) does not run on the native engine (admin UIs need docker or podman)")
      } else {
        throw ToolError(AppHostError.unknownResource(name: name, known: plan.resourceNames))
      }
      return render(blocks, notes: notes, maxBytes: maxBytes)
    })

  /// `name | line` for each line, the newest kept when the whole is over `maxBytes`.
  static func render(_ blocks: [(String, [String])], notes: [String], maxBytes: Int) -> String {
    var rendered: [String] = []
    var clipped = 0
    for (name, lines) in blocks {
      for line in lines {
        let short = Bounds.clip(line, maxBytes: 2048)
        if short.utf8.count != line.utf8.count { clipped += 1 }
        rendered.append("\(name) | \(short)")
      }
    }
    var header = notes.map { "[\($0)]" }
    if clipped > 0 { header.append("[\(clipped) long lines cut to 2 KiB]") }
    if rendered.isEmpty { header.append("[no lines]") }
    // Keep the newest lines that fit.
    let budget = maxBytes - header.joined(separator: "\n").utf8.count - 200
    var kept: [String] = []
    var used = 0
    for line in rendered.reversed() {
      let size = line.utf8.count + 1
      if used + size > budget { break }
      kept.append(line)
      used += size
    }
    if kept.count < rendered.count {
      header.append(
        "[truncated: the last \(kept.count) of \(rendered.count) lines shown, to stay within \(maxBytes) bytes]")
    }
    return (header + kept.reversed()).joined(separator: "\n")
  }

  /// A program by its resource name (every replica) or a replica's name (`web-1`).
  static func program(named name: String, in plan: Plan) -> (ExecutablePlan, Int?)? {
    if let executable = plan.executable(name) { return (executable, nil) }
    for executable in plan.executables where executable.replicas > 1 {
      for replica in 0..<executable.replicas where executable.displayName(replica: replica) == name {
        return (executable, replica)
      }
    }
    return nil
  }

  /// `30s`, `10m`, `2h`, `1d` back from now, or an ISO 8601 time.
  static func parseSince(_ text: String, now: Date = Date()) throws(ToolError) -> Date {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if let match = trimmed.wholeMatch(of: /(\d+(?:\.\d+)?)(ms|s|m|h|d)/), let amount = Double(match.1) {
      let unit: Double =
        switch match.2 {
        case "ms": 0.001
        case "s": 1
        case "m": 60
        case "h": 3600
        default: 86400
        }
      return now.addingTimeInterval(-amount * unit)
    }
    let formatter = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [
      [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
    ] {
      formatter.formatOptions = options
      if let date = formatter.date(from: trimmed) { return date }
    }
    throw ToolError(
      "since \(quoted(text)) is neither a duration (30s, 10m, 2h, 1d) nor an ISO 8601 time (2026-12-02T10:00:00Z)")
  }

  static let wait = ToolSpec(
    tool: Tool(
      name: "wait",
      description: """
        Waits until resources are ready: caches answer PING (with their password), UIs answer their health \
        URL, programs run. names: the resources (default: every resource apphost runs here); timeout: \
        seconds (default 30, at most 300). Reply: JSON {ready, resources: [{name, state, health, note}]}, \
        at most 64 KiB; an error reply naming what is not ready when the time is up.
        """,
      inputSchema: schema([
        "names": .object([
          "type": "array", "items": .object(["type": "string"]), "description": "Resources to wait for.",
        ]),
        "timeout": property("integer", "Seconds to wait at most (1-300, default 30)."),
      ]),
      annotations: .init(title: "Wait until ready", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      let names = try arguments.strings("names")
      let timeout = Bounds.clamp(try arguments.int("timeout"), waitSeconds, default: 30)
      let deadline = ContinuousClock.now + .seconds(timeout)
      var first = true
      while true {
        let session = try await context.open()
        let plan = session.plan
        let skipped = Set(plan.skipped.map(\.name))
        let runs = plan.resourceNames.filter { plan.container($0) != nil || plan.executable($0) != nil }
        let wanted = names ?? runs
        for name in wanted where !runs.contains(name) && program(named: name, in: plan) == nil {
          if plan.endpoint(name) != nil {
            throw ToolError("\(name) is a connection string: apphost does not run it, so there is nothing to wait for")
          }
          if skipped.contains(name) { continue }
          throw ToolError(AppHostError.unknownResource(name: name, known: runs))
        }
        if first, let skip = wanted.first(where: skipped.contains) {
          throw ToolError("\(skip) never becomes ready here: admin UIs need docker or podman")
        }
        first = false
        let rows = await StatusReport.collect(
          plan: plan, containers: session.containers, programs: ExecutableState.load(session.project.state))
        let selected = rows.filter { row in
          wanted.contains(row.name) || wanted.contains { program(named: $0, in: plan)?.0.resource == row.name }
            || wanted.contains { plan.executable($0) != nil && row.name.hasPrefix($0 + "-") }
        }
        let pending = selected.filter { !isReady($0, plan: plan) }
        let missing = wanted.filter { name in !selected.contains { $0.name == name || $0.name.hasPrefix(name + "-") } }
        if (pending.isEmpty && missing.isEmpty) || ContinuousClock.now >= deadline {
          let report: [MCP.Value] = selected.map { row in
            .object([
              "name": .string(row.name), "state": .string(row.state), "health": MCP.Value(row.health),
              "note": MCP.Value(row.note), "ready": .bool(isReady(row, plan: plan)),
            ])
          }
          let ready = pending.isEmpty && missing.isEmpty
          let text = Bounds.cut(
            json(.object(["ready": .bool(ready), "resources": .array(report)])), maxBytes: 64 * 1024)
          if ready { return text }
          let what = (pending.map(\.name) + missing).joined(separator: ", ")
          throw ToolError("not ready after \(timeout) s: \(what)\n\(text)")
        }
        try? await Task.sleep(for: .milliseconds(250))
      }
    })

  /// Ready as `up` means it: a running container that answers its health check; a program that runs.
  static func isReady(_ row: ResourceStatus, plan: Plan) -> Bool {
    guard row.state == "running" else { return false }
    if plan.container(row.name) != nil { return row.health == "healthy" }
    return true
  }
}
