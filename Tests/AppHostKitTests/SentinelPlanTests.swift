import Foundation
import Testing

@testable import AppHostKit

/// `"sentinel": true` on a redis or valkey cache: the three sentinels planned beside the primary and its
/// replicas, their settings files, readiness, the variables programs get, and where apphost refuses them.
@Suite struct SentinelPlanTests {
  static let manifest =
    #"{"name": "shop", "engine": "native", "resources": {"cache": {"type": "redis", "password": "s3cret\"pw", "dataVolume": true, "replicas": 1, "sentinel": true}, "api": {"type": "executable", "command": "/bin/true", "references": ["cache"]}}}"#

  @Test func threeSentinelsWatchThePrimaryAndStartWithIt() throws {
    let plan = try plan(Self.manifest, native: true)
    #expect(
      plan.containers.map(\.resource) == [
        "cache", "cache-replica-1", "cache-sentinel-1", "cache-sentinel-2", "cache-sentinel-3",
      ])
    #expect(
      plan.stages.first == ["cache", "cache-replica-1", "cache-sentinel-1", "cache-sentinel-2", "cache-sentinel-3"])
    #expect(plan.sentinelCaches == ["cache"])
    #expect(plan.volumes.map(\.name) == ["shop-cache-data", "shop-cache-data-replica-1"], "sentinels keep no data")
    #expect(plan.servers(of: "cache").map(\.resource) == plan.containers.map(\.resource))
    // Starting one sentinel starts what it watches.
    #expect(try plan.closure(of: ["cache-sentinel-2"]).isSuperset(of: ["cache", "cache-replica-1"]))
    let primary = try #require(plan.container("cache"))
    #expect(primary.server?.watched == true && primary.server?.mayReplicate == true)
    #expect(primary.labels.contains(Label(LabelKey.replicationGroup, "cache")))
    #expect(plan.container("cache-replica-1")?.labels.contains(Label(LabelKey.replicationGroup, "cache")) == true)
    for index in 1...3 {
      let sentinel = try #require(plan.container("cache-sentinel-\(index)"))
      #expect(sentinel.sentinelOf == "cache")
      #expect(sentinel.labels.contains(Label(LabelKey.sentinelOf, "cache")))
      #expect(!sentinel.labels.contains { $0.key == LabelKey.replicationGroup })
      #expect(sentinel.containerPort == Planner.sentinelPort && sentinel.hostPort == nil)
      #expect(sentinel.mounts.isEmpty && !sentinel.savesBeforeStop)
      #expect(sentinel.lifetime == primary.lifetime && sentinel.image == primary.image)
      #expect(
        sentinel.health
          == .sentinel(password: .secret("s3cret\"pw"), master: "cache", replicas: 1, sentinels: 3))
      #expect(sentinel.server?.sentinel == SentinelSettings(master: "cache", primary: "shop-cache", quorum: 2))
    }
    #expect(Set(plan.containers.map(\.configHash)).count == 5)
  }

  @Test func aNativeSentinelReadsEverythingFromItsOwnWritableFile() throws {
    let plan = try plan(Self.manifest, native: true)
    let server = try #require(plan.container("cache-sentinel-1")?.server)
    let launch = NativeLaunch.make(
      server: server, program: "/usr/bin/redis-server", port: 50010, dataFolder: "/d", secretFile: "/s.conf",
      primaryPort: 50001)
    #expect(launch.arguments == ["/usr/bin/redis-server", "/s.conf", "--sentinel"], "no secret in the arguments")
    let lines = try #require(launch.secretFileContents).split(separator: "\n").map(String.init)
    #expect(lines.contains("bind 127.0.0.1"))
    #expect(lines.contains("port 50010"))
    #expect(lines.contains("sentinel monitor cache 127.0.0.1 50001 2"))
    #expect(lines.contains("sentinel down-after-milliseconds cache 2000"))
    #expect(lines.contains(#"requirepass "s3cret\"pw""#))
    #expect(lines.contains(#"sentinel sentinel-pass "s3cret\"pw""#))
    #expect(lines.contains(#"sentinel auth-pass cache "s3cret\"pw""#))
    let monitor = try #require(lines.firstIndex { $0.hasPrefix("sentinel monitor") })
    let authPass = try #require(lines.firstIndex { $0.hasPrefix("sentinel auth-pass") })
    #expect(monitor < authPass, "a master's settings follow its monitor line")
    // The primary authenticates to whichever replica the sentinels promote once it is back.
    let primary = try #require(plan.container("cache")?.server)
    let primaryLaunch = NativeLaunch.make(
      server: primary, program: "/usr/bin/redis-server", port: 50001, dataFolder: "/d", secretFile: "/s.conf")
    #expect(primaryLaunch.secretFileContents?.contains(#"masterauth "s3cret\"pw""#) == true)
    #expect(primaryLaunch.secretFileContents?.contains("replicaof") == false)
    // apphost config names what the port will be.
    #expect(
      NativeLaunch.described(server, resource: "cache-sentinel-1").contains(
        "sentinel monitor cache 127.0.0.1 {cache.port} 2"))
  }

  @Test func programsGetTheSentinelsAndTheMasterName() throws {
    let plan = try plan(Self.manifest, native: true)
    let api = try #require(plan.executable("api"))
    let ports = [
      "cache": 50001, "cache-replica-1": 50002, "cache-sentinel-1": 50011, "cache-sentinel-2": 50012,
      "cache-sentinel-3": 50013,
    ]
    let variables = Dictionary(
      uniqueKeysWithValues: try ConnectionVariables.reveal(api.environment, ports: ports).map { ($0.name, $0.value) })
    #expect(variables["CACHE_SENTINELS"] == "127.0.0.1:50011,127.0.0.1:50012,127.0.0.1:50013")
    #expect(variables["CACHE_SENTINEL_MASTER"] == "cache")
    #expect(variables["CACHE_PORT"] == "50001")
    #expect(variables["ConnectionStrings__cache"] == #"127.0.0.1:50001,127.0.0.1:50002,password=s3cret"pw"#)
    // Without "sentinel" there is neither.
    let plain = try AppHostKitTests.plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": "pw", "replicas": 1}}}"#)
    let names = ConnectionEnvironment.variables(for: plain.endpoints).map(\.name)
    #expect(!names.contains("CACHE_SENTINELS") && !names.contains("CACHE_SENTINEL_MASTER"))
  }

  @Test func inContainersEveryServerIsOnTheHostsNetworkAtItsChosenPort() throws {
    let plan = try plan(Self.manifest)
    #expect(plan.network == nil, "no container of the cache is on a project network")
    let ports = [
      "cache": 7001, "cache-replica-1": 7002, "cache-sentinel-1": 7003, "cache-sentinel-2": 7004,
      "cache-sentinel-3": 7005,
    ]
    for (resource, port) in ports {
      let container = try #require(plan.container(resource))
      #expect(container.hostNetwork && container.network == nil)
      #expect(container.containerPort == port && container.hostPort == port)
      #expect(container.hostPortChosen)
      #expect(container.labels.contains(Label(LabelKey.hostNetworkPort, "\(port)")))
      let arguments = container.runArguments(flavor: .podman, owner: nil)
      #expect(arguments.contains(["--network", "host"]) && !arguments.contains("--publish"), "\(arguments)")
      #expect(!arguments.joined(separator: " ").contains("s3cret"), "no password in the arguments")
    }
    let primary = try #require(plan.container("cache")?.command.last)
    #expect(primary.contains("--bind 127.0.0.1 --port 7001"), "\(primary)")
    #expect(primary.contains(#"printf 'requirepass "%s"\nmasterauth "%s"\n'"#), "it authenticates once it is a replica")
    let replica = try #require(plan.container("cache-replica-1")?.command.last)
    #expect(replica.contains("--replicaof 127.0.0.1 7001 --bind 127.0.0.1 --port 7002"), "\(replica)")
    let sentinel = try #require(plan.container("cache-sentinel-1")?.command.last)
    #expect(sentinel.contains("'bind 127.0.0.1' 'port 7003' 'sentinel monitor cache 127.0.0.1 7001 2'"), "\(sentinel)")
    #expect(
      sentinel.contains(
        #"printf 'requirepass "%s"\nsentinel sentinel-pass "%s"\nsentinel auth-pass cache "%s"\n' "$(printf '%s' "$REDIS_PASSWORD" | sed"#
      ), "\(sentinel)")
    #expect(
      sentinel.hasSuffix("> /tmp/apphost-sentinel.conf) && exec redis-server /tmp/apphost-sentinel.conf --sentinel"))
    // The records of such containers carry the port no engine lists.
    let record = ContainerRecord(
      id: "x", name: "shop-cache", labels: [LabelKey.hostNetworkPort: "7001"], environment: [:], state: .running,
      exitCode: 0, ports: [:], image: "")
    #expect(record.ports == [7001: 7001] && record.serverPort == 7001)
  }

  /// RedisInsight showing a cache sentinels watch runs on the host's network, bound to 127.0.0.1 at its
  /// chosen port: the sentinel and the master name in a pre-setup file its container writes (the password
  /// from its environment), the other caches at 127.0.0.1 and the host ports chosen for them. Published, it
  /// is on the project network and names the first sentinel by its service name.
  static let insightManifest =
    #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": "s3cret\"pw", "replicas": 1, "sentinel": true}, "other": {"type": "redis", "hostPort": 6390}, "open": {"type": "valkey", "password": false}, "ui": {"type": "redisinsight", "acceptTerms": true}, "commander": {"type": "rediscommander"}}}"#

  @Test func theUIsShowASentinelCacheFromTheHostsNetwork() throws {
    let plan = try plan(Self.insightManifest)
    let ui = try #require(plan.container("ui"))
    // cache, cache-replica-1, cache-sentinel-1..3 are 7001..7005; then ui, other (fixed), open, commander.
    #expect(ui.hostNetwork && ui.containerPort == 7006 && ui.hostPort == 7006 && ui.hostPortChosen)
    let environment = Dictionary(uniqueKeysWithValues: ui.environment.map { ($0.name, $0.value.masked()) })
    #expect(environment["RI_APP_HOST"] == "127.0.0.1" && environment["RI_APP_PORT"] == "7006")
    #expect(environment["RI_REDIS_HOST1"] == nil, "the sentinel cache comes from the file")
    #expect(environment["APPHOST_SENTINEL_PASSWORD1"] == Value.mask)
    #expect(environment["RI_PRE_SETUP_DATABASES_PATH"] == "/tmp/apphost-databases.json")
    #expect(environment["RI_REDIS_HOST2"] == "127.0.0.1" && environment["RI_REDIS_PORT2"] == "6390")
    #expect(environment["RI_REDIS_HOST3"] == "127.0.0.1" && environment["RI_REDIS_PORT3"] == "7007")
    #expect(environment["RI_REDIS_PASSWORD3"] == nil)
    let open = try #require(plan.container("open"))
    #expect(open.hostPort == 7007 && open.hostPortChosen && !open.hostNetwork)
    #expect(plan.container("other")?.hostPort == 6390 && plan.container("other")?.hostPortChosen == false)
    #expect(ui.entrypoint == "/bin/sh")
    let command = try #require(ui.command.last)
    #expect(
      command.hasPrefix(
        #"(umask 077 && printf '[{"name":"cache","host":"127.0.0.1","port":7003,"id":"1","password":"%s","sentinelMaster":{"name":"cache","password":"%s"}}]' "$(printf '%s' "$APPHOST_SENTINEL_PASSWORD1" | sed"#
      ), "\(command)")
    #expect(
      command.hasSuffix(
        "> /tmp/apphost-databases.json) && exec ./docker-entry.sh node redisinsight/api/dist/src/main"), "\(command)")
    let arguments = ui.runArguments(flavor: .docker, owner: nil)
    #expect(arguments.contains(["--network", "host"]) && !arguments.contains("--publish"))
    #expect(!arguments.joined(separator: " ").contains("s3cret"), "no password in the arguments")
    #expect(ui.engineEnvironment["APPHOST_SENTINEL_PASSWORD1"] == #"s3cret"pw"#)

    // Redis Commander: every connection in its configuration file, written before its entrypoint runs (under
    // its image's dumb-init); no REDIS_HOSTS.
    let commander = try #require(plan.container("commander"))
    #expect(commander.hostNetwork && commander.containerPort == 7008)
    let variables = Dictionary(uniqueKeysWithValues: commander.environment.map { ($0.name, $0.value.masked()) })
    #expect(variables["ADDRESS"] == "127.0.0.1" && variables["PORT"] == "7008" && variables["REDIS_HOSTS"] == nil)
    #expect(variables["APPHOST_PASSWORD1"] == Value.mask && variables["APPHOST_PASSWORD3"] == nil)
    #expect(commander.entrypoint == "/usr/bin/dumb-init" && commander.command.prefix(3) == ["--", "/bin/sh", "-c"])
    let script = try #require(commander.command.last)
    #expect(
      script.hasPrefix(
        #"(umask 077 && printf '{"connections":[{"label":"cache","host":"127.0.0.1","port":7003,"dbIndex":0,"password":"%s","sentinels":[{"host":"127.0.0.1","port":7003}],"sentinelName":"cache","sentinelPassword":"%s"},{"label":"other","host":"127.0.0.1","port":6390,"dbIndex":0,"password":"%s"},{"label":"open","host":"127.0.0.1","port":7007,"dbIndex":0}]}' "#
      ), "\(script)")
    #expect(
      script.hasSuffix(
        #" > "$HOME/config/local-$NODE_ENV.json") && exec /redis-commander/docker/entrypoint.sh"#), "\(script)")
    #expect(!commander.runArguments(flavor: .podman, owner: nil).joined(separator: " ").contains("s3cret"))

    let published = try PublishComposeTests().compose(Self.insightManifest)
    let compose = try #require(published[ComposeWriter.fileName]?.text)
    #expect(compose.contains(#"\"host\":\"cache-sentinel-1\",\"port\":26379,"#), "\(compose)")
    #expect(compose.contains("      RI_REDIS_HOST2: other\n      RI_REDIS_PORT2: \"6379\"\n"), "\(compose)")
    #expect(!compose.contains("RI_APP_HOST"), "\(compose)")
    #expect(published["ui.env"]?.text.contains(#"APPHOST_SENTINEL_PASSWORD1=s3cret"pw"#) == true)
  }

  /// Kubernetes: every server a StatefulSet with its own Service, found before it is ready (a sentinel is
  /// ready once it reaches the others), named by the servers and sentinels as on compose.
  @Test func kubernetesCarriesEveryServerWithAServiceOfItsOwn() throws {
    let files = try PublishKubernetesTests().kubernetes(Self.manifest)
    for server in ["cache", "cache-replica-1", "cache-sentinel-1", "cache-sentinel-2", "cache-sentinel-3"] {
      let text = try #require(files["\(server).yaml"], "\(files.keys.sorted())")
      #expect(text.contains("kind: StatefulSet"))
      let client = try #require(text.components(separatedBy: "---\n").last)
      #expect(client.contains("name: \(server)\n") && client.contains("publishNotReadyAddresses: true"), "\(client)")
    }
    let sentinel = try #require(files["cache-sentinel-2.yaml"])
    #expect(sentinel.contains("sentinel ckquorum cache | grep -q OK"))
    #expect(sentinel.contains("'sentinel announce-ip cache-sentinel-2'"), "\(sentinel)")
    #expect(sentinel.contains("$$(printf"), "Kubernetes would expand $(...) in args")
    #expect(files["cache-replica-1.yaml"]?.contains("--replica-announce-ip cache-replica-1") == true)
    #expect(files["kustomization.yaml"]?.contains("cache: watched by 3 sentinels") == true)
  }

  @Test func publishedEveryServerIsFoundByItsServiceName() throws {
    let loaded = try load(Self.manifest)
    var context = PlanContext(generatedPasswords: [:])
    context.publishing = true
    context.listeningPorts = ["cache": 7001, "cache-replica-1": 7002]
    let plan = try Planner.plan(loaded, context: context)
    #expect(plan.containers.allSatisfy { !$0.hostNetwork && $0.hostPort == nil })
    #expect(plan.container("cache")?.command.last?.contains("--replica-announce-ip cache --save") == true)
    #expect(
      plan.container("cache-replica-1")?.command.last?.contains(
        "--replicaof cache 6379 --replica-announce-ip cache-replica-1") == true)
    let sentinel = try #require(plan.container("cache-sentinel-2"))
    #expect(sentinel.containerPort == 26379)
    let command = try #require(sentinel.command.last)
    #expect(
      command.contains(
        "'port 26379' 'sentinel resolve-hostnames yes' 'sentinel announce-hostnames yes' "
          + "'sentinel announce-ip cache-sentinel-2' 'sentinel monitor cache cache 6379 2'"), "\(command)")
    let files = Dictionary(
      uniqueKeysWithValues: try Publisher.files(
        .compose, plan: plan, manifest: loaded.manifest, outputDirectory: "/projects/shop/deploy",
        options: PublishOptions(rememberedPorts: ["cache-sentinel-1": 7011])
      ).map { ($0.name, $0) })
    let text = try #require(files["docker-compose.yml"]?.text)
    #expect(text.contains("redis-cli -p 26379 sentinel ckquorum cache | grep -q OK"), "the sentinels' healthcheck")
    // ... which also waits, as `apphost up` does, until the sentinel knows the replica it would promote.
    #expect(
      text.contains(
        #"redis-cli -p 26379 sentinel master cache | grep -x -A 1 num-slaves | tail -n 1)\" -ge 1 ] 2>/dev/null""#),
      "\(text)")
    #expect(text.contains("\"127.0.0.1:7011:26379\""))
    // Programs in the project ask the sentinels by their service names.
    let inside = try #require(plan.networkEndpoints.first { $0.resource == "cache" })
    let variables = Dictionary(
      uniqueKeysWithValues: ConnectionEnvironment.variables(for: [inside]).map { ($0.name, $0.value.masked()) })
    #expect(variables["CACHE_SENTINELS"] == "cache-sentinel-1:26379,cache-sentinel-2:26379,cache-sentinel-3:26379")
    #expect(variables["CACHE_SENTINEL_MASTER"] == "cache")
    #expect(text.contains("watched by 3 sentinels, which hand out the servers' service names"))
    // A UI in the published project asks the first sentinel by its service name.
    let loadedUI = try load(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "password": "pw", "replicas": 1, "sentinel": true}, "ui": {"type": "rediscommander"}}}"#
    )
    var uiContext = context
    uiContext.listeningPorts = ["cache": 7001, "cache-replica-1": 7002]
    let withUI = try Planner.plan(loadedUI, context: uiContext)
    let ui = try #require(withUI.container("ui"))
    #expect(!ui.hostNetwork && ui.environment["REDIS_HOSTS"] == nil && ui.environment["ADDRESS"] == nil)
    #expect(
      ui.command.last?.contains(
        #""sentinels":[{"host":"cache-sentinel-1","port":26379}],"sentinelName":"cache","sentinelPassword":"%s"}"#)
        == true, "\(ui.command)")
    #expect(!text.contains("s3cret"), "passwords stay in the env files")
  }

  @Test func aSentinelIsReadyOnceItSeesThePrimaryItsReplicasAndTheOthers() {
    func outcome(_ fields: [String: String]) -> Probe.Outcome {
      Probe.sentinelOutcome(fields, replicas: 2, sentinels: 3)
    }
    let ready = ["flags": "master", "num-slaves": "2", "num-other-sentinels": "2"]
    #expect(outcome(ready) == .ready)
    #expect(
      outcome(ready.merging(["flags": "master,s_down"]) { $1 }) == .notReady("it sees the primary as master,s_down"))
    #expect(outcome(ready.merging(["num-slaves": "1"]) { $1 }) == .notReady("it sees 1 of the 2 replicas"))
    #expect(
      outcome(ready.merging(["num-other-sentinels": "1"]) { $1 }) == .notReady("it knows 1 of the 2 other sentinels"))
    // SENTINEL MASTER answers a flat array of names and values (RESP2) or a map (RESP3).
    let reply = RESPValue.array([.bulk("name"), .bulk("cache"), .bulk("num-slaves"), .bulk("2")])
    #expect(RESP.fieldPairs(reply) == ["name": "cache", "num-slaves": "2"])
    #expect(RESP.fieldPairs(.map([(.bulk("flags"), .simple("master"))])) == ["flags": "master"])
    #expect(RESP.fieldPairs(.array([.bulk("odd")])) == nil)
    #expect(RESP.fieldPairs(.simple("OK")) == nil)
  }
}
