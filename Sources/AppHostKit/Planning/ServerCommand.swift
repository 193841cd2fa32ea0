/// The `/bin/sh -c` command line each cache runs (docs/reference.md): the password comes from an
/// environment variable, so it is never in the container's argument list.
package enum ServerCommand {
  package struct Persistence: Sendable, Equatable {
    package var intervalSeconds: Int
    package var keysChanged: Int
  }

  package static func passwordVariable(_ server: ServerKind) -> String {
    switch server {
    case .redis: "REDIS_PASSWORD"
    case .valkey: "VALKEY_PASSWORD"
    case .garnet: "GARNET_PASSWORD"
    }
  }

  /// Garnet's checkpoint folder, inside the data mount.
  package static let garnetCheckpointDirectory = "/data/checkpoints"

  package static func commandLine(
    server: ServerKind, hasPassword: Bool, persistence: Persistence?, extraArguments: [String]
  ) -> String {
    // Words are either fixed text or shell-quoted; "$VAR" expands inside the container's shell.
    var words: [String]
    let password = "\"$\(passwordVariable(server))\""
    switch server {
    case .redis, .valkey:
      words = [server == .redis ? "redis-server" : "valkey-server"]
      if hasPassword { words += ["--requirepass", password] }
      if let persistence {
        words += ["--save", "\(persistence.intervalSeconds)", "\(persistence.keysChanged)"]
      } else {
        // Off means off: no snapshots from the image's built-in save points either.
        words += ["--save", "''"]
      }
    case .garnet:
      words = ["/app/GarnetServer", "--protected-mode", "no"]
      if hasPassword { words += ["--auth", "Password", "--password", password] }
      if let persistence {
        // Garnet has no periodic snapshot: a checkpoint plus an append-only file committed every interval.
        words += [
          "--checkpointdir", garnetCheckpointDirectory, "--recover", "--aof", "--aof-commit-freq",
          "\(persistence.intervalSeconds * 1000)",
        ]
      }
    }
    words += extraArguments.map(shellQuoted)
    // exec: the server is the container's first process and receives the engine's stop signal.
    return "exec " + words.joined(separator: " ")
  }
}
