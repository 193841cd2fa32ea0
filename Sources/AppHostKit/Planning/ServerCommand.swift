/// The `/bin/sh -c` command line each cache runs (docs/reference.md): the password comes from an
/// environment variable, so it is never in the container's argument list, and every server reads it
/// from a private file the shell's built-in `printf` writes, never from an argument: Garnet keeps its
/// arguments for life, and Redis and Valkey overwrite theirs with a title only some milliseconds into
/// start-up, long enough for any host user reading `/proc/PID/cmdline` to see it (the tests' /proc
/// watch did).
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

  /// Where Garnet reads its password from: a redis.conf-format file (`requirepass` takes the rest of
  /// the line as it is, so no character needs escaping), mode 0600, inside the container only.
  package static let garnetPasswordFile = "/tmp/apphost-garnet.conf"

  /// The Redis image's entrypoint (on PATH in the image).
  package static let redisEntrypoint = "docker-entrypoint.sh"

  /// Set for a container that runs as root on purpose (a bind mount written as the user, who is container
  /// root on a rootless engine, or root itself): the Redis 8 entrypoint then keeps root instead of dropping
  /// to its redis user, and leaves the folder's owners alone.
  package static let skipDropPrivileges = "SKIP_DROP_PRIVS"

  /// Where Redis and Valkey read theirs: a configuration file, mode 0600, inside the container only.
  package static let redisPasswordFile = "/tmp/apphost-redis.conf"

  /// Where a TLS cache's container finds the project's certificate files (mounted read-only, one by one:
  /// never the CA's key).
  package static let tlsDirectory = "/run/apphost-tls"
  package static let tlsCertificate = tlsDirectory + "/server.crt"
  package static let tlsCAFile = tlsDirectory + "/ca.crt"
  package static let tlsMountedKey = tlsDirectory + "/server.key"
  /// The server's copy of the key: mounted files keep the host's owner and mode (0600, the user's), which
  /// the server reads only after the image's entrypoint has dropped to its own user. The shell, still
  /// root, copies it (mode 0600) for that user.
  package static let tlsKey = "/tmp/apphost-tls.key"

  /// The user each image's entrypoint drops to (docs/image-facts.md).
  static func imageUser(_ server: ServerKind) -> String {
    server == .valkey ? "valkey" : "redis"
  }

  /// The settings of a TLS-only server, as (name, value...) words: no plain-text port, `port` for TLS, the
  /// certificate and key, the CA (which replication needs), and no client certificates asked for.
  package static func tlsSettings(port: Int, certificate: String, key: String, authority: String, replica: Bool)
    -> [[String]]
  {
    var settings = [
      ["tls-port", "\(port)"], ["tls-cert-file", certificate], ["tls-key-file", key],
      ["tls-ca-cert-file", authority], ["tls-auth-clients", "no"],
    ]
    // A primary serves TLS only: its replicas connect to it over TLS.
    if replica { settings.append(["tls-replication", "yes"]) }
    return settings
  }

  package static func commandLine(
    server: ServerKind, hasPassword: Bool, persistence: Persistence?, extraArguments: [String],
    configFile: CacheConfigFile? = nil, seedRDB: Bool = false, replicaOf: ReplicaSource? = nil, tls: Bool = false,
    cluster: Bool = false, clusterPort: Int? = nil, watched: Bool = false, hostNetworkPort: Int? = nil,
    announcedName: String? = nil
  ) -> String {
    let config = configFile.map { _ in CacheConfigFile.containerPath }
    // A replica now, or later (a cluster or the sentinels choose): `masterauth`, and replication over TLS.
    let mayReplicate = replicaOf != nil || cluster || watched
    // Words are either fixed text or shell-quoted; "$VAR" expands inside the container's shell.
    var words: [String]
    var prelude = ""
    var input = ""
    let password = "\"$\(passwordVariable(server))\""
    switch server {
    case .redis, .valkey:
      // Redis 8 starts through its image's entrypoint, as the image means it to: privileges dropped to
      // the redis user, umask 0077, and `--loadmodule` for every module in /usr/local/lib/redis/modules/
      // appended after the arguments (docs/image-facts.md).
      words = server == .redis ? [redisEntrypoint, "redis-server"] : ["valkey-server"]
      if hasPassword && server == .redis {
        // The settings on standard input (`-`, first: the entrypoint appends modules), from the private
        // file the shell opens before the entrypoint drops privileges: the server never needs to read it.
        let requirepass = passwordSettings(password, replica: mayReplicate)
        let lines = config.map { "{ printf 'include %s\\n' \($0) && \(requirepass); }" } ?? requirepass
        prelude = "(umask 077 && \(lines) > \(redisPasswordFile)) && "
        words += ["-"]
        input = " < \(redisPasswordFile)"
      } else if hasPassword {
        // redis.conf splits a line into words: the value goes in double quotes, its `\` and `"`
        // escaped by sed, which reads it from a pipe (no process has it as an argument). The user's
        // configFile comes first, by `include`, so that apphost's settings follow it.
        let requirepass = passwordSettings(password, replica: mayReplicate)
        let lines = config.map { "{ printf 'include %s\\n' \($0) && \(requirepass); }" } ?? requirepass
        prelude = "(umask 077 && \(lines) > \(redisPasswordFile)) && "
        words += [redisPasswordFile]
      } else if let config {
        words += [config]
      }
      if let replicaOf {
        // Where the primary is is no secret; its password (`masterauth`) is in the private file above.
        words += ["--replicaof", shellQuoted(replicaOf.host), "\(replicaOf.port)"]
      }
      if cluster {
        words += clusterSettings(tls: tls).flatMap { ["--" + $0[0]] + $0.dropFirst() }
        if let clusterPort {
          // The port it is published on, inside too; clients are told 127.0.0.1 (the host name the node
          // announces), its peers reach it at its address on the project network.
          if !tls { words += ["--port", "\(clusterPort)"] }
          words += clusterAnnouncement(announcedName ?? Planner.host)
        }
      }
      if let hostNetworkPort {
        // On the host's network: 127.0.0.1 only, on the port apphost chose.
        words += ["--bind", Planner.host, "--port", "\(hostNetworkPort)"]
      }
      if let announcedName, !cluster {
        // As a replica (now or after a failover), its primary lists it by this name, which sentinels hand out.
        words += ["--replica-announce-ip", shellQuoted(announcedName)]
      }
      if let persistence {
        words += ["--save", "\(persistence.intervalSeconds)", "\(persistence.keysChanged)"]
      } else {
        // Off means off: no snapshots from the image's built-in save points either.
        words += ["--save", "''"]
      }
      if tls {
        words += ["--port", "0"]
        words += tlsSettings(
          port: clusterPort ?? Planner.cachePort, certificate: tlsCertificate, key: tlsKey, authority: tlsCAFile,
          replica: mayReplicate
        ).flatMap { ["--" + $0[0]] + $0.dropFirst() }
        // Before anything else: the copy of the key for the image's user (a user the container was started
        // as already owns it; chown then fails and changes nothing).
        prelude =
          "(umask 077 && cat \(tlsMountedKey) > \(tlsKey)) && { chown \(imageUser(server)) \(tlsKey) 2>/dev/null || :; } && "
          + prelude
      }
    case .garnet:
      words = ["/app/GarnetServer"]
      if hasPassword && configFile?.password == nil {
        // The subshell keeps the umask from reaching the server and the files it writes. Garnet imports
        // one file: the password first, then the user's configFile (which sets none) after it.
        let requirepass = "printf 'requirepass %s\\n' \(password)"
        let lines = config.map { "{ \(requirepass) && cat \($0); }" } ?? requirepass
        prelude = "(umask 077 && \(lines) > \(garnetPasswordFile)) && "
        words += ["--config-import-path", garnetPasswordFile, "--config-import-format", "RedisConf"]
      } else if let config {
        // The user's file, which holds the password if there is one.
        words += ["--config-import-path", config, "--config-import-format", "RedisConf"]
      }
      words += ["--protected-mode", "no"]
      if hasPassword { words += ["--auth", "Password"] }
      if let persistence {
        // Garnet has no periodic snapshot: a checkpoint plus an append-only file committed every interval.
        words += [
          "--checkpointdir", garnetCheckpointDirectory, "--recover", "--aof", "--aof-commit-freq",
          "\(persistence.intervalSeconds * 1000)",
        ]
      }
    }
    words += extraArguments.map(shellQuoted)
    if seedRDB {
      // Only into a data folder that holds no dataset: never over existing data.
      prelude =
        "{ [ -e /data/dump.rdb ] || [ -e /data/appendonlydir ] || [ -e /data/appendonly.aof ] || "
        + "cp \(CacheSeed.containerRDBPath) /data/dump.rdb; } && " + prelude
    }
    // exec: the server is the container's first process and receives the engine's stop signal.
    return prelude + "exec " + words.joined(separator: " ") + input
  }

  /// The settings of a cluster node: its cluster state in `nodes.conf` in its data folder (beside its
  /// dataset, so that a volume keeps both), a replica promoted 2 s after its primary stops answering (the
  /// default 15 s is for networks, not one machine), a primary that sends a replica its copy at once (not
  /// after the 5 s it waits by default for more replicas), and the cluster bus over TLS for a TLS cache.
  package static func clusterSettings(tls: Bool) -> [[String]] {
    var settings = [
      ["cluster-enabled", "yes"], ["cluster-config-file", "nodes.conf"], ["cluster-node-timeout", "2000"],
      ["repl-diskless-sync-delay", "0"],
    ]
    if tls { settings.append(["tls-cluster", "yes"]) }
    return settings
  }

  /// What a node in a container tells clients it is: `host` (127.0.0.1 under apphost, its service name in a
  /// published compose file), by host name, with its own port.
  package static func clusterAnnouncement(_ host: String) -> [String] {
    ["--cluster-announce-hostname", host, "--cluster-preferred-endpoint-type", "hostname"]
  }

  /// Where a sentinel in a container keeps its configuration, which it rewrites as it learns (replicas,
  /// other sentinels, a failover): inside the container only, mode 0600 (it holds the password).
  package static let sentinelFile = "/tmp/apphost-sentinel.conf"

  /// A sentinel's settings after `port`, as (name, value...) words: the primary it watches at `host` and
  /// `port`, and how quickly it acts. The passwords follow from `sentinelPasswordLines`.
  package static func sentinelSettings(_ sentinel: SentinelSettings, host: String, port: String) -> [[String]] {
    let master = sentinel.master
    return [
      ["sentinel", "monitor", master, host, port, "\(sentinel.quorum)"],
      ["sentinel", "down-after-milliseconds", master, "\(sentinel.downAfterMilliseconds)"],
      ["sentinel", "failover-timeout", master, "\(sentinel.failoverTimeoutMilliseconds)"],
      ["sentinel", "parallel-syncs", master, "1"],
    ]
  }

  /// The password lines of a sentinel, `value` already in redis.conf quotes: its own (`requirepass`, the
  /// cache's: clients and the other sentinels give it), the one it gives the other sentinels
  /// (`sentinel-pass`), and the one it gives the primary and replicas (`auth-pass`).
  package static func sentinelPasswordLines(master: String, quotedPassword value: String) -> [String] {
    ["requirepass \(value)", "sentinel sentinel-pass \(value)", "sentinel auth-pass \(master) \(value)"]
  }

  /// A sentinel in a container: its file written by the shell (the password from the environment, through
  /// sed as for `requirepass`). On the host's network (`announcing` nil) it listens on 127.0.0.1 and `port`
  /// and watches the primary at 127.0.0.1 and `primaryPort`, which is what it hands clients; published, it
  /// finds every server by its service name and hands out those names, announcing its own (`announcing`).
  package static func sentinelCommandLine(
    server: ServerKind, sentinel: SentinelSettings, hasPassword: Bool, port: Int, primaryPort: Int,
    announcing: String? = nil
  ) -> String {
    var lines: [[String]]
    if let announcing {
      lines = [
        ["port", "\(port)"], ["sentinel", "resolve-hostnames", "yes"], ["sentinel", "announce-hostnames", "yes"],
        ["sentinel", "announce-ip", announcing],
      ]
      lines += sentinelSettings(sentinel, host: sentinel.primary, port: "\(primaryPort)")
    } else {
      lines = [["bind", Planner.host], ["port", "\(port)"]]
      lines += sentinelSettings(sentinel, host: Planner.host, port: "\(primaryPort)")
    }
    var printf = "printf '%s\\n' " + lines.map { shellQuoted($0.joined(separator: " ")) }.joined(separator: " ")
    if hasPassword {
      let escaped = configEscaped("\"$\(passwordVariable(server))\"")
      let template = sentinelPasswordLines(master: sentinel.master, quotedPassword: #""%s""#)
      printf += " && printf '" + template.joined(separator: "\\n") + "\\n' " + escaped + " " + escaped + " " + escaped
    }
    let program = server == .valkey ? "valkey-server" : "redis-server"
    return "(umask 077 && { \(printf); } > \(sentinelFile)) && exec \(program) \(sentinelFile) --sentinel"
  }

  /// A shell word that expands to `password` (a quoted shell expansion, `"$VAR"`) with its `\` and `"`
  /// escaped for a redis.conf string, by sed reading it from a pipe: no process has it as an argument.
  static func configEscaped(_ password: String) -> String {
    #""$(printf '%s' \#(password) | sed 's/[\\"]/\\&/g')""#
  }

  /// The `printf` that writes `requirepass` (and, for a replica, `masterauth`: the same password, since
  /// a replica serves the same clients as its primary) as redis.conf lines. redis.conf splits a line into
  /// words: the value goes in double quotes, its `\` and `"` escaped by sed, which reads it from a pipe
  /// (no process has it as an argument).
  static func passwordSettings(_ password: String, replica: Bool) -> String {
    let escaped = configEscaped(password)
    guard replica else { return #"printf 'requirepass "%s"\n' "# + escaped }
    return #"printf 'requirepass "%s"\nmasterauth "%s"\n' "# + escaped + " " + escaped
  }
}

/// Where a read replica finds its primary: the primary's name on the project network and its port there
/// (container engines), or 127.0.0.1 and the port the native engine gave it.
package struct ReplicaSource: Sendable, Equatable {
  package var host: String
  package var port: Int

  package init(host: String, port: Int) {
    self.host = host
    self.port = port
  }
}
