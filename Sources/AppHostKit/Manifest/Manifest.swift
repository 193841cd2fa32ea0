/// The model of `apphost.json` (docs: README "Manifest reference", contract.md).
///
/// Values here are what the user wrote, validated; defaults that depend on other resources (an
/// executable's `waitFor`, a UI's `caches`) stay optional and are resolved by the planner.
package struct Manifest: Sendable, Equatable {
  /// `name` as written; nil when absent (the planner derives it from the folder).
  package var name: String?
  /// `"engine"`: the engine this project runs on unless `--engine` or `APPHOST_ENGINE` says otherwise.
  package var engine: EngineFlavor?
  /// Resources in file order.
  package var resources: [Resource]

  package init(name: String? = nil, engine: EngineFlavor? = nil, resources: [Resource]) {
    self.name = name
    self.engine = engine
    self.resources = resources
  }

  package subscript(name: String) -> Resource? {
    resources.first { $0.name == name }
  }
}

package struct Resource: Sendable, Equatable {
  package var name: String
  package var spec: ResourceSpec

  package init(name: String, spec: ResourceSpec) {
    self.name = name
    self.spec = spec
  }

  package var type: ResourceType {
    switch spec {
    case .cache(let cache): cache.server.resourceType
    case .redisInsight: .redisinsight
    case .redisCommander: .rediscommander
    case .executable(let executable): executable.isTask ? .task : .executable
    case .connectionString: .connectionString
    }
  }

  package var isConnectable: Bool { type.isConnectable }

  package var cache: CacheSpec? {
    if case .cache(let cache) = spec { return cache }
    return nil
  }

  /// A UI's container settings.
  package var uiSettings: ContainerSettings? {
    switch spec {
    case .redisInsight(let insight): insight.container
    case .redisCommander(let commander): commander.container
    default: nil
    }
  }

  package var executable: ExecutableSpec? {
    if case .executable(let executable) = spec { return executable }
    return nil
  }
}

package enum ResourceType: String, Sendable, CaseIterable, Codable {
  case redis, valkey, garnet, redisinsight, rediscommander, executable, task, connectionString

  package var isCache: Bool { self == .redis || self == .valkey || self == .garnet }

  /// The developer's programs: long-running executables and run-once tasks.
  package var isProgram: Bool { self == .executable || self == .task }

  /// Caches and connection strings: what can be referenced for its connection information.
  package var isConnectable: Bool { isCache || self == .connectionString }
}

package enum ResourceSpec: Sendable, Equatable {
  case cache(CacheSpec)
  case redisInsight(RedisInsightSpec)
  case redisCommander(RedisCommanderSpec)
  case executable(ExecutableSpec)
  case connectionString(ConnectionStringSpec)
}

package enum ServerKind: String, Sendable, CaseIterable, Codable {
  case redis, valkey, garnet

  package var resourceType: ResourceType {
    switch self {
    case .redis: .redis
    case .valkey: .valkey
    case .garnet: .garnet
    }
  }
}

package enum Lifetime: String, Sendable, CaseIterable, Codable {
  case session, persistent
}

package enum RestartPolicy: String, Sendable, CaseIterable, Codable {
  case no
  case onFailure = "on-failure"
  case always
}

/// A value given literally or read from the environment of `apphost` when it runs.
package enum SecretSource: Sendable, Equatable {
  case literal(String)
  case environment(String)
}

package enum PasswordSetting: Sendable, Equatable {
  /// Generated once and kept in `.apphost/secrets.json` (the default).
  case generated
  case none
  case given(SecretSource)
}

package struct DataVolume: Sendable, Equatable {
  /// nil: `<project>-<resource>-data`.
  package var name: String?
  package var readOnly: Bool

  package init(name: String? = nil, readOnly: Bool = false) {
    self.name = name
    self.readOnly = readOnly
  }
}

package struct BindMount: Sendable, Equatable {
  /// As written: relative to the manifest's folder, or absolute, or starting with `~/`.
  package var source: String
  package var readOnly: Bool

  package init(source: String, readOnly: Bool = false) {
    self.source = source
    self.readOnly = readOnly
  }
}

package enum PersistenceSetting: Sendable, Equatable {
  /// Not written: on with a writable volume or bind mount, off otherwise.
  case automatic
  case disabled
  case enabled(intervalSeconds: Int, keysChangedThreshold: Int)

  package static let defaultIntervalSeconds = 60
  package static let defaultKeysChangedThreshold = 1
}

/// An environment entry as written in the manifest (numbers and booleans are kept as their text).
package struct EnvironmentEntry: Sendable, Equatable {
  package var name: String
  package var value: String

  package init(_ name: String, _ value: String) {
    self.name = name
    self.value = value
  }
}

/// What every container resource has.
package struct ContainerSettings: Sendable, Equatable {
  package var image: String?
  package var tag: String?
  package var hostPort: Int?
  package var lifetime: Lifetime
  package var env: [EnvironmentEntry]
  /// `resources`: the memory and CPU published Kubernetes containers request and are limited to.
  package var resources: ComputeResources = ComputeResources()

  package init(
    image: String? = nil, tag: String? = nil, hostPort: Int? = nil, lifetime: Lifetime = .session,
    env: [EnvironmentEntry] = []
  ) {
    self.image = image
    self.tag = tag
    self.hostPort = hostPort
    self.lifetime = lifetime
    self.env = env
  }
}

/// `"cluster": {"shards": 3, "replicasPerShard": 1}`: how many primaries share the 16384 hash slots, and
/// how many replicas each has.
package struct ClusterSpec: Sendable, Equatable {
  package var shards: Int
  package var replicasPerShard: Int

  package init(shards: Int = 3, replicasPerShard: Int = 1) {
    self.shards = shards
    self.replicasPerShard = replicasPerShard
  }

  /// Every node: the primaries first, then the replicas.
  package var nodeCount: Int { shards * (1 + replicasPerShard) }
}

package struct CacheSpec: Sendable, Equatable {
  package var server: ServerKind
  package var container: ContainerSettings
  package var password: PasswordSetting
  package var dataVolume: DataVolume?
  package var dataBindMount: BindMount?
  package var persistence: PersistenceSetting
  package var args: [String]
  /// Under the native engine: the server program (a path relative to apphost.json, or a name on PATH)
  /// instead of `redis-server`, `valkey-server` or `garnet-server`.
  package var nativeCommand: String?
  /// `"configFile"`: a redis.conf given to the server before apphost's own settings.
  package var configFile: CacheConfigFile? = nil
  /// `"seed"`: data loaded when the cache starts with an empty dataset.
  package var seed: CacheSeed? = nil
  /// `"replicas"`: read replicas of the cache (Redis and Valkey), each a server of its own; 0: none.
  package var replicas: Int = 0
  /// `"tls": true`: the server speaks TLS only, with the project's certificate (Redis and Valkey).
  package var tls: Bool = false
  /// `"cluster"`: the cache is a Redis Cluster of `shards` primaries, each with `replicasPerShard`
  /// replicas (Redis and Valkey); nil: one server.
  package var cluster: ClusterSpec? = nil
  /// `"sentinel": true`: three Redis Sentinels watch the cache (its primary) and its read replicas, and
  /// promote a replica when the primary stops answering (Redis and Valkey).
  package var sentinel: Bool = false

  /// A cluster, or a cache sentinels watch: its nodes and sentinels hand clients the addresses of its
  /// servers (redirects, the current primary), so each server listens where clients reach it.
  package var handsOutAddresses: Bool { cluster != nil || sentinel }

  package init(
    server: ServerKind, container: ContainerSettings = ContainerSettings(),
    password: PasswordSetting = .generated, dataVolume: DataVolume? = nil, dataBindMount: BindMount? = nil,
    persistence: PersistenceSetting = .automatic, args: [String] = []
  ) {
    self.server = server
    self.container = container
    self.password = password
    self.dataVolume = dataVolume
    self.dataBindMount = dataBindMount
    self.persistence = persistence
    self.args = args
  }

  /// True when `/data` is a volume or bind mount the server can write to.
  package var hasWritableData: Bool {
    if let dataVolume, !dataVolume.readOnly { return true }
    if let dataBindMount, !dataBindMount.readOnly { return true }
    return false
  }

  /// The persistence in effect: the explicit setting, else on with writable data.
  package var effectivePersistence: (intervalSeconds: Int, keysChangedThreshold: Int)? {
    switch persistence {
    case .disabled: return nil
    case .enabled(let interval, let keys): return (interval, keys)
    case .automatic:
      return hasWritableData
        ? (PersistenceSetting.defaultIntervalSeconds, PersistenceSetting.defaultKeysChangedThreshold) : nil
    }
  }
}

package struct RedisInsightSpec: Sendable, Equatable {
  package var container: ContainerSettings
  /// nil: every cache of the project.
  package var caches: [String]?
  /// Default: a data volume, so settings and the licence answer survive.
  package var dataVolume: DataVolume?
  package var acceptTerms: Bool

  package init(
    container: ContainerSettings = ContainerSettings(), caches: [String]? = nil,
    dataVolume: DataVolume? = DataVolume(), acceptTerms: Bool = false
  ) {
    self.container = container
    self.caches = caches
    self.dataVolume = dataVolume
    self.acceptTerms = acceptTerms
  }
}

package struct RedisCommanderSpec: Sendable, Equatable {
  package var container: ContainerSettings
  /// nil: every cache of the project.
  package var caches: [String]?

  package init(container: ContainerSettings = ContainerSettings(), caches: [String]? = nil) {
    self.container = container
    self.caches = caches
  }
}

package struct ExecutableSpec: Sendable, Equatable {
  package var command: String
  package var args: [String]
  package var workingDirectory: String?
  package var references: [String]
  /// nil: its references (and the resources its templates name).
  package var waitFor: [String]?
  package var env: [EnvironmentEntry]
  package var replicas: Int
  package var restart: RestartPolicy
  /// The image to run it as in `apphost publish` outputs (compose services, Kubernetes Deployments).
  package var image: String?
  /// `resources`: the memory and CPU its published Kubernetes container requests and is limited to.
  package var resources: ComputeResources = ComputeResources()
  /// `"type": "task"`: runs once; what waits for it starts after it exits with 0.
  package var isTask: Bool = false
  /// The ports it listens on, in manifest order (the first is the one `{NAME.port}` means).
  package var endpoints: [EndpointSpec] = []
  /// nil: the default (tcp on the first endpoint; with no endpoint, ready once started).
  package var readiness: ReadinessSpec? = nil
  /// `envFile`: a dotenv file of extra variables (relative to apphost.json).
  package var envFile: String? = nil
  /// `watch`: restart when files under these paths change.
  package var watch: WatchSpec? = nil

  package init(
    command: String, args: [String] = [], workingDirectory: String? = nil, references: [String] = [],
    waitFor: [String]? = nil, env: [EnvironmentEntry] = [], replicas: Int = 1, restart: RestartPolicy = .no,
    image: String? = nil
  ) {
    self.image = image
    self.command = command
    self.args = args
    self.workingDirectory = workingDirectory
    self.references = references
    self.waitFor = waitFor
    self.env = env
    self.replicas = replicas
    self.restart = restart
  }
}

/// `"resources": {"memory": "256Mi", "cpu": "250m"}`: Kubernetes quantities, each optional (the publish
/// default for the kind of resource fills in what is absent). Requests and limits both take these values.
package struct ComputeResources: Sendable, Equatable {
  package var memory: String?
  package var cpu: String?

  package init(memory: String? = nil, cpu: String? = nil) {
    self.memory = memory
    self.cpu = cpu
  }
}

/// `watch`: paths (relative to apphost.json) whose changes restart the program, and globs to leave out.
package struct WatchSpec: Sendable, Equatable {
  package var paths: [String]
  package var ignore: [String]

  package init(paths: [String], ignore: [String] = []) {
    self.paths = paths
    self.ignore = ignore
  }
}

/// One of a program's `endpoints`: a port it listens on.
package struct EndpointSpec: Sendable, Equatable {
  package var name: String
  /// nil: apphost picks a free one (and remembers it, see `PortMemory`).
  package var port: Int?
  /// The variable that tells the program its port; nil: `PORT` for the first endpoint, none for others.
  package var env: String?

  package init(name: String, port: Int? = nil, env: String? = nil) {
    self.name = name
    self.port = port
    self.env = env
  }
}

/// How apphost knows a program is ready (`readiness`).
package enum ReadinessCheck: Sendable, Equatable {
  /// `GET path` on an endpoint (nil: the first) answers 2xx or 3xx.
  case http(path: String, endpoint: String?)
  /// A TCP connection to the endpoint is accepted.
  case tcp(endpoint: String)
  /// A line of its output matches the regular expression.
  case log(pattern: String)
  /// The command exits with 0 (run in the program's folder with its environment).
  case command([String])
}

package struct ReadinessSpec: Sendable, Equatable {
  /// nil: `"readiness": false` — ready once started.
  package var check: ReadinessCheck?
  /// nil: `ReadinessSpec.defaultTimeoutSeconds`.
  package var timeoutSeconds: Double?

  package init(check: ReadinessCheck?, timeoutSeconds: Double? = nil) {
    self.check = check
    self.timeoutSeconds = timeoutSeconds
  }

  package static let defaultTimeoutSeconds: Double = 60
}

package struct ConnectionStringSpec: Sendable, Equatable {
  package var value: SecretSource

  package init(value: SecretSource) {
    self.value = value
  }
}

/// What every cache can take as a password: Garnet reads it as one line of a configuration file, and
/// connection strings, URIs and terminals all break on control characters.
package enum PasswordRules {
  /// Why `password` cannot be used, or nil when it can.
  package static func problem(in password: String) -> String? {
    guard let scalar = password.unicodeScalars.first(where: { $0.properties.generalCategory == .control })
    else { return nil }
    return "contains a control character (U+\(hex(Int(scalar.value)))); "
      + "a password is one line of printable characters"
  }
}
