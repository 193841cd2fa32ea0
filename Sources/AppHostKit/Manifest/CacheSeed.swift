import Foundation

/// A cache's `"seed"`: data loaded only when the cache starts with an empty dataset.
package enum CacheSeed: Sendable, Equatable {
  /// `"seed": "./seed.redis"`: one command a line in redis-cli's syntax, sent once the cache answers.
  case commands(source: String, path: String, commands: [Command])
  /// `"seed": {"rdb": "./dump.rdb"}`: copied into the data folder before the server starts, when the
  /// folder holds no dataset (no `dump.rdb`, no append-only file).
  case rdb(source: String, path: String)

  package struct Command: Sendable, Equatable {
    package var line: Int
    package var words: [String]
  }

  package var source: String {
    switch self {
    case .commands(let source, _, _), .rdb(let source, _): source
    }
  }

  package var path: String {
    switch self {
    case .commands(_, let path, _), .rdb(_, let path): path
    }
  }

  /// Where containers see an RDB seed.
  package static let containerRDBPath = "/usr/local/etc/apphost/seed.rdb"

  /// The commands of a seed file: each line split as redis-cli splits it; empty lines and lines starting
  /// with `#` are skipped. Returns the lines that cannot be split.
  package static func parseCommands(_ text: String) -> (commands: [Command], problems: [(line: Int, message: String)]) {
    var commands: [Command] = []
    var problems: [(Int, String)] = []
    for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
      var line = String(raw)
      if line.hasSuffix("\r") { line.removeLast() }
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      guard let words = CacheConfigFile.splitArguments(trimmed), !words.isEmpty else {
        problems.append((index + 1, "unbalanced quotes (redis-cli would refuse the line)"))
        continue
      }
      commands.append(Command(line: index + 1, words: words))
    }
    return (commands, problems)
  }

  /// Commands that would empty or replace the dataset, or stop the server, have no place in seed data.
  static let refusedCommands: Set<String> = [
    "FLUSHALL", "FLUSHDB", "SHUTDOWN", "DEBUG", "MONITOR", "SUBSCRIBE",
    "PSUBSCRIBE", "SSUBSCRIBE", "SYNC", "PSYNC", "REPLICAOF", "SLAVEOF", "AUTH", "HELLO", "SELECT", "QUIT", "RESET",
  ]
}

extension ManifestLoader {
  /// Reads every cache's `seed` file: commands are parsed (65 with the line for what cannot be), an RDB
  /// is checked to be one.
  static func readSeeds(_ manifest: inout Manifest, projectDirectory: String, locations: [JSONPath: TextLocation])
    -> [Diagnostic]
  {
    var diagnostics: [Diagnostic] = []
    for index in manifest.resources.indices {
      guard var cache = manifest.resources[index].cache, let seed = cache.seed else { continue }
      let name = manifest.resources[index].name
      var path = JSONPath.resource(name).appending("seed")
      if case .rdb = seed { path = path.appending("rdb") }
      func error(_ message: String) {
        diagnostics.append(
          Diagnostic(.error, path, message, at: locations[path] ?? locations[JSONPath.resource(name).appending("seed")])
        )
      }
      let file = resolvePath(seed.source, relativeTo: projectDirectory)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else {
        error(
          "the file \(quoted(seed.source)) does not exist (looked for \(file)); give a path relative to apphost.json")
        continue
      }
      guard let data = FileManager.default.contents(atPath: file) else {
        error("\(quoted(seed.source)) cannot be read; check its permissions")
        continue
      }
      switch seed {
      case .commands:
        guard data.count <= 64 << 20, let text = String(data: data, encoding: .utf8) else {
          error(
            "\(quoted(seed.source)) is not a UTF-8 text file of at most 64 MiB (one command a line); for an RDB "
              + "write {\"rdb\": \(quoted(seed.source))}")
          continue
        }
        let (commands, problems) = CacheSeed.parseCommands(text)
        for problem in problems { error("\(seed.source):\(problem.line): \(problem.message)") }
        for command in commands where CacheSeed.refusedCommands.contains(command.words[0].uppercased()) {
          error(
            "\(seed.source):\(command.line): \(command.words[0]) has no place in seed data (it would change the "
              + "connection, the dataset as a whole or the server); remove the line")
        }
        if commands.isEmpty && problems.isEmpty { error("\(quoted(seed.source)) holds no command") }
        cache.seed = .commands(source: seed.source, path: file, commands: commands)
      case .rdb:
        if cache.server == .garnet {
          error(
            "Garnet cannot load an RDB file (it has no RDB loading at start, and its RESTORE takes strings "
              + "only); seed it with commands instead: \"seed\": \"./seed.redis\"")
          continue
        }
        guard data.starts(with: Array("REDIS".utf8)) else {
          error("\(quoted(seed.source)) is not an RDB file (it does not start with \"REDIS\"); make one with SAVE")
          continue
        }
        cache.seed = .rdb(source: seed.source, path: file)
      }
      manifest.resources[index].spec = .cache(cache)
    }
    return diagnostics
  }
}
