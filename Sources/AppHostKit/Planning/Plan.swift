/// Everything `apphost up` will do, as data: computed by `Planner` without touching an engine,
/// printed by `apphost config`, carried out by the engine layer.
package struct Plan: Sendable, Equatable {
  package var project: String
  package var projectDirectory: String
  package var manifestPath: String
  /// The project's network: only when a container must reach another by name (a UI, its caches).
  /// Caches on their own run on the engine's default network, which is quicker to start on.
  package var network: NetworkPlan?
  package var volumes: [VolumePlan]
  /// Caches and UIs, in manifest order.
  package var containers: [ContainerPlan]
  package var executables: [ExecutablePlan]
  /// How to reach each cache and connection string, in manifest order.
  package var endpoints: [Endpoint]
  /// Resources grouped by when they can start: a stage starts once what it waits for is healthy.
  package var stages: [[String]]
  /// UIs left out because the engine cannot run them (`native` runs no containers), in manifest order.
  package var skipped: [Skipped] = []
  /// The caches that are clusters (`"cluster"`): their nodes, which apphost joins into one once they answer.
  package var clusters: [ClusterPlan] = []

  package struct Skipped: Sendable, Equatable {
    package var name: String
    package var kind: ContainerKind
  }

  package func container(_ resource: String) -> ContainerPlan? {
    containers.first { $0.resource == resource }
  }

  package func executable(_ resource: String) -> ExecutablePlan? {
    executables.first { $0.resource == resource }
  }

  package func endpoint(_ resource: String) -> Endpoint? {
    endpoints.first { $0.resource == resource }
  }

  package func cluster(_ resource: String) -> ClusterPlan? {
    clusters.first { $0.resource == resource }
  }

  /// The caches with `"sentinel": true`, in manifest order.
  package var sentinelCaches: [String] {
    var caches: [String] = []
    for container in containers {
      if let cache = container.sentinelOf, !caches.contains(cache) { caches.append(cache) }
    }
    return caches
  }

  /// The servers a name stands for: a cache and its read replicas (after it), or every node of the
  /// cluster the cache is; any other container (`cache-replica-1`, `cache-node-2`) alone.
  package func servers(of name: String) -> [ContainerPlan] {
    guard let container = container(name) else { return [] }
    if let cluster = cluster(name) { return cluster.nodes.compactMap(self.container) }
    return [container] + containers.filter { $0.replicaOf == name || $0.sentinelOf == name }
  }

  /// Every resource name, in manifest order.
  package var resourceNames: [String] { stages.flatMap { $0 } }

  /// The named resources and everything they need, transitively (`up cache api`); all when `names` is
  /// empty. Throws for a name that is not in the plan.
  package func closure(of names: [String]) throws(AppHostError) -> Set<String> {
    let all = resourceNames
    if names.isEmpty { return Set(all) }
    var result: Set<String> = []
    var pending = names
    while let name = pending.popLast() {
      guard all.contains(name) || endpoint(name) != nil else {
        throw .unknownResource(name: name, known: all)
      }
      guard result.insert(name).inserted else { continue }
      if let executable = executable(name) { pending += executable.needs }
      if let container = container(name) { pending += container.caches }
      // A cache comes with its read replicas and sentinels; a replica needs its primary.
      pending += servers(of: name).map(\.resource)
      if let primary = container(name)?.replicaOf { pending.append(primary) }
      // A sentinel watches its cache and the cache's replicas.
      if let cache = container(name)?.sentinelOf { pending.append(cache) }
      // A cluster's node comes with every other node.
      if let cluster = container(name)?.clusterOf.flatMap(cluster) { pending += cluster.nodes }
    }
    return result.filter { all.contains($0) }
  }
}

/// A cache that is a Redis Cluster: its nodes (the cache itself first, then `NAME-node-2`...), of which
/// the first `shards` are primaries, each given an equal run of the 16384 hash slots, and the rest
/// replicas, node `shards + k` (k from 1) of primary `(k - 1) % shards + 1`.
package struct ClusterPlan: Sendable, Equatable {
  package var resource: String
  package var nodes: [String]
  package var shards: Int
  package var replicasPerShard: Int

  package init(resource: String, nodes: [String], shards: Int, replicasPerShard: Int) {
    self.resource = resource
    self.nodes = nodes
    self.shards = shards
    self.replicasPerShard = replicasPerShard
  }

  package static let slots = 16384

  /// The hash slots of primary `shard` (0-based): equal runs, the last one takes what division leaves.
  package func slotRange(shard: Int) -> ClosedRange<Int> {
    let size = Self.slots / shards
    let first = shard * size
    return first...(shard == shards - 1 ? Self.slots - 1 : first + size - 1)
  }

  /// For node `index` (0-based): the index of the primary it replicates, nil for a primary.
  package func primaryIndex(ofNode index: Int) -> Int? {
    index < shards ? nil : (index - shards) % shards
  }
}

/// Where resources run: the docker or podman CLI, or `native` (cache servers as processes of this
/// machine, no container engine).
package enum EngineFlavor: String, Sendable, CaseIterable, Codable {
  case docker, podman, native

  /// The container engines, in the order apphost tries them when none is named.
  package static let containerEngines: [EngineFlavor] = [.docker, .podman]

  package var isContainerEngine: Bool { self != .native }
}

/// The process that owns session containers (`apphost up`): a later run removes the containers of
/// an owner that is gone.
package struct Owner: Sendable, Hashable {
  package var pid: String
  package var startTime: String

  package init(pid: String, startTime: String) {
    self.pid = pid
    self.startTime = startTime
  }

  /// Shown by `apphost config`, which plans without being the owner.
  package static let placeholder = Owner(pid: "<pid of apphost up>", startTime: "<its start time>")
}

package struct Label: Sendable, Hashable {
  package var key: String
  package var value: String

  package init(_ key: String, _ value: String) {
    self.key = key
    self.value = value
  }
}

package enum LabelKey {
  package static let project = "apphost.project"
  package static let projectDirectory = "apphost.project-dir"
  package static let resource = "apphost.resource"
  package static let lifetime = "apphost.lifetime"
  package static let configHash = "apphost.config-hash"
  package static let ownerPID = "apphost.owner-pid"
  package static let ownerStart = "apphost.owner-start"
  /// On session containers started by `up --detach`: they outlive the `up` that made them.
  package static let detached = "apphost.detached"
  /// On caches that write snapshots: `down` asks them to save first.
  package static let savesBeforeStop = "apphost.save-before-stop"
  /// On a cache's read replica: the primary's resource name. For people and other tools (`docker ps
  /// --filter`): apphost reads the role from the plan, so it is not in `all`.
  package static let replicaOf = "apphost.replica-of"
  /// On a sentinel of a cache (`"sentinel": true`): the cache's resource name. Removed first by `down`,
  /// so that no failover starts while the cache's servers stop.
  package static let sentinelOf = "apphost.sentinel-of"
  /// On a cache with read replicas and on each replica: the cache's resource name. Before saving them,
  /// `down` has the cache copy the server with the newest data when that is another one (a replica the
  /// sentinels promoted, or any replica when the cache itself had stopped): `Teardown.failBack`.
  package static let replicationGroup = "apphost.replication-group"
  /// On a container on the host's network (the servers of a cache sentinels watch): the port it listens on,
  /// 127.0.0.1 only, which no engine lists as published.
  package static let hostNetworkPort = "apphost.host-network-port"
  /// On a cache that speaks TLS only (`"tls": true`): `down` saves it over TLS, trusting the project's CA.
  package static let tls = "apphost.tls"

  /// Every key above: docker's `ps` template asks for each by name (EngineCommands.listContainers), so a
  /// label apphost reads back must be listed here.
  package static let all = [
    project, projectDirectory, resource, lifetime, configHash, ownerPID, ownerStart, detached, savesBeforeStop, tls,
    sentinelOf, replicationGroup, hostNetworkPort,
  ]
}

package struct NetworkPlan: Sendable, Equatable {
  package var name: String
  package var labels: [Label]

  package func createArguments() -> [String] {
    ["network", "create"] + labels.flatMap { ["--label", "\($0.key)=\($0.value)"] } + [name]
  }
}

package struct VolumePlan: Sendable, Equatable {
  package var name: String
  package var resource: String
  /// True when the manifest named it (`dataVolume.name`); otherwise `<project>-<resource>-data`.
  package var named: Bool
  package var labels: [Label]

  package func createArguments() -> [String] {
    ["volume", "create"] + labels.flatMap { ["--label", "\($0.key)=\($0.value)"] } + [name]
  }
}

package enum ContainerKind: String, Sendable, CaseIterable, Codable {
  case redis, valkey, garnet, redisinsight, rediscommander

  package var isCache: Bool { self == .redis || self == .valkey || self == .garnet }
}

package struct Mount: Sendable, Hashable {
  package enum Source: Sendable, Hashable {
    case volume(String)
    case bind(String)
  }

  package var source: Source
  package var target: String
  package var readOnly: Bool

  /// `SOURCE:TARGET[:OPTIONS]` for `--volume`. Podman relabels bind-mounted folders for SELinux
  /// (`Z`; without SELinux it does nothing), as podman's own documentation asks for private mounts.
  package func volumeArgument(flavor: EngineFlavor) -> String {
    var options: [String] = readOnly ? ["ro"] : []
    let origin: String
    switch source {
    case .volume(let name):
      origin = name
    case .bind(let path):
      origin = path
      if flavor == .podman { options.append("Z") }
    }
    return "\(origin):\(target)" + (options.isEmpty ? "" : ":" + options.joined(separator: ","))
  }
}

/// A cache server as settings, not as a container's command line: what the native engine needs to run it
/// as a process of this machine with the same semantics (password out of every argument list,
/// 127.0.0.1 only, the same persistence).
package struct ServerPlan: Sendable, Equatable {
  package var kind: ServerKind
  /// `nativeCommand`, or nil for the server's usual program name.
  package var command: String?
  package var password: Value?
  package var persistence: ServerCommand.Persistence?
  /// The manifest's `args`, appended to the server's command line.
  package var extraArguments: [String]
  /// `configFile`: read before apphost's own settings.
  package var configFile: CacheConfigFile? = nil
  /// `seed: {"rdb": ...}`: the RDB copied into an empty data folder before the server starts.
  package var seedRDB: String? = nil
  /// A node of a Redis Cluster: `cluster-enabled yes`, its cluster state in `nodes.conf` in its data folder.
  package var cluster = false
  /// For a read replica: the container (natively: the recorded server) of its primary, whose port the
  /// native engine reads when it starts the replica (`replicaof 127.0.0.1 PORT`).
  package var replicaOf: String? = nil
  /// For a sentinel: what it watches (`redis-server FILE --sentinel`).
  package var sentinel: SentinelSettings? = nil
  /// A primary that sentinels watch: they make it a replica of the one they promote when it comes back.
  package var watched = false

  /// True when the server may copy another (a replica now or later): its link authenticates with
  /// `masterauth` and, over TLS, replicates over TLS.
  package var mayReplicate: Bool { replicaOf != nil || cluster || watched }
  /// `"tls": true`: the project's certificate files; the server then speaks TLS only.
  package var tls: TLSFiles? = nil

  /// What runs: `nativeCommand`, else the server's usual program name.
  package var program: String { command ?? defaultCommand }

  /// The program looked for on PATH when `command` is nil.
  package var defaultCommand: String {
    switch kind {
    case .redis: "redis-server"
    case .valkey: "valkey-server"
    case .garnet: "garnet-server"
    }
  }
}

/// What a sentinel watches: the cache's primary by the cache's name (the master name clients ask for),
/// found at the container (natively: the recorded server) `primary`, and how many sentinels must agree it
/// is down.
package struct SentinelSettings: Sendable, Equatable {
  package var master: String
  package var primary: String
  package var quorum: Int
  /// How long the primary goes unanswered before a sentinel thinks it down: 2 s on one machine (Redis's
  /// 30 s default is for networks).
  package var downAfterMilliseconds = 2000
  package var failoverTimeoutMilliseconds = 10000

  package init(master: String, primary: String, quorum: Int) {
    self.master = master
    self.primary = primary
    self.quorum = quorum
  }
}

package enum HealthCheck: Sendable, Hashable {
  /// `PING` (after `AUTH` when there is a password) answers `+PONG` on the published port (over TLS,
  /// checked against the project's CA, with `tls`).
  case resp(password: Value?, tls: TLSClient? = nil)
  /// `GET path` on the published port answers 200.
  case http(path: String)
  /// A read replica: `PING` answers (after `AUTH`) and `INFO replication` says `master_link_status:up`.
  case replica(password: Value?, tls: TLSClient? = nil)
  /// A node of a cluster: `PING` answers (after `AUTH`) and `CLUSTER INFO` says `cluster_state:ok`. While it
  /// starts, before apphost forms the cluster, `PING` only (`startup`).
  case clusterNode(password: Value?, tls: TLSClient? = nil)
  /// A sentinel: `SENTINEL MASTER name` (after `AUTH`) says it sees the primary, its `replicas` and the
  /// `sentinels - 1` other sentinels (a failover needs most of them to know each other).
  case sentinel(password: Value?, tls: TLSClient? = nil, master: String, replicas: Int, sentinels: Int)

  /// What `up` waits for while it starts the container: a cluster node answering, before the cluster is
  /// formed (which needs every node answering first).
  package var startup: HealthCheck {
    if case .clusterNode(let password, let tls) = self { return .resp(password: password, tls: tls) }
    return self
  }

  /// The password a RESP check authenticates with.
  package var password: Value? {
    switch self {
    case .resp(let password, _), .replica(let password, _), .clusterNode(let password, _),
      .sentinel(let password, _, _, _, _):
      password
    case .http: nil
    }
  }

  /// How a RESP check speaks TLS; nil: plain text.
  package var tls: TLSClient? {
    switch self {
    case .resp(_, let tls), .replica(_, let tls), .clusterNode(_, let tls), .sentinel(_, let tls, _, _, _): tls
    case .http: nil
    }
  }
}

/// One container: a cache or a UI.
package struct ContainerPlan: Sendable, Equatable {
  package var resource: String
  package var kind: ContainerKind
  package var containerName: String
  package var image: String
  package var lifetime: Lifetime
  package var containerPort: Int
  /// nil: the engine picks a free port on 127.0.0.1.
  package var hostPort: Int?
  /// The project network and this container's name on it, when the plan has one.
  package var network: String?
  /// Labels that identify the container; the owner and config-hash labels are added by `runArguments`.
  package var labels: [Label]
  package var environment: [EnvironmentVariable]
  package var mounts: [Mount]
  package var user: String?
  package var entrypoint: String?
  /// The arguments after the image (for caches: `-c` and the server command line).
  package var command: [String]
  /// For UIs: the caches shown, in order.
  package var caches: [String]
  package var health: HealthCheck
  /// True when the server writes snapshots to /data: ask it to save before stopping it.
  package var savesBeforeStop: Bool
  /// Changes whenever anything that shapes the container changes; a persistent container whose hash
  /// differs is recreated.
  package var configHash: String
  /// For caches: the server and its settings, for engines that run it without a container (`native`).
  package var server: ServerPlan? = nil
  /// For caches: the seed data loaded when it starts with an empty dataset.
  package var seed: CacheSeed? = nil
  /// For a read replica of a cache (`"replicas": N`): the primary's resource name. A replica is a
  /// container (`<project>-<cache>-replica-N`, resource `<cache>-replica-N`) of its own.
  package var replicaOf: String? = nil
  /// For a node of a cluster (`"cluster"`), the cache itself included: the cache's resource name.
  package var clusterOf: String? = nil
  /// For a sentinel of a cache (`"sentinel": true`): the cache's resource name.
  package var sentinelOf: String? = nil
  /// On the host's network (`--network host`), listening on 127.0.0.1 and `hostPort` only: the servers of a
  /// cache sentinels watch, since a sentinel hands clients the address it reaches the primary at.
  package var hostNetwork = false
  /// A cluster node in a container whose `hostPort` apphost chose (and remembers), not the manifest.
  package var hostPortChosen = false
  /// Without a `hostPort`: the port the engine picked last time (`PortMemory`), asked for again while it is
  /// free. Not part of `configHash`: a container is not recreated to move it.
  package var preferredPort: Int? = nil

  /// The same container for the engine to pick its port: the remembered one turned out to be taken.
  package var withoutPreferredPort: ContainerPlan {
    var plan = self
    plan.preferredPort = nil
    return plan
  }

  /// What the container is made from on `flavor`, as `up` says it: the image, or (native) the server's
  /// program.
  package func madeFrom(on flavor: EngineFlavor) -> String {
    guard flavor == .native, let server else { return image }
    return server.program
  }

  /// The URL of a UI on the host, once its port is known.
  package func url(hostPort port: Int?) -> String? {
    guard !kind.isCache, let port = port ?? hostPort else { return nil }
    return "http://127.0.0.1:\(port)"
  }

  /// The exact arguments after `docker` or `podman` that create and start the container.
  ///
  /// Environment values that hold a secret are passed by name only (`--env NAME`); the engine CLI
  /// reads them from its own environment (`engineEnvironment`), so no password is ever in an
  /// argument list.
  package func runArguments(flavor: EngineFlavor, owner: Owner?, detached: Bool = false) -> [String] {
    var arguments = ["run", "--detach", "--name", containerName]
    var allLabels = labels + [Label(LabelKey.configHash, configHash)]
    if lifetime == .session, let owner {
      allLabels += [Label(LabelKey.ownerPID, owner.pid), Label(LabelKey.ownerStart, owner.startTime)]
      if detached { allLabels.append(Label(LabelKey.detached, "true")) }
    }
    for label in allLabels {
      arguments += ["--label", "\(label.key)=\(label.value)"]
    }
    if hostNetwork {
      arguments += ["--network", "host"]
    } else if let network {
      arguments += ["--network", network, "--network-alias", resource]
    }
    if let user {
      arguments += ["--user", user]
    }
    if !hostNetwork {
      arguments += ["--publish", "127.0.0.1:\((hostPort ?? preferredPort).map(String.init) ?? ""):\(containerPort)"]
    }
    for mount in mounts {
      arguments += ["--volume", mount.volumeArgument(flavor: flavor)]
    }
    for variable in environment {
      if variable.value.containsSecret {
        arguments += ["--env", variable.name]
      } else {
        arguments += ["--env", "\(variable.name)=\(variable.value.masked())"]
      }
    }
    if let entrypoint {
      arguments += ["--entrypoint", entrypoint]
    }
    arguments.append(image)
    arguments += command
    return arguments
  }

  /// The variables the engine CLI process needs in its environment for `runArguments`.
  package var engineEnvironment: [String: String] {
    var values: [String: String] = [:]
    for variable in environment where variable.value.containsSecret {
      values[variable.name] = variable.value.revealed()
    }
    return values
  }
}

/// One of the developer's programs.
package struct ExecutablePlan: Sendable, Equatable {
  package var resource: String
  /// As written in the manifest.
  package var command: String
  /// The program that will run: an absolute path, or nil when it is not on PATH.
  package var resolvedCommand: String?
  package var arguments: [Value]
  package var workingDirectory: String
  /// Everything added to the inherited environment (injected connection information, the manifest's
  /// `env`, `APPHOST_REPLICA`).
  package var environment: [EnvironmentVariable]
  package var replicas: Int
  package var restart: RestartPolicy
  package var references: [String]
  package var waitFor: [String]
  /// Every resource it needs started: references, waitFor and those its placeholders name.
  package var needs: [String]
  /// The image it runs as when published (`apphost publish`); apphost itself runs `command`.
  package var image: String?
  /// `"type": "task"`: runs once, ready when it exited with 0.
  package var isTask: Bool = false
  /// The ports it listens on (see `ProgramEndpoint`); publish maps them to compose ports and Services.
  package var endpoints: [ProgramEndpoint] = []
  /// How apphost knows it is ready.
  package var readiness: ProgramReadiness = .started
  package var readinessTimeout: Duration = .seconds(ReadinessSpec.defaultTimeoutSeconds)
  /// `watch`: absolute paths to watch and the globs (relative to the project folder) to leave out.
  package var watch: ProgramWatch? = nil

  /// The name a copy's output is prefixed with: the resource, or `name-N` when there are replicas.
  package func displayName(replica: Int) -> String {
    replicas > 1 ? "\(resource)-\(replica)" : resource
  }
}

/// How a cache or connection string is reached from the host.
package struct Endpoint: Sendable, Equatable {
  package var resource: String
  /// `redis`, `rediss`, `valkey` or `valkeys`: the URI scheme of `NAME_URI`.
  package var scheme: String
  package var host: String
  package var port: Value
  package var user: String?
  package var password: Value?
  /// `ConnectionStrings__NAME`.
  package var connectionString: Value
  /// True for resources apphost starts (caches), false for connection strings.
  package var isManaged: Bool
  /// The database a connection string names (`/2`, `defaultDatabase=2`); nil: 0.
  package var database: Int? = nil
  /// `host:port` of each of the cache's read replicas, in order; empty without replicas.
  package var replicaNodes: [Value] = []
  /// For a cluster: `host:port` of each node after the first (the cache's own `host` and `port`).
  package var clusterNodes: [Value] = []
  /// `NAME_TLS_CA_FILE`: the CA that signed a `"tls": true` cache's certificate (the project's).
  package var caFile: String? = nil
  /// With `"sentinel": true`: `host:port` of each sentinel (`NAME_SENTINELS`), and the name they know the
  /// primary by (`NAME_SENTINEL_MASTER`: the cache's).
  package var sentinelNodes: [Value] = []
  package var sentinelMaster: String? = nil

  /// `NAME_REPLICAS`: `127.0.0.1:p1,127.0.0.1:p2`; nil without replicas.
  package var replicaAddresses: Value? {
    guard !replicaNodes.isEmpty else { return nil }
    var value = Value([])
    for (offset, node) in replicaNodes.enumerated() {
      value = value + .text(offset == 0 ? "" : ",") + node
    }
    return value
  }

  /// `NAME_CLUSTER_NODES`: every node of a cluster, `127.0.0.1:p1,127.0.0.1:p2,...`; nil for one server.
  package func clusterAddresses(first: Value) -> Value? {
    guard !clusterNodes.isEmpty else { return nil }
    return clusterNodes.reduce(first) { $0 + "," + $1 }
  }

  /// `ConnectionStrings__NAME` for every node, primary first, in StackExchange.Redis's form
  /// (`host:port,host:port,password=...`): the client finds out which node takes writes (or, for a
  /// cluster, which holds each slot).
  package func nodesConnectionString(primary: Value) -> Value {
    var value = primary
    for node in replicaNodes + clusterNodes { value = value + "," + node }
    if let password { value = value + ",password=" + password }
    if usesTLS { value = value + ",ssl=true" }
    return value
  }

  package var usesTLS: Bool { scheme == "rediss" || scheme == "valkeys" }

  /// How apphost's own client speaks TLS to it: a cache of this project is checked against the project's CA
  /// (its `caFile`), a `rediss://` connection string against the system's trust store and its host name.
  package var tlsClient: TLSClient? {
    guard usesTLS else { return nil }
    return TLSClient(caFile: caFile, serverName: isManaged ? nil : host)
  }

  /// `NAME_URI`, Aspire's form: `scheme://[user]:password@host:port` (`valkey://` for Valkey; an empty user
  /// name before the password).
  package func uri(scheme: String? = nil) -> Value {
    userInfoURI(scheme: scheme ?? self.scheme, user: user)
  }

  /// `NAME_URL` and `REDIS_URL`, the form redis-cli `-u`, redis-py, node-redis and go-redis all take:
  /// `redis://` (`rediss://` with TLS), the user `default` when there is a password and no user, the
  /// password percent-encoded, the database as the path (`/0`), no query string.
  package func url() -> Value {
    let user = self.user ?? (password == nil ? nil : "default")
    return userInfoURI(scheme: usesTLS ? "rediss" : "redis", user: user) + .text("/\(database ?? 0)")
  }

  private func userInfoURI(scheme: String, user: String?) -> Value {
    var value = Value.text("\(scheme)://")
    if let password {
      var encoded: [ValuePart] = []
      for part in password.parts {
        if case .secret(let secret) = part {
          encoded.append(.secret(percentEncodedUserInfo(secret)))
        } else if case .text(let text) = part {
          encoded.append(.text(percentEncodedUserInfo(text)))
        }
      }
      value = value + .text("\(user.map(percentEncodedUserInfo) ?? ""):") + Value(encoded) + "@"
    } else if let user {
      value = value + .text("\(percentEncodedUserInfo(user))@")
    }
    let shownHost = host.contains(":") ? "[\(host)]" : host
    return value + .text("\(shownHost):") + port
  }
}
