import Foundation
import Testing

@testable import AppHostKit

#if canImport(Glibc)
  import Glibc
#endif

/// `"cluster"` on a redis or valkey cache: the nodes planned, their settings, variables, what validation
/// refuses, and how apphost decides to form the cluster from what the nodes say (`ClusterForming.decide`).
@Suite struct ClusterPlanTests {
  static let manifest =
    #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": "s3cret\"pw", "dataVolume": true, "cluster": {"shards": 3, "replicasPerShard": 1}}, "api": {"type": "executable", "command": "/bin/true", "references": ["cache"]}}}"#

  @Test func aClusterPlansOneServerPerNodeEachWithItsVolume() throws {
    let plan = try plan(Self.manifest, native: true)
    let nodes = ["cache", "cache-node-2", "cache-node-3", "cache-node-4", "cache-node-5", "cache-node-6"]
    #expect(plan.containers.map(\.resource) == nodes)
    #expect(plan.stages.first == nodes, "every node starts at once")
    #expect(plan.clusters == [ClusterPlan(resource: "cache", nodes: nodes, shards: 3, replicasPerShard: 1)])
    #expect(
      plan.volumes.map(\.name) == ["shop-cache-data"] + nodes.dropFirst().map { "shop-cache-data-\($0.dropFirst(6))" })
    for node in nodes {
      let container = try #require(plan.container(node))
      #expect(container.clusterOf == "cache")
      #expect(container.health == .clusterNode(password: .secret("s3cret\"pw")))
      #expect(container.health.startup == .resp(password: .secret("s3cret\"pw")), "up waits for PING, then forms")
      #expect(container.server?.cluster == true)
      #expect(container.mounts.map(\.source) == [.volume(plan.volumes.first { $0.resource == node }!.name)])
      let launch = NativeLaunch.make(
        server: try #require(container.server), program: "/usr/bin/redis-server", port: 50001, dataFolder: "/d",
        secretFile: "/s.conf")
      #expect(launch.arguments == ["/usr/bin/redis-server", "/s.conf"], "the password is in no argument")
      let contents = try #require(launch.secretFileContents)
      for line in [
        "cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 2000", "bind 127.0.0.1",
        #"requirepass "s3cret\"pw""#, #"masterauth "s3cret\"pw""#,
      ] {
        #expect(contents.contains(line + "\n"), "\(line) in \(contents)")
      }
    }
    #expect(Set(plan.containers.map(\.configHash)).count == 6)
    #expect(try plan.closure(of: ["cache-node-4"]) == Set(nodes))
    #expect(try plan.closure(of: ["api"]) == Set(nodes + ["api"]))
  }

  @Test func programsGetEveryNode() throws {
    let plan = try plan(Self.manifest, native: true)
    let api = try #require(plan.executable("api"))
    let ports = Dictionary(
      uniqueKeysWithValues: (plan.clusters.first?.nodes ?? []).enumerated().map { ($1, 50001 + $0) })
    let variables = Dictionary(
      uniqueKeysWithValues: try ConnectionVariables.reveal(api.environment, ports: ports).map { ($0.name, $0.value) })
    let all = (50001...50006).map { "127.0.0.1:\($0)" }.joined(separator: ",")
    #expect(variables["CACHE_CLUSTER_NODES"] == all)
    #expect(variables["ConnectionStrings__cache"] == all + #",password=s3cret"pw"#)
    #expect(variables["CACHE_PORT"] == "50001")
    #expect(variables["CACHE_REPLICAS"] == nil)
  }

  @Test func inAContainerEachNodeListensOnThePortItIsPublishedOnAndTellsClients127001() throws {
    let plan = try plan(Self.manifest)
    #expect(plan.network?.name == "shop", "the nodes' cluster bus runs on the project network")
    for (index, node) in (plan.clusters.first?.nodes ?? []).enumerated() {
      let container = try #require(plan.container(node))
      let port = 7001 + index
      #expect(container.containerPort == port && container.hostPort == port)
      let arguments = container.runArguments(flavor: .docker, owner: nil)
      #expect(arguments.contains(["--publish", "127.0.0.1:\(port):\(port)"]), "\(arguments)")
      let command = try #require(arguments.last)
      #expect(
        command.contains(
          "--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 "
            + "--repl-diskless-sync-delay 0 --port \(port) --cluster-announce-hostname 127.0.0.1 "
            + "--cluster-preferred-endpoint-type hostname"), "\(command)")
      #expect(command.contains("masterauth"), "any node may become a replica")
      #expect(!arguments.joined(separator: " ").contains("s3cret"))
    }
  }

  /// Both UIs run on the host's network and are given the first node at 127.0.0.1 and its own port, from
  /// which they find the others (RedisInsight by itself, Redis Commander told `isCluster`).
  @Test func theUIsReachTheFirstNodeAtItsOwnPort() throws {
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": false, "cluster": true}, "insight": {"type": "redisinsight"}, "commander": {"type": "rediscommander"}}}"#
    )
    let insight = try #require(plan.container("insight"))
    #expect(insight.hostNetwork && insight.environment["RI_REDIS_HOST1"]?.revealed() == "127.0.0.1")
    #expect(insight.environment["RI_REDIS_PORT1"]?.revealed() == "7001", "\(insight.environment)")
    let commander = try #require(plan.container("commander"))
    #expect(commander.hostNetwork && commander.environment["REDIS_HOSTS"] == nil)
    #expect(
      commander.command.last?.contains(
        #"{"label":"cache","host":"127.0.0.1","port":7001,"dbIndex":0,"isCluster":true}"#)
        == true, "\(commander.command)")
    // Published, on the project network, by the node's service name.
    let published = try AppHostKitTests.plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": false, "cluster": true}, "commander": {"type": "rediscommander"}}}"#,
      publishing: true)
    let publishedCommander = try #require(published.container("commander"))
    #expect(!publishedCommander.hostNetwork)
    #expect(
      publishedCommander.command.last?.contains(#""host":"cache","port":7001,"dbIndex":0,"isCluster":true"#) == true)
  }

  @Test func aChosenNodePortTakenByAnotherProcessNamesThePortMemory() async throws {
    // A listening socket stands for the other process.
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, length) == 0 && listen(descriptor, 1) == 0 && getsockname(descriptor, $0, &length) == 0
      }
    }
    try #require(bound)
    let taken = Int(UInt16(bigEndian: address.sin_port))
    let loaded = try load(Self.manifest)
    var context = PlanContext(generatedPasswords: [:])
    context.listeningPorts = Dictionary(
      uniqueKeysWithValues: Planner.clusterNodeNames(of: "cache", count: 6).enumerated().map {
        ($1, $1 == "cache-node-3" ? taken : 7001 + $0)
      })
    let planned = try Planner.plan(loaded, context: context)
    #expect(planned.container("cache-node-3")?.hostPortChosen == true)
    let engine = FakeEngine()
    await #expect {
      try await LauncherTests.start(LauncherTests.launcher(planned, engine), engine)
    } throws: { error in
      guard case AppHostError.clusterPortInUse(let port, let node, let memory) = error else { return false }
      let message = (error as? AppHostError)?.errorDescription ?? ""
      return port == taken && node == "cache-node-3" && memory.hasSuffix(".apphost/ports.json")
        && message.contains("remove \"cache-node-3\" from") && message.contains("its volume and data stay")
    }
    #expect(engine.containerNames.isEmpty, "nothing starts")
  }

  @Test func aClustersPortsAreChosenOnceAndRememberedAtMost55535() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(UUID())").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let memory = PortMemory(state: StateDirectory(projectDirectory: folder))
    let manifest = try load(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "hostPort": 7100, "cluster": {"shards": 3, "replicasPerShard": 0}}}}"#
    ).manifest
    let first = try memory.listeningPorts(manifest)
    #expect(first["cache"] == 7100, "the manifest's hostPort is the first node's")
    #expect(first.count == 3 && Set(first.values).count == 3)
    #expect(first.values.allSatisfy { $0 <= 55535 })
    #expect(try memory.listeningPorts(manifest) == first, "every later command plans the same ports")
    #expect(memory.load()["cache-node-2"] == first["cache-node-2"])
  }

  @Test(arguments: [
    (
      #"{"resources": {"c": {"type": "redis", "cluster": {"shards": 2}}}}"#, "resources.c.cluster.shards", "from 3 to 6"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "cluster": {"replicasPerShard": 3}}}}"#,
      "resources.c.cluster.replicasPerShard", "from 0 to 2"
    ),
    (#"{"resources": {"c": {"type": "redis", "cluster": {"nodes": 3}}}}"#, "resources.c.cluster.nodes", "unknown key"),
    (#"{"resources": {"c": {"type": "redis", "cluster": 3}}}"#, "resources.c.cluster", "true or {"),
    (#"{"resources": {"c": {"type": "garnet", "cluster": true}}}"#, "resources.c.cluster", "Garnet clusters"),
    (
      #"{"resources": {"c": {"type": "redis", "cluster": true, "replicas": 1}}}"#, "resources.c.replicas",
      "replicasPerShard"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "cluster": true, "dataBindMount": {"source": "./d"}}}}"#,
      "resources.c.cluster", "a volume per node"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "cluster": true, "seed": "./s.redis"}}}"#,
      "resources.c.seed", "cluster client"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "cluster": true}, "c-node-2": {"type": "redis"}}}"#,
      "resources.c-node-2", "a node of the cluster c"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "cluster": true, "sentinel": true}}}"#, "resources.c.sentinel",
      "a cluster promotes its replicas itself"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "replicas": 1, "tls": true, "sentinel": true}}}"#,
      "resources.c.sentinel", "does not run sentinels over TLS yet"
    ),
  ])
  func validationRefuses(_ text: String, path: String, message: String) {
    let found = diagnostics(text).filter { $0.severity == .error }
    #expect(
      found.contains { $0.path.description == path && $0.message.contains(message) },
      "\(found.map { "\($0.path): \($0.message)" })")
  }

  @Test func trueIsThreeShardsWithOneReplicaEach() throws {
    let plan = try plan(#"{"name": "shop", "resources": {"c": {"type": "valkey", "cluster": true}}}"#, native: true)
    #expect(plan.clusters.first?.nodes.count == 6)
    let layout = ClusterPlan(resource: "c", nodes: ["a", "b", "c", "d", "e"], shards: 3, replicasPerShard: 0)
    #expect(layout.slotRange(shard: 0) == 0...5460)
    #expect(layout.slotRange(shard: 1) == 5461...10921)
    #expect(layout.slotRange(shard: 2) == 10922...16383)
    let six = ClusterPlan(resource: "c", nodes: (1...6).map { "n\($0)" }, shards: 3, replicasPerShard: 1)
    #expect((0..<6).map(six.primaryIndex(ofNode:)) == [nil, nil, nil, 0, 1, 2])
  }

  // MARK: Forming

  static let layout = ClusterPlan(
    resource: "cache", nodes: ["cache", "cache-node-2", "cache-node-3", "cache-node-4"], shards: 3,
    replicasPerShard: 0)
  static let ports = [7001, 7002, 7003, 7004]

  static func entry(
    _ index: Int, port: Int? = nil, flags: Set<String> = ["master"], primary: String? = nil,
    slots: [ClosedRange<Int>] = []
  ) -> ClusterForming.Entry {
    ClusterForming.Entry(id: "id\(index)", port: port ?? ports[index], flags: flags, primaryID: primary, slots: slots)
  }

  /// Node `index`'s view: itself (`myself`) and the `known` others.
  static func view(
    _ index: Int, knows known: [Int], slots: [[ClosedRange<Int>]] = [[], [], [], []], replicaOf: [Int: Int] = [:],
    ok: Bool = false, linkUp: Bool? = nil
  ) -> ClusterForming.NodeView {
    let entries = ([index] + known).map { node in
      var flags: Set<String> = replicaOf[node] == nil ? ["master"] : ["slave"]
      if node == index { flags.insert("myself") }
      return entry(node, flags: flags, primary: replicaOf[node].map { "id\($0)" }, slots: slots[node])
    }
    return ClusterForming.NodeView(id: "id\(index)", stateOK: ok, entries: entries, linkUp: linkUp)
  }

  @Test func newNodesAreMetThenGivenSlotsThenReplicate() {
    let fourLayout = ClusterPlan(
      resource: "cache", nodes: Self.layout.nodes, shards: 3, replicasPerShard: 1)
    // Fresh: node 0 meets every other node.
    let fresh = (0..<4).map { Self.view($0, knows: []) }
    #expect(
      ClusterForming.decide(fourLayout, ports: Self.ports, views: fresh)
        == .act([.meet(node: 0, other: 1), .meet(node: 0, other: 2), .meet(node: 0, other: 3)]))
    // Meeting under way (a handshake entry at the port): wait, no second MEET.
    var meeting = fresh
    meeting[0].entries += [
      ClusterForming.Entry(id: "random", port: 7002, flags: ["handshake"], primaryID: nil, slots: [])
    ]
    if case .act(let actions) = ClusterForming.decide(fourLayout, ports: Self.ports, views: meeting) {
      #expect(!actions.contains(.meet(node: 0, other: 1)))
    }
    // Everyone knows everyone: the primaries take the slots.
    let met = (0..<4).map { index in Self.view(index, knows: (0..<4).filter { $0 != index }) }
    #expect(
      ClusterForming.decide(fourLayout, ports: Self.ports, views: met)
        == .act([
          .addSlots(node: 0, slots: 0...5460), .addSlots(node: 1, slots: 5461...10921),
          .addSlots(node: 2, slots: 10922...16383),
        ]))
    // Slots served (each says so of itself): the fourth node replicates the first shard's primary.
    let slots = [[0...5460], [5461...10921], [10922...16383], []]
    let served = (0..<4).map { index in Self.view(index, knows: (0..<4).filter { $0 != index }, slots: slots) }
    #expect(
      ClusterForming.decide(fourLayout, ports: Self.ports, views: served)
        == .act([.replicate(node: 3, primaryID: "id0")]))
    // A replica, every node ok: ready once the replica has its copy.
    let copying = (0..<4).map { index in
      Self.view(
        index, knows: (0..<4).filter { $0 != index }, slots: slots, replicaOf: [3: 0], ok: true,
        linkUp: index == 3 ? false : nil)
    }
    #expect(
      ClusterForming.decide(fourLayout, ports: Self.ports, views: copying)
        == .wait("cache-node-4 still copying from its primary"))
    var told = copying
    told[3].link = "at 10.89.0.2:7001, link down for 12 s"
    #expect(
      ClusterForming.decide(fourLayout, ports: Self.ports, views: told)
        == .wait("cache-node-4 still copying from its primary (at 10.89.0.2:7001, link down for 12 s)"))
    var ready = copying
    ready[3].linkUp = true
    #expect(
      ClusterForming.decide(fourLayout, ports: Self.ports, views: ready)
        == .ready(summary: "cluster_state:ok, 3 primaries serving 16384 slots, 1 replica"))
  }

  @Test func afterAFailoverTheReplicaServesAndTheOldPrimaryReplicatesIt() {
    let layout = ClusterPlan(resource: "cache", nodes: Self.layout.nodes, shards: 3, replicasPerShard: 1)
    // Node 3 took over shard 1; node 0 came back empty of slots as a primary: it replicates node 3.
    let slots = [[], [5461...10921], [10922...16383], [0...5460]]
    let views = (0..<4).map { index in Self.view(index, knows: (0..<4).filter { $0 != index }, slots: slots) }
    #expect(
      ClusterForming.decide(layout, ports: Self.ports, views: views) == .act([.replicate(node: 0, primaryID: "id3")]))
  }

  @Test func aNodeBackOnAnotherPortIsMetThere() {
    let slots = [[0...5460], [5461...10921], [10922...16383], []]
    var views = (0..<4).map { index in Self.view(index, knows: (0..<4).filter { $0 != index }, slots: slots) }
    // Node 2 now listens on 7010; the others know it at 7003.
    let ports = [7001, 7002, 7010, 7004]
    views[2].entries = views[2].entries.map { entry in
      var entry = entry
      if entry.id == "id2" { entry.port = 7010 }
      return entry
    }
    #expect(
      ClusterForming.decide(Self.layout, ports: ports, views: views)
        == .act([.meet(node: 0, other: 2), .meet(node: 1, other: 2), .meet(node: 3, other: 2)]))
  }

  @Test func aNodeInANewContainerIsMetAtItsNewAddress() {
    let slots = [[0...5460], [5461...10921], [10922...16383], []]
    var views = (0..<4).map { index in Self.view(index, knows: (0..<4).filter { $0 != index }, slots: slots) }
    for index in views.indices {
      views[index].entries = views[index].entries.map { entry in
        var entry = entry
        entry.host = entry.id == "id1" ? "10.89.0.7" : "10.89.0.\(entry.id.dropFirst(2))"
        return entry
      }
    }
    let hosts = ["10.89.0.0", "10.89.0.9", "10.89.0.2", "10.89.0.3"]
    #expect(
      ClusterForming.decide(Self.layout, ports: Self.ports, hosts: hosts, views: views)
        == .act([.meet(node: 0, other: 1), .meet(node: 2, other: 1), .meet(node: 3, other: 1)]))
  }

  @Test func nodesThatKeptDifferentStatesAreNotGuessedAt() {
    let slots = [[0...5460], [], [], []]
    let views = (0..<4).map { index in Self.view(index, knows: (0..<4).filter { $0 != index }, slots: slots) }
    guard case .failed(let reason) = ClusterForming.decide(Self.layout, ports: Self.ports, views: views) else {
      Issue.record("a cluster serving part of its slots is not formed over")
      return
    }
    #expect(reason.contains("5461 of the 16384 hash slots") && reason.contains("apphost down -v cache"))
  }

  @Test func clusterNodesLinesAreRead() {
    let text = """
      07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
      67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002,localhost master - 0 1426238316232 2 connected 5461-10922 11000 [11001->-abc]
      e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
      8ad1a9bc1a6fd0bf8f29e1c3e2a2bca1b4f1a3d2 :0@0 master,noaddr - 1426238316232 1426238316232 0 disconnected
      """
    let entries = ClusterForming.parseNodes(text)
    #expect(entries.count == 4)
    #expect(entries[0].isReplica && entries[0].primaryID == "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
    #expect(
      entries[1].port == 30002 && entries[1].slots == [5461...10922, 11000...11000] && entries[1].slotCount == 5463)
    #expect(entries[2].flags.contains("myself") && entries[2].slots == [0...5460])
    #expect(entries[3].port == nil && entries[3].isPending)
  }
}

/// `publish compose` of a cluster: its nodes by their own ports and service names, a one-shot service that
/// forms it, programs waiting for that; `publish kubernetes` forms it with a Job.
@Suite struct ClusterPublishTests {
  static let manifest =
    #"{"name": "shop", "resources": {"cache": {"type": "valkey", "password": "pw", "cluster": {"shards": 3, "replicasPerShard": 0}}, "api": {"type": "executable", "command": "python3", "image": "python:3", "references": ["cache"]}}}"#

  @Test func composeFormsTheClusterOnceAndProgramsWaitForIt() throws {
    let files = try PublishComposeTests().compose(Self.manifest)
    let text = try #require(files[ComposeWriter.fileName]?.text)
    for (index, node) in ["cache", "cache-node-2", "cache-node-3"].enumerated() {
      let port = 7001 + index
      #expect(text.contains("  \(node):\n"))
      #expect(text.contains("    - \"127.0.0.1:\(port):\(port)\"\n"))
      #expect(
        text.contains("--port \(port) --cluster-announce-hostname \(node) --cluster-preferred-endpoint-type hostname"))
    }
    #expect(!text.contains("--cluster-announce-hostname 127.0.0.1"), "published nodes name themselves by service")
    #expect(text.contains("  cache-cluster:\n"))
    #expect(
      text.contains(
        "valkey-cli --no-auth-warning \\\"$$@\\\"; }"), "the forming service uses the image's client")
    #expect(
      text.contains(
        "cli --cluster create cache:7001 cache-node-2:7002 cache-node-3:7003 --cluster-replicas 0 --cluster-yes"))
    #expect(text.contains("    restart: \"no\"\n"))
    #expect(
      text.contains("    depends_on:\n      cache-cluster:\n        condition: service_completed_successfully\n"),
      "programs wait until the cluster is formed")
    #expect(files["cache-cluster.env"]?.text.contains("VALKEY_PASSWORD=pw") == true)
    #expect(
      files["api.env"]?.text.contains(
        "ConnectionStrings__cache=cache:7001,cache-node-2:7002,cache-node-3:7003,password=pw") == true)
    #expect(text.contains("      CACHE_CLUSTER_NODES: \"cache:7001,cache-node-2:7002,cache-node-3:7003\"\n"))
  }

  @Test func kubernetesFormsTheClusterWithAJob() throws {
    let files = try PublishKubernetesTests().kubernetes(Self.manifest)
    for (index, node) in ["cache", "cache-node-2", "cache-node-3"].enumerated() {
      let port = 7001 + index
      let text = try #require(files["\(node).yaml"])
      #expect(text.contains("kind: StatefulSet"))
      #expect(
        text.contains("--port \(port) --cluster-announce-hostname \(node) --cluster-preferred-endpoint-type hostname"))
      // The other nodes reach its bus through its Service, before it is ready too.
      #expect(
        text.contains("  - name: bus\n    port: \(port + 10000)\n    targetPort: \(port + 10000)\n"), "\(text)")
      #expect(text.contains("        - name: bus\n          containerPort: \(port + 10000)\n"), "\(text)")
      let client = try #require(text.components(separatedBy: "---\n").last)
      #expect(client.contains("name: \(node)\n") && client.contains("publishNotReadyAddresses: true"), "\(client)")
    }
    let job = try #require(files["cache-cluster.yaml"])
    #expect(job.contains("kind: Job") && job.contains("restartPolicy: Never"))
    #expect(
      job.contains(
        "cli --cluster create cache:7001 cache-node-2:7002 cache-node-3:7003 --cluster-replicas 0 --cluster-yes"))
    #expect(job.contains("i=$$((i+1))"), "Kubernetes would expand $(...) in args: \(job)")
    #expect(job.contains("name: VALKEY_PASSWORD\n") && job.contains("name: shop-cache-password\n"), "\(job)")
    #expect(files["kustomization.yaml"]?.contains("- cache-cluster.yaml\n") == true)
    #expect(files["kustomization.yaml"]?.contains("formed once by the Job cache-cluster") == true)
    #expect(
      files["api.yaml"]?.contains("cache:7001,cache-node-2:7002,cache-node-3:7003,password=$(CACHE_PASSWORD)") == true)
  }

}
