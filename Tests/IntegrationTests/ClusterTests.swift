import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `"cluster"` on a cache, on docker, podman and native: apphost forms the cluster, redis-cli `-c` and redis-py's
/// cluster client follow its redirects from this machine with keys on every shard, a killed primary's
/// replica takes over while the client carries on, data and cluster survive `down`/`up` with volumes,
/// and `down -v` leaves nothing.
@Suite(.enabled(if: !ControlEngines.all.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ClusterTests {
  static let password = #"clu"ster\$1"#

  /// redis-cli on 127.0.0.1:`port` (no redirects followed), the password in its environment.
  static func redis(_ port: String, _ command: String...) async throws -> String {
    let result = try await execute(
      "redis-cli", ["-h", "127.0.0.1", "-p", port, "--no-auth-warning"] + command,
      environment: ["REDISCLI_AUTH": password])
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// redis-py's RedisCluster, started from every node in `nodes` (`CACHE_CLUSTER_NODES`), runs `code`.
  static func python(_ nodes: String, _ code: String) async throws -> CommandResult {
    let script = """
      import os, sys, time
      from redis.cluster import RedisCluster, ClusterNode
      nodes = [ClusterNode(h, int(p)) for h, p in (n.split(':') for n in os.environ['NODES'].split(','))]
      r = RedisCluster(startup_nodes=nodes, password=os.environ['PASSWORD'], decode_responses=True)
      \(code)
      """
    return try await execute("python3", ["-c", script], environment: ["NODES": nodes, "PASSWORD": password])
  }

  @Test(arguments: ControlEngines.all)
  func aClusterServesEveryShardFailsOverAndKeepsItsData(engine: String) async throws {
    try await ReplicaTests.withProject(engine, "cluster") { project, folder in
      let escaped = jsonEscaped(Self.password)
      folder.write(
        "apphost.json",
        #"{"name": "\#(project.name)", "resources": {"cache": {"type": "redis", "password": "\#(escaped)", "dataVolume": true, "cluster": {"shards": 3, "replicasPerShard": 1}}}}"#
      )
      let up = try await project.succeed("up", "-d", "--timeout", "300")
      #expect(
        up.output.contains("cluster ready: cluster_state:ok, 3 primaries serving 16384 slots, 3 replicas"),
        "\(up.output)")

      let variables = try await project.variables()
      let nodes = try #require(variables["CACHE_CLUSTER_NODES"])
      let addresses = nodes.split(separator: ",").map(String.init)
      #expect(addresses.count == 6 && addresses.allSatisfy { $0.hasPrefix("127.0.0.1:") }, "\(nodes)")
      #expect(variables["ConnectionStrings__cache"] == "\(nodes),password=\(Self.password)")
      let first = try #require(variables["CACHE_PORT"])
      #expect(addresses.first == "127.0.0.1:\(first)")

      // redis-cli -c follows MOVED from the first node to the others.
      let greeting = try await execute(
        "redis-cli", ["-c", "-h", "127.0.0.1", "-p", first, "--no-auth-warning", "SET", "greeting", "hello"],
        environment: ["REDISCLI_AUTH": Self.password])
      #expect(greeting.output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK", "\(greeting)")
      let written = try await Self.python(
        nodes, "for i in range(1000): r.set(f'key:{i}', i)\nprint(r.get('greeting'), r.get('key:999'))")
      #expect(written.output.contains("hello 999"), "\(written)")

      // apphost cli follows the redirects too.
      var redirected = false
      for index in 0..<10 {
        let cli = try await project.succeed("cli", "cache", "--", "GET", "key:\(index)")
        #expect(cli.output.hasSuffix("\(index)\n"), "\(cli.output)")
        redirected = redirected || cli.output.contains("-> Redirected to slot")
      }
      #expect(redirected, "ten keys, and none on another shard than the first node's")

      // Every primary holds some of the keys; the roles are in ps.
      let rows = try await project.ps()
      let primaries = rows.filter { $0.value["role"] == "cluster primary" }
      let replicas = rows.filter { $0.value["role"] == "cluster replica" }
      #expect(primaries.count == 3 && replicas.count == 3, "\(rows)")
      #expect(rows.values.allSatisfy { $0["health"] == "healthy" }, "\(rows)")
      var total = 0
      for (name, row) in primaries {
        let port = ReplicaTests.port(try #require(row["endpoint"]))
        let size = Int(try await Self.redis(port, "DBSIZE")) ?? 0
        #expect(size > 200, "\(name) holds \(size) keys: the keys are spread over every shard")
        total += size
      }
      #expect(total == 1001)

      // Kill the primary that serves "greeting": its replica takes over, the client carries on.
      let slot = try await Self.redis(first, "CLUSTER", "KEYSLOT", "greeting")
      let found = try await primaryPort(ofSlot: Int(slot) ?? -1, asking: first)
      let owner = try #require(found, "no primary serves slot \(slot)")
      if engine == "native" {
        let info = try await Self.redis(owner, "INFO", "server")
        let pid = try #require(processID(fromInfo: info))
        kill(pid, SIGKILL)
      } else {
        let row = try #require(rows.values.first { $0["endpoint"] == "127.0.0.1:\(owner)" }, "\(rows)")
        let killed = try await execute(engine, ["kill", try #require(row["container"])])
        #expect(killed.status == 0, "\(killed)")
      }
      let carriedOn = try await Self.python(
        nodes,
        """
        deadline = time.time() + 30
        while True:
            try:
                print('read', r.get('greeting'), r.get('key:1')); r.set('after', 'failover'); print('wrote'); break
            except Exception as error:
                if time.time() > deadline: raise
                time.sleep(0.2)
        """)
      #expect(carriedOn.output.contains("read hello 1") && carriedOn.output.contains("wrote"), "\(carriedOn)")
      let promoted = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
        try await primaryPort(ofSlot: Int(slot) ?? -1, asking: first)
      } until: {
        $0 != nil && $0 != owner
      }
      #expect(promoted != nil && promoted != owner, "a replica took over slot \(slot) from \(owner)")

      // down keeps the volumes: up brings the killed node back, the cluster forms again with all the data.
      try await project.succeed("down")
      let again = try await project.succeed("up", "-d", "--timeout", "300")
      #expect(again.output.contains("cluster ready"), "\(again.output)")
      let nodesAgain = try #require(try await project.variables()["CACHE_CLUSTER_NODES"])
      let kept = try await Self.python(
        nodesAgain,
        "print(r.get('greeting'), r.get('after'), sum(1 for i in range(1000) if r.get(f'key:{i}') == str(i)))")
      #expect(kept.output.contains("hello failover 1000"), "\(kept)")
      let after = try await project.ps()
      #expect(after.values.filter { $0["role"] == "cluster primary" }.count == 3, "\(after)")

      try await project.downLeavesNothing()
    }
  }

  /// The compose output of a cluster runs on docker-compose and podman-compose: its `cache-cluster` service
  /// forms the cluster once the nodes answer and ends with 0, a program in a container follows the
  /// redirects by the nodes' service names and writes 100 keys over every shard; the Kubernetes output has
  /// the Job that forms it.
  @Test(arguments: PublishTests.composeTools)
  func publishedClusterFormsOnCompose(tool: String, engine: String) async throws {
    try await EngineProject.run(engine: engine, "cluster-compose") { project in
      let registry = ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] ?? "docker.io"
      let cli = "redis-cli -c -h cache -p $CACHE_PORT"
      let program =
        "export REDISCLI_AUTH=$CACHE_PASSWORD; until \(cli) SET from-program yes | grep -q OK; do sleep 0.5; done; "
        + "i=0; while [ $i -lt 100 ]; do i=$((i+1)); \(cli) SET key:$i $i >/dev/null; done; "
        + "\(cli) SET done yes; exec sleep 600"
      project.manifest(
        #"""
        "cache": {"type": "redis", "password": "pw", "dataVolume": true, "cluster": {"shards": 3, "replicasPerShard": 1}},
        "writer": {"type": "executable", "command": "sh", "args": ["-c", "\#(program)"],
          "image": "\#(registry)/library/redis:8.6", "references": ["cache"]}
        """#)
      try await project.succeed("publish", "compose", "-o", "deploy")
      let memory = try #require(project.folder.read(".apphost/ports.json"))
      let remembered = (try? JSONSerialization.jsonObject(with: Data(memory.utf8)) as? [String: Int]) ?? [:]
      let ports = (["cache"] + (2...6).map { "cache-node-\($0)" }).compactMap { remembered[$0] }.map(String.init)
      try #require(ports.count == 6, "\(remembered)")
      let compose = ["-f", "deploy/docker-compose.yml", "-p", project.name.replacing("-", with: "")]
      try await PublishTests.withComposeProject(tool, compose, engine: engine, in: project.path) {
        // The nodes are published on their own ports; the host asks each one directly (they tell clients
        // their service names, which only the project's containers resolve).
        let done = try await eventually(timeout: .seconds(240), every: .milliseconds(500)) {
          var answers: [String] = []
          for port in ports { answers.append(try await project.redis(port: port, password: "pw", "GET", "done")) }
          return answers
        } until: {
          $0.contains("yes")
        }
        if !done.contains("yes") {
          // What the program and the containers say, for the record (a podman-compose run wrote nothing).
          let logs = try await execute(tool, compose + ["logs", "writer"], in: project.path)
          let containers = try await execute(engine, ["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
          Issue.record("the program did not write through the cluster: \(done)\n\(logs)\n\(containers)")
        }
        var total = 0
        var primaries = 0
        for port in ports where try await project.redis(port: port, password: "pw", "ROLE").hasPrefix("master") {
          primaries += 1
          let size = Int(try await project.redis(port: port, password: "pw", "DBSIZE")) ?? 0
          #expect(size > 10, "a primary holds \(size) of the 102 keys")
          total += size
        }
        #expect(primaries == 3 && total == 102, "\(primaries) primaries hold \(total) keys")
        let info = try await project.redis(port: ports[0], password: "pw", "CLUSTER", "INFO")
        #expect(info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:6"), "\(info)")
        let forming = try await execute(
          engine,
          [
            "ps", "-a", "--filter", "label=com.docker.compose.service=cache-cluster", "--filter",
            "label=com.docker.compose.project=\(compose[3])", "--format", "{{.Status}}",
          ])
        #expect(forming.output.contains("Exited (0)"), "\(forming)")
      }

      // The same project for Kubernetes: the nodes and the Job that forms them (PublishTests validates such
      // output).
      let kubernetes = try await project.apphost("publish", "kubernetes", "-o", "k8s")
      #expect(kubernetes.status == 0, "\(kubernetes)")
      #expect(kubernetes.output.contains("k8s/cache-cluster.yaml"), "\(kubernetes)")
    }
  }

  /// The port of the primary that serves `slot`, as `CLUSTER NODES` of the node on `port` says.
  func primaryPort(ofSlot slot: Int, asking port: String) async throws -> String? {
    let nodes = try await Self.redis(port, "CLUSTER", "NODES")
    for line in nodes.split(whereSeparator: \.isNewline) {
      let fields = line.split(separator: " ")
      guard fields.count >= 9, fields[2].contains("master"), !fields[2].contains("fail") else { continue }
      for range in fields.dropFirst(8) where !range.hasPrefix("[") {
        let bounds = range.split(separator: "-").compactMap { Int($0) }
        if let low = bounds.first, slot >= low && slot <= (bounds.last ?? low) {
          return fields[1].split(separator: "@").first?.split(separator: ":").last.map(String.init)
        }
      }
    }
    return nil
  }
}
