import Foundation
import Testing

@testable import AppHostKit

/// `"replicas": N` on a redis or valkey cache: the nodes planned, their commands, volumes, variables,
/// what validation refuses, and what `up` does with them on the in-memory engine.
@Suite struct ReplicaPlanTests {
  static let manifest =
    #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": "s3cret\"pw", "dataVolume": true, "replicas": 2}, "api": {"type": "executable", "command": "/bin/true", "references": ["cache"]}}}"#

  @Test func aCacheWithReplicasPlansOneContainerPerNode() throws {
    let plan = try plan(Self.manifest)
    #expect(plan.containers.map(\.containerName) == ["shop-cache", "shop-cache-replica-1", "shop-cache-replica-2"])
    #expect(plan.stages.first == ["cache", "cache-replica-1", "cache-replica-2"])
    #expect(plan.network?.name == "shop", "replicas reach their primary by its name on the project network")
    #expect(plan.volumes.map(\.name) == ["shop-cache-data", "shop-cache-data-replica-1", "shop-cache-data-replica-2"])
    let primary = try #require(plan.container("cache"))
    #expect(primary.replicaOf == nil && primary.health == .resp(password: .secret("s3cret\"pw")))
    #expect(
      primary.command.last?.hasSuffix("--save 60 1 --repl-diskless-sync-delay 0 < /tmp/apphost-redis.conf") == true)
    for index in 1...2 {
      let replica = try #require(plan.container("cache-replica-\(index)"))
      #expect(replica.replicaOf == "cache")
      #expect(replica.server?.replicaOf == "shop-cache")
      #expect(replica.image == primary.image && replica.lifetime == primary.lifetime)
      #expect(replica.health == .replica(password: .secret("s3cret\"pw")))
      #expect(replica.mounts.map(\.source) == [.volume("shop-cache-data-replica-\(index)")])
      #expect(replica.labels.contains(Label(LabelKey.replicaOf, "cache")))
      #expect(replica.labels.contains(Label(LabelKey.resource, "cache-replica-\(index)")))
      #expect(replica.seed == nil)
      let arguments = replica.runArguments(flavor: .docker, owner: nil)
      #expect(!arguments.joined(separator: " ").contains("s3cret"), "the password is in no argument")
      #expect(arguments.contains(["--env", "REDIS_PASSWORD"]))
      #expect(arguments.contains(["--network", "shop", "--network-alias", "cache-replica-\(index)"]))
      let command = try #require(arguments.last)
      #expect(
        command.contains(
          #"printf 'requirepass "%s"\nmasterauth "%s"\n' "$(printf '%s' "$REDIS_PASSWORD" | sed 's/[\\"]/\\&/g')" "$(printf '%s' "$REDIS_PASSWORD" | sed 's/[\\"]/\\&/g')" > /tmp/apphost-redis.conf"#
        ))
      #expect(
        command.hasSuffix(
          "exec docker-entrypoint.sh redis-server - --replicaof cache 6379 --save 60 1 < /tmp/apphost-redis.conf"))
      #expect(replica.engineEnvironment == ["REDIS_PASSWORD": "s3cret\"pw"])
    }
    #expect(
      Set(plan.containers.map(\.configHash)).count == 3, "each node has its own hash: a changed count touches no other")
  }

  @Test func aValkeyReplicaWithoutPasswordNamesItsPrimaryOnly() throws {
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "valkey", "password": false, "replicas": 1}}}"#)
    let replica = try #require(plan.container("cache-replica-1"))
    #expect(replica.command.last == "exec valkey-server --replicaof cache 6379 --save ''")
    #expect(replica.health == .replica(password: nil))
    #expect(plan.volumes.isEmpty)
  }

  @Test func nativeReplicasReadTheirPrimarysPortAndPasswordFromTheirSettingsFile() throws {
    let plan = try plan(Self.manifest, native: true)
    #expect(plan.network == nil)
    let replica = try #require(plan.container("cache-replica-1")?.server)
    let launch = NativeLaunch.make(
      server: replica, program: "/usr/bin/redis-server", port: 50002, dataFolder: "/d", secretFile: "/s.conf",
      primaryPort: 50001)
    #expect(launch.arguments == ["/usr/bin/redis-server", "/s.conf"])
    let contents = try #require(launch.secretFileContents)
    #expect(contents.contains("replicaof 127.0.0.1 50001\n"))
    #expect(contents.contains(#"masterauth "s3cret\"pw""#))
    #expect(contents.contains(#"requirepass "s3cret\"pw""#))
    #expect(contents.contains("port 50002\n"))
    let primary = try #require(plan.container("cache")?.server)
    let primaryLaunch = NativeLaunch.make(
      server: primary, program: "/usr/bin/redis-server", port: 50001, dataFolder: "/d", secretFile: "/s.conf")
    #expect(primaryLaunch.secretFileContents?.contains("replicaof") == false)
  }

  @Test func programsGetEveryNodeAndTheReplicasAddresses() throws {
    let plan = try plan(Self.manifest)
    let api = try #require(plan.executable("api"))
    let ports = ["cache": 50001, "cache-replica-1": 50002, "cache-replica-2": 50003]
    let variables = Dictionary(
      uniqueKeysWithValues: try ConnectionVariables.reveal(api.environment, ports: ports).map { ($0.name, $0.value) })
    #expect(variables["CACHE_REPLICAS"] == "127.0.0.1:50002,127.0.0.1:50003")
    #expect(
      variables["ConnectionStrings__cache"] == #"127.0.0.1:50001,127.0.0.1:50002,127.0.0.1:50003,password=s3cret"pw"#)
    #expect(variables["CACHE_PORT"] == "50001")
    #expect(variables["CACHE_HOST"] == "127.0.0.1")
    // A replica that is not running yet: the variables cannot be given.
    #expect(throws: AppHostError.self) {
      try ConnectionVariables.reveal(api.environment, ports: ["cache": 50001, "cache-replica-1": 50002])
    }
    // Without replicas nothing changes.
    let plain = try AppHostKitTests.plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": "pw"}}}"#)
    let names = ConnectionEnvironment.variables(for: plain.endpoints).map(\.name)
    #expect(!names.contains("CACHE_REPLICAS"))
    #expect(plain.endpoint("cache")?.connectionString.masked(ports: ["cache": 1]) == "127.0.0.1:1,password=********")
  }

  @Test func upSelectingTheCacheBringsItsReplicas() throws {
    let plan = try plan(Self.manifest)
    #expect(try plan.closure(of: ["cache"]) == ["cache", "cache-replica-1", "cache-replica-2"])
    #expect(try plan.closure(of: ["cache-replica-2"]) == ["cache", "cache-replica-1", "cache-replica-2"])
    #expect(try plan.closure(of: ["api"]).count == 4)
  }

  @Test(arguments: [
    (
      #"{"resources": {"c": {"type": "garnet", "replicas": 1}}}"#, "resources.c.replicas",
      "Garnet has no read replicas"
    ),
    (#"{"resources": {"c": {"type": "redis", "replicas": 0}}}"#, "resources.c.replicas", "0 is out of range"),
    (#"{"resources": {"c": {"type": "redis", "replicas": 6}}}"#, "resources.c.replicas", "from 1 to 5"),
    (#"{"resources": {"c": {"type": "redis", "replicas": "2"}}}"#, "resources.c.replicas", "from 1 to 5"),
    (
      #"{"resources": {"c": {"type": "redis"}, "ui": {"type": "rediscommander", "replicas": 1}}}"#,
      "resources.ui.replicas", "unknown key \"replicas\""
    ),
    (#"{"resources": {"c": {"type": "garnet", "sentinel": true}}}"#, "resources.c.sentinel", "Garnet has no Sentinel"),
    (
      #"{"resources": {"c": {"type": "redis", "sentinel": true}, "c-sentinel-2": {"type": "redis"}}}"#,
      "resources.c-sentinel-2", "a sentinel of c"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "replicas": 1, "dataBindMount": {"source": "./d"}}}}"#,
      "resources.c.replicas", "use \"dataVolume\": true"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "replicas": 1, "dataVolume": {"readOnly": true}, "persistence": false}}}"#,
      "resources.c.replicas", "read-only"
    ),
    (
      #"{"resources": {"c": {"type": "redis", "replicas": 1}, "c-replica-1": {"type": "redis"}}}"#,
      "resources.c-replica-1", "the name of a read replica of c"
    ),
  ])
  func validationRefuses(_ text: String, path: String, message: String) {
    let found = diagnostics(text).filter { $0.severity == .error }
    #expect(
      found.contains { $0.path.description == path && $0.message.contains(message) },
      "\(found.map { "\($0.path): \($0.message)" })")
  }

  @Test func aReplicasReadinessNeedsItsLinkUp() {
    #expect(
      Probe.replicationOutcome("# Replication\r\nrole:slave\r\nmaster_host:cache\r\nmaster_link_status:up\r\n")
        == .ready)
    #expect(
      Probe.replicationOutcome(
        "role:slave\r\nmaster_host:cache\r\nmaster_port:6379\r\nmaster_link_status:down\r\nmaster_sync_in_progress:1\r\n"
      )
        == .notReady("its link to the primary cache:6379 is down, copying the dataset"))
    if case .failed = Probe.replicationOutcome("role:master\r\nconnected_slaves:0\r\n") {
    } else {
      Issue.record("a primary is no replica")
    }
  }

  @Test func upStartsReplicasAfterThePrimaryAndAFewerCountRemovesTheRest() async throws {
    let engine = FakeEngine()
    let first = try plan(Self.manifest)
    _ = try await LauncherTests.start(LauncherTests.launcher(first, engine), engine)
    #expect(engine.containerNames == ["shop-cache", "shop-cache-replica-1", "shop-cache-replica-2"])
    let runs = engine.journal.filter { $0.hasPrefix("run ") }
    #expect(runs.first == "run shop-cache", "\(runs)")
    #expect(
      engine.volumeList == ["shop-cache-data", "shop-cache-data-replica-1", "shop-cache-data-replica-2"])

    let fewer = try plan(Self.manifest.replacing(#""replicas": 2"#, with: #""replicas": 1"#))
    let reconciliation = try Reconciliation.plan(
      fewer, observed: try await engine.containers(project: "shop"), selection: [])
    #expect(reconciliation.steps.map(\.resource).sorted() == ["cache", "cache-replica-1", "cache-replica-2"])
    #expect(reconciliation.removals.map(\.name) == ["shop-cache-replica-2"])
    _ = try await LauncherTests.start(LauncherTests.launcher(fewer, engine), engine)
    #expect(engine.containerNames == ["shop-cache", "shop-cache-replica-1"])
    #expect(engine.volumeList.count == 3, "a removed replica's volume is kept, as every volume is, until down -v")
  }
}
