import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `"sentinel": true` on docker, podman (rootless, as CI runs it) and native: redis-py's Sentinel client finds
/// the primary from `CACHE_SENTINELS`, a killed primary's replica is promoted while the client carries on,
/// every write survives `down`/`up` (the cache copies the promoted replica before it stops), and `down -v`
/// leaves nothing; publish compose carries it. RedisInsight shows such a cache from the host's network.
@Suite(.enabled(if: !ControlEngines.all.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct SentinelTests {
  static let password = #"sen"ti nel\$1"#

  static func manifest(_ name: String, replicas: Int = 2) -> String {
    let escaped = jsonEscaped(password)
    return
      #"{"name": "\#(name)", "resources": {"cache": {"type": "redis", "password": "\#(escaped)", "dataVolume": true, "replicas": \#(replicas), "sentinel": true}}}"#
  }

  /// redis-py's Sentinel client, from `CACHE_SENTINELS` and `CACHE_SENTINEL_MASTER`, runs `code` with `master`
  /// (writes go wherever the sentinels say the primary is).
  static func python(_ variables: [String: String], _ code: String) async throws -> CommandResult {
    let script = """
      import os, sys, time
      from redis.sentinel import Sentinel
      from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
      password = os.environ['PASSWORD']
      sentinels = [(h, int(p)) for h, p in (n.split(':') for n in os.environ['SENTINELS'].split(','))]
      sentinel = Sentinel(sentinels, sentinel_kwargs={'password': password}, password=password, socket_timeout=1)
      name = os.environ['MASTER']
      master = sentinel.master_for(name, socket_timeout=1, decode_responses=True)
      \(code)
      """
    return try await execute(
      "python3", ["-c", script],
      environment: [
        "SENTINELS": variables["CACHE_SENTINELS"] ?? "", "MASTER": variables["CACHE_SENTINEL_MASTER"] ?? "",
        "PASSWORD": password,
      ])
  }

  /// redis-cli on 127.0.0.1:`port`, the password in its environment.
  static func redis(_ port: String, _ command: String...) async throws -> String {
    let result = try await execute(
      "redis-cli", ["-h", "127.0.0.1", "-p", port, "--no-auth-warning"] + command,
      environment: ["REDISCLI_AUTH": password])
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func pid(ofServerOn port: String) async throws -> Int32 {
    let info = try await Self.redis(port, "INFO", "server")
    return try #require(processID(fromInfo: info))
  }

  /// Kills the server of `resource` at once (no save): natively its process, else its container.
  static func kill(_ resource: String, port: String, of project: ReplicaTests.Project) async throws {
    if project.engine == "native" {
      Glibc.kill(try await pid(ofServerOn: port), SIGKILL)
    } else {
      let container = try #require(try await project.ps()[resource]?["container"])
      let killed = try await execute(project.engine, ["kill", container])
      #expect(killed.status == 0, "\(killed)")
    }
  }

  @Test(arguments: ControlEngines.all)
  func sentinelsPromoteAReplicaTheClientCarriesOnAndDownKeepsEveryWrite(engine: String) async throws {
    try await ReplicaTests.withProject(engine, "sentinel") { project, folder in
      folder.write("apphost.json", Self.manifest(project.name))
      let up = try await project.succeed("up", "-d", "--timeout", "180")
      for index in 1...3 {
        #expect(up.output.contains("cache-sentinel-\(index) | ready at 127.0.0.1:"), "\(up.output)")
      }

      let variables = try await project.variables()
      let sentinels = try #require(variables["CACHE_SENTINELS"]).split(separator: ",")
      #expect(sentinels.count == 3 && sentinels.allSatisfy { $0.hasPrefix("127.0.0.1:") }, "\(sentinels)")
      #expect(variables["CACHE_SENTINEL_MASTER"] == "cache")
      let primaryPort = try #require(variables["CACHE_PORT"])
      let rows = try await project.ps()
      #expect(rows["cache"]?["role"] == "primary" && rows["cache-replica-2"]?["role"] == "replica", "\(rows)")
      #expect(rows["cache-sentinel-1"]?["role"] == "sentinel", "\(rows)")
      #expect(rows.values.allSatisfy { $0["health"] == "healthy" }, "\(rows)")
      // Every sentinel hands out the primary, at an address this machine reaches, and knows the replicas.
      for sentinel in sentinels {
        let port = ReplicaTests.port(String(sentinel))
        let master = try await Self.redis(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "cache")
        #expect(master == "127.0.0.1\n\(primaryPort)", "sentinel \(port): \(master)")
      }
      // Nobody reaches a sentinel without the password.
      let refused = try await execute(
        "redis-cli", ["-h", "127.0.0.1", "-p", ReplicaTests.port(String(sentinels[0])), "SENTINEL", "MASTERS"])
      #expect(refused.output.contains("NOAUTH"), "\(refused)")

      let written = try await Self.python(
        variables,
        """
        for i in range(1000): master.set(f'key:{i}', i)
        print('primary', sentinel.discover_master(name)[1], 'replicas', len(sentinel.discover_slaves(name)))
        """)
      #expect(written.output.contains("primary \(primaryPort) replicas 2"), "\(written)")

      // The primary dies: the sentinels promote a replica, the client finds it and carries on writing.
      try await Self.kill("cache", port: primaryPort, of: project)
      let carriedOn = try await Self.python(
        variables,
        """
        started = time.time()
        for i in range(1000, 2000):
            while True:
                try:
                    master.set(f'key:{i}', i); break
                except (ConnectionError, ReadOnlyError, TimeoutError):
                    if time.time() - started > 60: raise
                    time.sleep(0.1)
        print('promoted', sentinel.discover_master(name)[1], 'after %.1f s' % (time.time() - started))
        print('keys', master.dbsize())
        """)
      #expect(carriedOn.status == 0, "\(carriedOn)")
      #expect(carriedOn.output.contains("keys 2000"), "\(carriedOn)")
      #expect(!carriedOn.output.contains("promoted \(primaryPort) "), "\(carriedOn)")
      print("sentinel-summary: \(engine): \(carriedOn.output.split(separator: "\n").first ?? "")")
      let promoted = try await project.ps()
      let newPrimary = try #require(
        promoted.first { $0.value["role"] == "primary" }?.key, "no primary after the failover: \(promoted)")
      #expect(newPrimary.hasPrefix("cache-replica-"), "\(promoted)")
      #expect(promoted[newPrimary]?["health"] == "healthy", "\(promoted)")
      // apphost cli asks the sentinels where the primary is now: writes go there.
      let viaCli = try await project.succeed("cli", "cache", "--", "SET", "via-cli", "yes")
      #expect(viaCli.output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK", "\(viaCli)")

      // down: the cache copies the promoted replica before it stops; up starts it as the primary again.
      let down = try await project.succeed("down")
      #expect(
        down.output.contains("cache: \(newPrimary) had taken over as primary; cache copied its data before stopping"),
        "\(down.output)")
      #expect(try await project.leftovers().count == 3, "only the three volumes stay")
      try await project.succeed("up", "-d", "--timeout", "180")
      let again = try await project.variables()
      #expect(try await Self.redis(try #require(again["CACHE_PORT"]), "DBSIZE") == "2001")
      let after = try await project.ps()
      #expect(after["cache"]?["role"] == "primary" && after[newPrimary]?["role"] == "replica", "\(after)")
      let found = try await Self.python(again, "print('keys', master.dbsize(), master.get('key:1999'))")
      #expect(found.output.contains("keys 2001 1999"), "\(found)")

      // The primary dies and down follows at once, before any failover: the cache copies a replica.
      try await Self.kill("cache", port: try #require(again["CACHE_PORT"]), of: project)
      let quick = try await project.succeed("down")
      #expect(
        quick.output.contains("cache: cache had stopped while cache-replica-"), "\(quick.output)")
      try await project.succeed("up", "-d", "--timeout", "180")
      let third = try await project.variables()
      #expect(try await Self.redis(try #require(third["CACHE_PORT"]), "DBSIZE") == "2001")

      try await project.downLeavesNothing()
    }
  }

  /// RedisInsight and Redis Commander showing a cache sentinels watch, a cluster and a plain cache run on the
  /// host's network at 127.0.0.1. Their stand-ins, reading what the real ones read (RedisInsight's
  /// environment and pre-setup file, Redis Commander's connections file), ask a sentinel where the primary
  /// is (with the password, which has a quote, a space and a backslash) and ping it, ping every node of the
  /// cluster where they say they are, and the plain cache at the port apphost chose for it; after a failover
  /// the sentinel names the promoted replica to both.
  @Test(arguments: TestEngines.all)
  func theUIsShowTheSentinelsAClusterAndAPlainCacheFromTheHostsNetwork(engine: String) async throws {
    try await ReplicaTests.withProject(engine, "sentinel-ui") { project, folder in
      let manifest = String(Self.manifest(project.name, replicas: 1).dropLast(2))
      let others =
        #", "shards": {"type": "valkey", "cluster": {"shards": 3, "replicasPerShard": 0}}, "plain": {"type": "redis"}, "ui": {"type": "redisinsight", "acceptTerms": true, "dataVolume": false}, "commander": {"type": "rediscommander"}"#
      folder.write("apphost.json", manifest + others + "}}")
      try await project.succeed("up", "-d", "--timeout", "180")
      let variables = try await project.variables()
      let rows = try await project.ps()
      let url = try #require(rows["ui"]?["url"], "\(rows)")
      #expect(url.hasPrefix("http://127.0.0.1:"), "\(rows)")
      let databases = try await UITests().connections(url + "/cgi-bin/databases")
      #expect(databases.keys.sorted() == ["cache", "plain", "shards"], "\(databases)")
      let plain = databases["plain"] ?? [:]
      #expect(plain["host"] as? String == "127.0.0.1", "\(plain)")
      #expect((plain["port"] as? Int).map(String.init) == variables["PLAIN_PORT"], "\(plain)")
      #expect(plain["ping"] as? String == "PONG", "\(plain)")
      let shards = databases["shards"] ?? [:]
      #expect(shards["connectionType"] as? String == "CLUSTER" && shards["nodes"] as? Int == 3, "\(shards)")
      #expect(shards["ping"] as? String == "PONG", "every node answers where it says it is: \(shards)")
      let primaryPort = try #require(variables["CACHE_PORT"])
      let sentinel = databases["cache"] ?? [:]
      #expect(sentinel["connectionType"] as? String == "SENTINEL" && sentinel["master"] as? String == "cache")
      #expect(sentinel["masterAddress"] as? String == "127.0.0.1:\(primaryPort)", "\(sentinel)")
      #expect(sentinel["ping"] as? String == "PONG", "\(sentinel)")
      let firstSentinel = variables["CACHE_SENTINELS"]?.split(separator: ",").first.map(String.init)
      #expect(firstSentinel == "127.0.0.1:\((sentinel["port"] as? Int) ?? 0)", "\(sentinel) \(variables)")
      // Redis Commander, from the connections file its container wrote (the password has '"', ' ' and '\',
      // which its REDIS_HOSTS could not carry).
      let commanderURL = try #require(rows["commander"]?["url"], "\(rows)")
      let opened = try await UITests().connections(commanderURL + "/cgi-bin/connections")
      #expect(opened.keys.sorted() == ["cache", "plain", "shards"], "\(opened)")
      #expect(opened["plain"]?["ping"] as? String == "PONG", "\(opened)")
      #expect(opened["shards"]?["connectionType"] as? String == "CLUSTER", "\(opened)")
      #expect(opened["shards"]?["nodes"] as? Int == 3 && opened["shards"]?["ping"] as? String == "PONG", "\(opened)")
      #expect(opened["cache"]?["masterAddress"] as? String == "127.0.0.1:\(primaryPort)", "\(opened)")
      #expect(opened["cache"]?["ping"] as? String == "PONG", "\(opened)")

      // The primary dies: RedisInsight's sentinel hands it the promoted replica.
      try await Self.kill("cache", port: primaryPort, of: project)
      var followed: [String: Any] = [:]
      for _ in 0..<60 {
        followed = try await UITests().connections(url + "/cgi-bin/databases")["cache"] ?? [:]
        if let address = followed["masterAddress"] as? String, address != "127.0.0.1:\(primaryPort)",
          followed["ping"] as? String == "PONG"
        {
          break
        }
        try await Task.sleep(for: .milliseconds(500))
      }
      #expect(followed["masterAddress"] as? String == variables["CACHE_REPLICAS"], "\(followed)")
      #expect(followed["ping"] as? String == "PONG", "\(followed)")
      let commanderFollowed = try await UITests().connections(commanderURL + "/cgi-bin/connections")["cache"]
      #expect(
        commanderFollowed?["masterAddress"] as? String == variables["CACHE_REPLICAS"], "\(commanderFollowed ?? [:])")
      #expect(commanderFollowed?["ping"] as? String == "PONG", "\(commanderFollowed ?? [:])")
      try await project.downLeavesNothing()
    }
  }

  /// The database `cache` of the RedisInsight stand-in at 127.0.0.1:`port` (empty while it does not answer).
  static func shownCache(_ port: Int) async throws -> [String: Any] {
    let script = "import urllib.request,sys\nprint(urllib.request.urlopen(sys.argv[1],timeout=30).read().decode())"
    let result = try await execute("python3", ["-c", script, "http://127.0.0.1:\(port)/cgi-bin/databases"])
    guard result.status == 0,
      let list = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]
    else { return [:] }
    return list.first { $0["name"] as? String == "cache" } ?? [:]
  }

  /// The compose output of a cache watched by sentinels runs on docker-compose and podman-compose: a program in
  /// a container asks the sentinels (by their service names) where the primary is and writes there; killed,
  /// the primary is replaced by its replica, which the sentinels then name, and the program carries on, as does
  /// RedisInsight, which asks the first sentinel by its service name.
  @Test(arguments: PublishTests.composeTools)
  func publishedSentinelsFailOverOnCompose(tool: String, engine: String) async throws {
    try await EngineProject.run(engine: engine, "sentinel-compose") { project in
      let registry = ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] ?? "docker.io"
      let program =
        "export REDISCLI_AUTH=$CACHE_PASSWORD; s=${CACHE_SENTINELS%%,*}; "
        + "master() { redis-cli -h ${s%:*} -p ${s#*:} SENTINEL GET-MASTER-ADDR-BY-NAME $CACHE_SENTINEL_MASTER | head -1; }; "
        + "i=0; w=0; while [ $i -lt 300 ]; do m=$(master); "
        + "if [ ${#m} -gt 0 ] && redis-cli -h $m -p 6379 SET key:$i $i 2>/dev/null | grep -q OK; then i=$((i+1)); "
        + "else sleep 0.2; fi; "
        // After 100 keys it pauses until the sentinels name another primary (at most 300 s): a fixed pause
        // of 10 s ran out on a loaded CI machine before the test had killed the primary.
        + "if [ $i = 100 ] && [ $w = 0 ]; then w=1; n=0; "
        + "while { [ x$(master) = xcache ] || [ x$(master) = x ]; } && [ $n -lt 1500 ]; do sleep 0.2; n=$((n+1)); done; "
        + "fi; done; "
        + "until redis-cli -h $(master) -p 6379 SET done $(master) | grep -q OK; do sleep 0.2; done; exec sleep 600"
      let uiPort = try TCPListener.unassignedPort()
      project.manifest(
        #"""
        "cache": {"type": "redis", "password": "pw", "dataVolume": true, "replicas": 1, "sentinel": true},
        "writer": {"type": "executable", "command": "sh", "args": ["-c", "\#(program)"],
          "image": "\#(registry)/library/redis:8.6", "references": ["cache"]},
        "ui": {"type": "redisinsight", "hostPort": \#(uiPort), "dataVolume": false}
        """#)
      try await project.succeed("publish", "compose", "-o", "deploy")
      let memory = try #require(project.folder.read(".apphost/ports.json"))
      let remembered = (try? JSONSerialization.jsonObject(with: Data(memory.utf8)) as? [String: Int]) ?? [:]
      let primary = String(try #require(remembered["cache"], "\(remembered)"))
      let replica = String(try #require(remembered["cache-replica-1"], "\(remembered)"))
      let sentinel = String(try #require(remembered["cache-sentinel-1"], "\(remembered)"))
      let name = project.name.replacing("-", with: "")
      let compose = ["-f", "deploy/docker-compose.yml", "-p", name]
      try await PublishTests.withComposeProject(tool, compose, engine: engine, in: project.path) {
        // The program writes its first 100 keys to the primary, then waits for another: the primary is killed.
        let first = try await eventually(timeout: .seconds(120), every: .milliseconds(500)) {
          try await project.redis(port: primary, password: "pw", "DBSIZE")
        } until: {
          (Int($0) ?? 0) >= 100
        }
        #expect((Int(first) ?? 0) >= 100, "the program did not write through the sentinels: \(first)")
        // RedisInsight, on the project network, asks the first sentinel by its service name.
        let shown = try await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
          try await Self.shownCache(uiPort)
        } until: {
          $0["ping"] as? String == "PONG"
        }
        #expect(shown["host"] as? String == "cache-sentinel-1" && shown["masterAddress"] as? String == "cache:6379")
        #expect(shown["ping"] as? String == "PONG", "\(shown)")
        // Every server and sentinel healthy by its own healthcheck: a sentinel once it knows the replica
        // and the other two (it learns of replicas from the primary, every 10 s); before that, it would have
        // no replica to promote.
        let states = try await PublishTests.healthStates(
          engine, project: name,
          services: ["cache", "cache-replica-1", "cache-sentinel-1", "cache-sentinel-2", "cache-sentinel-3"],
          timeout: .seconds(60))
        #expect(states.values.allSatisfy { $0 == "healthy" }, "before the primary is killed: \(states)")
        let container = try await PublishTests.container(engine, project: name, service: "cache")
        try #require(!container.isEmpty, "no container of the service cache")
        let killed = try await execute(engine, ["kill", container])
        #expect(killed.status == 0, "\(killed)")
        // The sentinels promote the replica and name it by its service name; the program writes the rest there.
        // A sentinel gives up a failover it finds no replica fit for (on podman a replica whose primary's
        // name no longer resolves answers late while it looks the name up) and tries again 20 s later
        // (twice failover-timeout): a loaded machine may need a few tries.
        let done = try await eventually(timeout: .seconds(240), every: .milliseconds(500)) {
          try await project.redis(port: replica, password: "pw", "GET", "done")
        } until: {
          $0 == "cache-replica-1"
        }
        var logs = ""
        if done != "cache-replica-1" {
          // What the sentinels and the replica said: why no failover happened.
          for service in ["cache-sentinel-1", "cache-sentinel-2", "cache-sentinel-3", "cache-replica-1"] {
            let id = try await PublishTests.container(engine, project: name, service: service)
            let log = try await execute(engine, ["logs", "--tail", "40", id])
            logs += "\n--- \(service):\n\(log.output)"
          }
        }
        #expect(done == "cache-replica-1", "the program did not carry on on the promoted replica: \(done)\(logs)")
        let named = try await project.redis(
          port: sentinel, password: "pw", "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "cache")
        #expect(named.hasPrefix("cache-replica-1"), "\(named)")
        #expect(try await project.redis(port: replica, password: "pw", "GET", "key:299") == "299")
        let followed = try await Self.shownCache(uiPort)
        #expect(followed["masterAddress"] as? String == "cache-replica-1:6379", "\(followed)")
        #expect(followed["ping"] as? String == "PONG", "\(followed)")
      }

      // The same project for Kubernetes: every server and sentinel (PublishTests validates such output).
      let kubernetes = try await project.apphost("publish", "kubernetes", "-o", "k8s")
      #expect(kubernetes.status == 0, "\(kubernetes)")
      #expect(kubernetes.output.contains("k8s/cache-sentinel-3.yaml"), "\(kubernetes)")
    }
  }
}
