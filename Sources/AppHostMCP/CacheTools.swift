import AppHostKit
import Foundation
import MCP

/// The tools that look inside a cache, over the core's RESP client with the password apphost keeps.
/// Read-only, except `cache_command`, which is offered only with `--allow-write`.
enum CacheTools {
  static func all(allowWrite: Bool) -> [ToolSpec] {
    [info, stats, scan, get, slowlog, monitor] + (allowWrite ? [command] : [])
  }

  static let cacheProperty = property(
    "string", "The cache (or connection string) to look into; may be left out when the project has one.")

  /// Opens a connection to the cache the call names (the project's only one when it names none), runs
  /// `body`, and closes it.
  static func withCache(
    _ arguments: ToolArguments, _ context: ProjectContext,
    _ body: (CacheClient, String) async throws(ToolError) -> String
  ) async throws(ToolError) -> String {
    let session = try await context.open()
    let plan = session.plan
    let name: String
    if let given = try arguments.string("cache") {
      name = given
    } else if plan.endpoints.count == 1 {
      name = plan.endpoints[0].resource
    } else {
      throw ToolError(
        "cache is required: this project has \(plan.endpoints.count) caches and connection strings ("
          + plan.endpoints.map(\.resource).joined(separator: ", ") + ")")
    }
    guard let endpoint = plan.endpoint(name) else {
      if plan.resourceNames.contains(name) { throw ToolError("\(name) is not a cache") }
      throw ToolError(AppHostError.unknownResource(name: name, known: plan.endpoints.map(\.resource)))
    }
    let ports = StatusReport.ports(plan: plan, containers: session.containers)
    // The primary where it is now: sentinels move it.
    guard let port = await plan.primaryPort(of: name, ports: ports) else {
      throw ToolError("\(name) is not running; start it with `apphost up -d`")
    }
    let client = try await CacheClient.connect(
      host: endpoint.host, port: port, password: endpoint.password?.revealed(), user: endpoint.user,
      tls: endpoint.tlsClient)
    defer { client.close() }
    if let database = endpoint.database, database != 0 {
      if case .error(let message) = try await client.call(["SELECT", String(database)]) {
        throw ToolError("SELECT \(database) failed: \(message)")
      }
    }
    return try await body(client, name)
  }

  static let info = ToolSpec(
    tool: Tool(
      name: "cache_info",
      description: """
        INFO of a cache: every section, or the one named (server, clients, memory, persistence, stats, \
        replication, cpu, keyspace, ...). Read-only. Reply: INFO's text, at most 64 KiB.
        """,
      inputSchema: schema([
        "cache": cacheProperty, "section": property("string", "An INFO section, e.g. memory; default: all."),
      ]),
      annotations: .init(title: "Cache INFO", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      let section = try arguments.string("section")
      if let section, section.wholeMatch(of: /[A-Za-z_]+/) == nil {
        throw ToolError("section \(quoted(section)) is not an INFO section name (letters and _ only)")
      }
      return try await withCache(arguments, context) { client, _ throws(ToolError) in
        let reply = try await client.call(["INFO"] + (section.map { [$0] } ?? ["everything"]))
        return Bounds.cut(try text(reply, "INFO"), maxBytes: 64 * 1024, hint: "ask for one section")
      }
    })

  static let stats = ToolSpec(
    tool: Tool(
      name: "cache_stats",
      description: """
        How full a cache is: the key count (DBSIZE), keys and expiring keys per database, and memory \
        (used_memory, used_memory_human, used_memory_peak_human, maxmemory, maxmemory_policy, \
        mem_fragmentation_ratio, as INFO reports them). Read-only. Reply: a JSON object, at most 16 KiB.
        """,
      inputSchema: schema(["cache": cacheProperty]),
      annotations: .init(title: "Key count and memory", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      try await withCache(arguments, context) { client, name throws(ToolError) in
        let replies = try await client.pipeline([["DBSIZE"], ["INFO", "memory"], ["INFO", "keyspace"]])
        var object: [String: MCP.Value] = ["cache": .string(name)]
        switch replies[0] {
        case .integer(let count): object["keys"] = .int(count)
        case .error(let message): object["keys"] = .string("DBSIZE failed: \(message)")
        default: object["keys"] = .string(RESP.render(replies[0]))
        }
        let memory = RESP.infoFields(replies[1].text ?? "")
        var memoryObject: [String: MCP.Value] = [:]
        for field in [
          "used_memory", "used_memory_human", "used_memory_peak_human", "used_memory_rss_human", "maxmemory",
          "maxmemory_human", "maxmemory_policy", "mem_fragmentation_ratio",
        ] {
          if let value = memory[field] { memoryObject[field] = .string(value) }
        }
        object["memory"] = .object(memoryObject)
        var databases: [String: MCP.Value] = [:]
        for (database, value) in RESP.infoFields(replies[2].text ?? "") where database.hasPrefix("db") {
          var fields: [String: MCP.Value] = [:]
          for pair in value.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = Int(parts[1]).map { .int($0) } ?? .string(parts[1]) }
          }
          databases[database] = .object(fields)
        }
        object["keyspace"] = .object(databases)
        return Bounds.cut(json(.object(object)), maxBytes: 16 * 1024)
      }
    })

  static let scan = ToolSpec(
    tool: Tool(
      name: "cache_scan",
      description: """
        A sample of a cache's keys with their types and TTLs, by SCAN (never KEYS): match: a glob pattern \
        (default *); type: only keys of this type (string, hash, list, set, zset, stream); limit: how many \
        keys at most (default 50, at most 500). SCAN is called at most 200 times with COUNT 100; key names \
        longer than 256 bytes are cut. Read-only. Reply: JSON {keys: [{key, type, ttlMs}], complete, \
        cursor}, at most 96 KiB; ttlMs is -1 for keys without expiry.
        """,
      inputSchema: schema([
        "cache": cacheProperty, "match": property("string", "A glob pattern for key names (default *)."),
        "type": property("string", "Only keys of this type."),
        "limit": property("integer", "How many keys at most (1-500, default 50)."),
      ]),
      annotations: .init(title: "Sample keys", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      let pattern = try arguments.string("match") ?? "*"
      let type = try arguments.string("type")
      let limit = Bounds.clamp(try arguments.int("limit"), 1...500, default: 50)
      return try await withCache(arguments, context) { client, name throws(ToolError) in
        var cursor = "0"
        var keys: [String] = []
        var calls = 0
        repeat {
          let words = ["SCAN", cursor, "MATCH", pattern, "COUNT", "100"] + (type.map { ["TYPE", $0] } ?? [])
          let reply = try await client.call(words)
          guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].text,
            case .array(let found?) = parts[1]
          else {
            throw ToolError("SCAN answered \(Bounds.clip(RESP.render(reply), maxBytes: 512))")
          }
          cursor = next
          keys += found.compactMap(\.text)
          calls += 1
        } while cursor != "0" && keys.count < limit && calls < 200
        keys = Array(keys.prefix(limit))
        let details = keys.isEmpty ? [] : try await client.pipeline(keys.flatMap { [["TYPE", $0], ["PTTL", $0]] })
        var entries: [MCP.Value] = []
        for (index, key) in keys.enumerated() {
          let ttl: MCP.Value =
            if case .integer(let milliseconds) = details[index * 2 + 1] { .int(milliseconds) } else { .null }
          entries.append(
            .object([
              "key": .string(Bounds.clip(key, maxBytes: 256)), "type": MCP.Value(details[index * 2].text),
              "ttlMs": ttl,
            ]))
        }
        return Bounds.cut(
          json(
            .object([
              "cache": .string(name), "keys": .array(entries), "complete": .bool(cursor == "0"),
              "cursor": .string(cursor),
            ])), maxBytes: 96 * 1024)
      }
    })

  static let get = ToolSpec(
    tool: Tool(
      name: "cache_get",
      description: """
        One key's value, size-capped: a string's first maxBytes bytes (GETRANGE, so a large value is never \
        read whole); for a hash, list, set, sorted set or stream its first 100 elements (HSCAN, LRANGE, \
        SSCAN, ZRANGE WITHSCORES, XRANGE), each cut to maxBytes. maxBytes: default 4096, at most 65536. \
        Bytes that are not UTF-8 are shown as \\xHH. Read-only. Reply: JSON {key, type, ttlMs, size, value \
        or elements, truncated}, at most 128 KiB.
        """,
      inputSchema: schema(
        [
          "cache": cacheProperty, "key": property("string", "The key."),
          "maxBytes": property("integer", "The most bytes of a value (1-65536, default 4096)."),
        ], required: ["key"]),
      annotations: .init(title: "Read one key", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      guard let key = try arguments.string("key") else { throw ToolError("key is required") }
      let maxBytes = Bounds.clamp(try arguments.int("maxBytes"), 1...65536, default: 4096)
      return try await withCache(arguments, context) { client, name throws(ToolError) in
        let head = try await client.pipeline([["TYPE", key], ["PTTL", key]])
        let type = head[0].text ?? "none"
        var object: [String: MCP.Value] = [
          "cache": .string(name), "key": .string(Bounds.clip(key, maxBytes: 1024)), "type": .string(type),
        ]
        if case .integer(let ttl) = head[1] { object["ttlMs"] = .int(ttl) }
        let elements = 100
        func shown(_ value: RESPValue) -> MCP.Value {
          guard case .bulk(let bytes?) = value else { return .string(RESP.render(value)) }
          return .string(printable(Array(bytes.prefix(maxBytes))) + (bytes.count > maxBytes ? "…" : ""))
        }
        switch type {
        case "none":
          throw ToolError("\(quoted(key)) does not exist in \(name)")
        case "string":
          let replies = try await client.pipeline([["STRLEN", key], ["GETRANGE", key, "0", String(maxBytes - 1)]])
          let size = if case .integer(let length) = replies[0] { length } else { 0 }
          object["size"] = .int(size)
          if case .bulk(let bytes?) = replies[1] { object["value"] = .string(printable(bytes)) }
          object["truncated"] = .bool(size > maxBytes)
        case "hash", "list", "set", "zset", "stream":
          let (sizeCommand, readCommand): ([String], [String]) =
            switch type {
            case "hash": (["HLEN", key], ["HSCAN", key, "0", "COUNT", String(elements)])
            case "list": (["LLEN", key], ["LRANGE", key, "0", String(elements - 1)])
            case "set": (["SCARD", key], ["SSCAN", key, "0", "COUNT", String(elements)])
            case "zset": (["ZCARD", key], ["ZRANGE", key, "0", String(elements - 1), "WITHSCORES"])
            default: (["XLEN", key], ["XRANGE", key, "-", "+", "COUNT", String(elements)])
            }
          let replies = try await client.pipeline([sizeCommand, readCommand])
          let size = if case .integer(let length) = replies[0] { length } else { 0 }
          object["size"] = .int(size)
          var items: [RESPValue] = []
          switch replies[1] {
          case .array(let parts?) where type == "hash" || type == "set":
            if parts.count == 2, case .array(let found?) = parts[1] { items = found }
          case .array(let parts?): items = parts
          case .error(let message): throw ToolError("\(readCommand[0]) failed: \(message)")
          default: break
          }
          let pairs = type == "hash" || type == "zset"
          if pairs {
            let limited = Array(items.prefix(elements * 2))
            object["elements"] = .array(
              stride(from: 0, to: limited.count - 1, by: 2).map {
                .array([shown(limited[$0]), shown(limited[$0 + 1])])
              })
            object["truncated"] = .bool(size > limited.count / 2)
          } else if type == "stream" {
            object["elements"] = .array(
              items.prefix(elements).map { .string(Bounds.clip(RESP.render($0), maxBytes: maxBytes)) })
            object["truncated"] = .bool(size > min(items.count, elements))
          } else {
            object["elements"] = .array(items.prefix(elements).map(shown))
            object["truncated"] = .bool(size > min(items.count, elements))
          }
        default:
          object["note"] = .string(
            "a \(type) value; cache_get reads strings, hashes, lists, sets, sorted sets and streams")
        }
        return Bounds.cut(json(.object(object)), maxBytes: 128 * 1024)
      }
    })

  static let slowlog = ToolSpec(
    tool: Tool(
      name: "cache_slowlog",
      description: """
        The slowest recent commands of a cache (SLOWLOG GET): count entries (default 10, at most 128), each \
        with id, time, duration in microseconds, the command (arguments cut to 128 bytes, at most 16 of \
        them; passwords masked), client address and name. Read-only. Reply: a JSON array, at most 64 KiB.
        """,
      inputSchema: schema([
        "cache": cacheProperty, "count": property("integer", "How many entries (1-128, default 10)."),
      ]),
      annotations: .init(title: "Slow log", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      let count = Bounds.clamp(try arguments.int("count"), 1...128, default: 10)
      return try await withCache(arguments, context) { client, _ throws(ToolError) in
        let reply = try await client.call(["SLOWLOG", "GET", String(count)])
        if case .error(let message) = reply { throw ToolError("SLOWLOG GET failed: \(message)") }
        guard case .array(let entries?) = reply else { return "[]" }
        var rows: [MCP.Value] = []
        for entry in entries {
          guard case .array(let fields?) = entry, fields.count >= 4 else { continue }
          func number(_ value: RESPValue) -> MCP.Value { if case .integer(let n) = value { .int(n) } else { .null } }
          var words: [String] = []
          if case .array(let arguments?) = fields[3] { words = arguments.map { $0.text ?? RESP.render($0) } }
          let masked = CommandMasking.mask(words)
          var command = masked.prefix(16).map { Bounds.clip($0, maxBytes: 128) }
          if masked.count > 16 { command.append("… (\(masked.count - 16) more arguments)") }
          var row: [String: MCP.Value] = [
            "id": number(fields[0]), "time": number(fields[1]), "microseconds": number(fields[2]),
            "command": .array(command.map { .string($0) }),
          ]
          if fields.count >= 6 {
            row["client"] = MCP.Value(fields[4].text)
            row["clientName"] = MCP.Value(fields[5].text)
          }
          rows.append(.object(row))
        }
        return Bounds.cut(json(.array(rows)), maxBytes: 64 * 1024)
      }
    })

  static let monitor = ToolSpec(
    tool: Tool(
      name: "cache_monitor",
      description: """
        What clients send to a cache, watched with MONITOR for a while: seconds (default 5, at most 30) or \
        until maxLines commands (default 200, at most 2000), whichever comes first. Each line: the time, \
        the database and client, the command; passwords (AUTH, HELLO ... AUTH, CONFIG SET requirepass) \
        are masked, lines are cut to 512 bytes. MONITOR costs the server throughput while it runs. \
        Read-only. Reply: text, at most 128 KiB.
        """,
      inputSchema: schema([
        "cache": cacheProperty, "seconds": property("integer", "How long to watch (1-30, default 5)."),
        "maxLines": property("integer", "Stop after this many commands (1-2000, default 200)."),
      ]),
      annotations: .init(title: "Watch commands (MONITOR)", readOnlyHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      let seconds = Bounds.clamp(try arguments.int("seconds"), 1...30, default: 5)
      let maxLines = Bounds.clamp(try arguments.int("maxLines"), 1...2000, default: 200)
      return try await withCache(arguments, context) { client, name throws(ToolError) in
        let began = ContinuousClock.now
        let (lines, full) = try await client.monitor(for: .seconds(seconds), limit: maxLines)
        let elapsed = ContinuousClock.now - began
        let shown = lines.map { Bounds.clip(maskMonitorLine($0), maxBytes: 512) }
        let header =
          "[\(lines.count) commands to \(name) in \(String(format: "%.1f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s"
          + (full ? "; stopped at maxLines \(maxLines)" : "") + "]"
        return Bounds.cut(([header] + shown).joined(separator: "\n"), maxBytes: 128 * 1024)
      }
    })

  static let command = ToolSpec(
    tool: Tool(
      name: "cache_command",
      description: """
        Sends any command to a cache and returns its reply as redis-cli prints it (this server was started \
        with --allow-write: the command may change or delete data). command: the words, e.g. \
        ["SET", "greeting", "hello"]. MONITOR, SUBSCRIBE and the like are refused (use cache_monitor). \
        Reply: text, at most 64 KiB.
        """,
      inputSchema: schema(
        [
          "cache": cacheProperty,
          "command": .object([
            "type": "array", "items": .object(["type": "string"]), "minItems": 1,
            "description": "The command and its arguments.",
          ]),
        ], required: ["command"]),
      annotations: .init(
        title: "Run a cache command (writes)", readOnlyHint: false, destructiveHint: true, openWorldHint: false)),
    run: { arguments, context throws(ToolError) in
      guard let words = try arguments.strings("command"), !words.isEmpty else {
        throw ToolError("command is required: a list of words, e.g. [\"SET\", \"k\", \"v\"]")
      }
      if RedisShell.streams(words) || ["PSUBSCRIBE", "SSUBSCRIBE", "SYNC", "PSYNC"].contains(words[0].uppercased()) {
        throw ToolError("\(words[0].uppercased()) keeps the connection streaming; use cache_monitor to watch commands")
      }
      return try await withCache(arguments, context) { client, _ throws(ToolError) in
        let reply = try await client.call(words)
        return Bounds.cut(
          String(decoding: RESP.format(reply, mode: .terminal, command: words), as: UTF8.self), maxBytes: 64 * 1024)
      }
    })

  // MARK: Helpers

  static func text(_ reply: RESPValue, _ command: String) throws(ToolError) -> String {
    if case .error(let message) = reply { throw ToolError("\(command) failed: \(message)") }
    return reply.text ?? RESP.render(reply)
  }

  /// Bytes as text: UTF-8 as it is, anything else as `\xHH`.
  static func printable(_ bytes: [UInt8]) -> String {
    if let text = String(validating: bytes, as: UTF8.self), !text.contains(where: { $0 == "\0" }) { return text }
    return bytes.map { byte in
      (0x20...0x7E).contains(byte) && byte != 0x5C
        ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16).leftPadded(to: 2)
    }.joined()
  }

  /// A MONITOR line (`1733.12 [0 127.0.0.1:5000] "AUTH" "secret"`) with the secret arguments masked.
  static func maskMonitorLine(_ line: String) -> String {
    guard let bracket = line.range(of: "] ") else { return line }
    let prefix = line[..<bracket.upperBound]
    let words = monitorWords(String(line[bracket.upperBound...]))
    let masked = CommandMasking.mask(words.map(\.decoded))
    guard masked != words.map(\.decoded) else { return line }
    return prefix
      + zip(words, masked).map { word, shown in shown == word.decoded ? word.raw : "\"\(shown)\"" }.joined(
        separator: " ")
  }

  /// The quoted words of a MONITOR line, as written (`raw`) and with the escapes undone (`decoded`).
  static func monitorWords(_ text: String) -> [(raw: String, decoded: String)] {
    var words: [(String, String)] = []
    var index = text.startIndex
    while index < text.endIndex {
      guard text[index] == "\"" else {
        index = text.index(after: index)
        continue
      }
      var raw = "\""
      var decoded = ""
      index = text.index(after: index)
      while index < text.endIndex, text[index] != "\"" {
        if text[index] == "\\", text.index(after: index) < text.endIndex {
          raw.append(text[index])
          index = text.index(after: index)
          decoded.append(text[index])
        } else {
          decoded.append(text[index])
        }
        raw.append(text[index])
        index = text.index(after: index)
      }
      raw.append("\"")
      if index < text.endIndex { index = text.index(after: index) }
      words.append((raw, decoded))
    }
    return words
  }
}
