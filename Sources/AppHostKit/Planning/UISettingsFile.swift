/// A JSON settings file a UI's container writes when it starts, before its image's own command runs: the
/// only way RedisInsight takes a sentinel (its pre-setup databases file) and the way Redis Commander takes a
/// cluster or a sentinel without a password on its command line (its `config/local-production.json`). The
/// file is private to the container (umask 077); each password comes from the container's environment,
/// JSON-escaped (`\` and `"`, as for redis.conf) by sed reading it from a pipe, so no process has it as an
/// argument.
package struct UISettingsFile: Sendable, Equatable {
  /// JSON text, or a password: the name of the variable of the container's environment that holds it.
  package enum Piece: Sendable, Equatable {
    case json(String)
    case password(variable: String)
  }

  package var pieces: [Piece] = []

  package init() {}

  mutating func append(_ json: String) { pieces.append(.json(json)) }

  /// `"key":"value"` for a name or host (apphost's names need no escaping beyond quotes and backslashes).
  mutating func string(_ key: String, _ value: String) {
    append("\"\(key)\":\"\(value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\""))\"")
  }

  mutating func password(_ key: String, variable: String) {
    append("\"\(key)\":\"")
    pieces.append(.password(variable: variable))
    append("\"")
  }

  /// The shell command that writes the file to `path` (a shell word: `"$HOME/config/x.json"` expands in the
  /// container) and then runs `command`.
  package func commandLine(writingTo path: String, then command: String) -> String {
    var format = ""
    var arguments: [String] = []
    for piece in pieces {
      switch piece {
      case .json(let text):
        // printf reads `\` and `%` in its format; the shell's single quotes end at `'`.
        format += text.replacing("\\", with: "\\\\").replacing("%", with: "%%").replacing("'", with: #"'\''"#)
      case .password(let variable):
        format += "%s"
        arguments.append(ServerCommand.configEscaped("\"$\(variable)\""))
      }
    }
    let printf = (["printf", "'\(format)'"] + arguments).joined(separator: " ")
    return "(umask 077 && \(printf) > \(path)) && exec \(command)"
  }
}

/// A cache as a UI's settings file names it: where it is reached, and how.
package struct UIConnection: Sendable, Equatable {
  package enum Mode: Sendable, Equatable {
    case standalone
    case cluster
    /// The cache's first sentinel is `host`:`port`; `master` is the master name.
    case sentinel(master: String)
  }

  package var name: String
  package var host: String
  package var port: Int
  package var mode: Mode
  /// The variable of the container's environment that holds the cache's password (the sentinels take it
  /// too); nil without one.
  package var passwordVariable: String?

  /// `{"NAMEKEY":"name","host":"...","port":N` (the entry left open), as both files begin an entry.
  func open(_ nameKey: String, into file: inout UISettingsFile) {
    file.append("{")
    file.string(nameKey, name)
    file.append(",")
    file.string("host", host)
    file.append(",\"port\":\(port)")
  }

  /// `,"key":"<the password>"` when the cache has one.
  func password(_ key: String, into file: inout UISettingsFile) {
    guard let passwordVariable else { return }
    file.append(",")
    file.password(key, variable: passwordVariable)
  }

  /// RedisInsight's pre-setup entry (`name`, `host`, `port`, `id`, `password`, `sentinelMaster`).
  func insightEntry(id: String, into file: inout UISettingsFile) {
    open("name", into: &file)
    file.append(",")
    file.string("id", id)
    password("password", into: &file)
    if case .sentinel(let master) = mode {
      file.append(",\"sentinelMaster\":{")
      file.string("name", master)
      password("password", into: &file)
      file.append("}")
    }
    file.append("}")
  }

  /// Redis Commander's `connections[]` entry: `label`, `host`, `port`, `password`, `dbIndex`, and
  /// `isCluster`, or `sentinels`, `sentinelName` and `sentinelPassword` (read in its lib/util.js).
  func commanderEntry(into file: inout UISettingsFile) {
    open("label", into: &file)
    file.append(",\"dbIndex\":0")
    password("password", into: &file)
    switch mode {
    case .standalone: break
    case .cluster: file.append(",\"isCluster\":true")
    case .sentinel(let master):
      file.append(",\"sentinels\":[{")
      file.string("host", host)
      file.append(",\"port\":\(port)}],")
      file.string("sentinelName", master)
      password("sentinelPassword", into: &file)
    }
    file.append("}")
  }

  /// Where RedisInsight reads its pre-setup databases (`RI_PRE_SETUP_DATABASES_PATH`).
  package static let insightFile = "/tmp/apphost-databases.json"

  /// RedisInsight's container command: its pre-setup file with `sentinels` (numbered by `ids`), then the
  /// image's own entrypoint and command (`./docker-entry.sh node redisinsight/api/dist/src/main`).
  package static func insightCommandLine(_ sentinels: [(id: String, connection: UIConnection)]) -> String {
    var file = UISettingsFile()
    file.append("[")
    for (index, entry) in sentinels.enumerated() {
      if index > 0 { file.append(",") }
      entry.connection.insightEntry(id: entry.id, into: &file)
    }
    file.append("]")
    return file.commandLine(
      writingTo: insightFile, then: "./docker-entry.sh node redisinsight/api/dist/src/main")
  }

  /// Redis Commander's command after its image's `dumb-init --`: its connections file
  /// (`$HOME/config/local-$NODE_ENV.json`, which its entrypoint keeps when `REDIS_HOSTS` is not set), then
  /// the image's own `/redis-commander/docker/entrypoint.sh`.
  package static func commanderCommandLine(_ connections: [UIConnection]) -> String {
    var file = UISettingsFile()
    file.append("{\"connections\":[")
    for (index, connection) in connections.enumerated() {
      if index > 0 { file.append(",") }
      connection.commanderEntry(into: &file)
    }
    file.append("]}")
    return file.commandLine(
      writingTo: #""$HOME/config/local-$NODE_ENV.json""#, then: "/redis-commander/docker/entrypoint.sh")
  }
}
