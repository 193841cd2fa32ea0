import Foundation

/// What the planner needs besides the manifest; everything it reads from the world comes in here, so
/// that planning is a pure function.
package struct PlanContext: Sendable {
  /// apphost's own environment: `{"env": "VAR"}` values, `APPHOST_IMAGE_REGISTRY`, `PATH`.
  package var environment: [String: String]
  /// The stored generated passwords, by resource (see `SecretStore`).
  package var generatedPasswords: [String: String]
  /// The user running apphost: bind-mounted data is written as this user on a rootful engine.
  package var userID: UInt32
  package var groupID: UInt32
  /// True when the engine runs rootless (container root is the user, see DECISIONS.md).
  package var rootlessEngine: Bool
  /// True under the native engine: caches run as processes, UIs (which need containers) are skipped.
  package var nativeEngine: Bool = false
  /// `.env` beside apphost.json: `{"env": "VAR"}` values not in `environment`.
  package var dotEnv: [String: String] = [:]
  /// The project's certificate files, when a cache has `"tls": true` (see `ProjectCertificates`).
  package var tls: TLSFiles? = nil
  /// On a container engine, the port of each cluster node (by resource), the same inside its container and
  /// on 127.0.0.1 (`PortMemory.listeningPorts`): what the node announces is then what this machine reaches.
  package var listeningPorts: [String: Int] = [:]
  /// For `apphost publish`: the containers are planned for a deployment's network, where each one is reached
  /// by its service name (the servers of a cache sentinels watch then announce those names).
  package var publishing = false

  package init(
    environment: [String: String] = [:], generatedPasswords: [String: String] = [:], userID: UInt32 = 1000,
    groupID: UInt32 = 1000, rootlessEngine: Bool = false
  ) {
    self.environment = environment
    self.generatedPasswords = generatedPasswords
    self.userID = userID
    self.groupID = groupID
    self.rootlessEngine = rootlessEngine
  }

  package static let imageRegistryVariable = "APPHOST_IMAGE_REGISTRY"
}

package enum Planner {
  /// The host every endpoint is reached at: an address, since `localhost` resolves to `::1` first in
  /// several runtimes while the engines publish on 127.0.0.1.
  package static let host = "127.0.0.1"
  package static let cachePort = 6379
  /// Where a sentinel listens in its container (Redis Sentinel's usual port).
  package static let sentinelPort = 26379

  package static func plan(_ loaded: LoadedManifest, context: PlanContext) throws(AppHostError) -> Plan {
    var builder = Builder(loaded: loaded, context: context)
    return try builder.build()
  }

  /// The resource names of a cache's read replicas: `NAME-replica-1` to `NAME-replica-N`.
  package static func replicaNames(of resource: String, count: Int) -> [String] {
    count < 1 ? [] : (1...count).map { "\(resource)-replica-\($0)" }
  }

  /// The resource names of a cluster's nodes: the cache itself, then `NAME-node-2` to `NAME-node-N`.
  package static func clusterNodeNames(of resource: String, count: Int) -> [String] {
    [resource] + (count < 2 ? [] : (2...count).map { "\(resource)-node-\($0)" })
  }

  /// How many sentinels watch a cache with `"sentinel": true`: three, so that two of them (a majority)
  /// agree that the primary is down and one of them is elected to promote a replica.
  package static let sentinelCount = 3
  package static let sentinelQuorum = 2

  /// The resource names of a cache's sentinels: `NAME-sentinel-1` to `NAME-sentinel-3`.
  package static func sentinelNames(of resource: String) -> [String] {
    (1...sentinelCount).map { "\(resource)-sentinel-\($0)" }
  }

  /// The resource names of the servers a cache runs as: itself, its read replicas, its cluster's other nodes,
  /// its sentinels.
  package static func serverNames(of resource: String, _ cache: CacheSpec) -> [String] {
    if let cluster = cache.cluster { return clusterNodeNames(of: resource, count: cluster.nodeCount) }
    return [resource] + replicaNames(of: resource, count: cache.replicas)
      + (cache.sentinel ? sentinelNames(of: resource) : [])
  }

  /// A UI showing a cluster or a cache sentinels watch, in a container, runs on the host's network at
  /// 127.0.0.1 (where the nodes and the sentinels say the servers are, as to any client here): each such UI
  /// with the other caches it shows, which it reaches at the host ports apphost then chooses for them.
  package static func uisOnHostNetwork(_ manifest: Manifest) -> [(ui: String, caches: [String])] {
    let everyCache = manifest.resources.filter(\.type.isCache).map(\.name)
    let topology = { (name: String) in manifest[name]?.cache?.handsOutAddresses == true }
    return manifest.resources.compactMap { resource in
      let shown: [String]
      switch resource.spec {
      case .redisInsight(let insight): shown = insight.caches ?? everyCache
      case .redisCommander(let commander): shown = commander.caches ?? commanderDefaultCaches(manifest)
      default: return nil
      }
      guard shown.contains(where: topology) else { return nil }
      return (resource.name, shown.filter { !topology($0) })
    }
  }

  /// Redis Commander shows the caches that speak plain text by default: its connections have no TLS settings
  /// apphost fills in (the validator refuses a TLS cache named in its `caches`).
  static func commanderDefaultCaches(_ manifest: Manifest) -> [String] {
    manifest.resources.filter { $0.cache.map { !$0.tls } == true }.map(\.name)
  }

  /// The project network, when a container must reach another by name (a UI, its caches; a read
  /// replica, its primary).
  package static func network(for loaded: LoadedManifest) -> NetworkPlan? {
    let uis = loaded.manifest.resources.contains { resource in
      switch resource.spec {
      case .redisInsight, .redisCommander: true
      // The servers of a cache sentinels watch are on the host's network instead.
      case .cache(let cache): (cache.replicas > 0 && !cache.sentinel) || cache.cluster != nil
      default: false
      }
    }
    guard uis else { return nil }
    return NetworkPlan(
      name: loaded.project,
      labels: [Label(LabelKey.project, loaded.project), Label(LabelKey.projectDirectory, loaded.projectDirectory)])
  }

  /// The names a server certificate must carry for this manifest's TLS caches (their names on the project
  /// network, replicas included); empty when no cache has `"tls": true`.
  package static func tlsServerNames(_ manifest: Manifest) -> [String] {
    manifest.resources.flatMap { resource -> [String] in
      guard let cache = resource.cache, cache.tls else { return [] }
      return serverNames(of: resource.name, cache)
    }
  }

  /// The generated passwords this manifest needs (caches with `password: true` or none given).
  package static func resourcesNeedingGeneratedPasswords(_ manifest: Manifest) -> [String] {
    manifest.resources.compactMap { resource in
      resource.cache?.password == .generated ? resource.name : nil
    }
  }
}

private struct Builder {
  let loaded: LoadedManifest
  let context: PlanContext
  var manifest: Manifest { loaded.manifest }
  var project: String { loaded.project }

  init(loaded: LoadedManifest, context: PlanContext) {
    self.loaded = loaded
    self.context = context
  }

  mutating func build() throws(AppHostError) -> Plan {
    let network = needsNetwork ? Planner.network(for: loaded) : nil
    var skipped: [Plan.Skipped] = []
    var endpoints: [Endpoint] = []
    var passwords: [String: Value] = [:]
    for resource in manifest.resources {
      switch resource.spec {
      case .cache(let cache):
        let password = try password(of: cache, resource: resource.name)
        passwords[resource.name] = password
        endpoints.append(cacheEndpoint(resource.name, cache, password: password))
      case .connectionString(let spec):
        endpoints.append(try connectionStringEndpoint(resource.name, spec))
      default:
        break
      }
    }

    var containers: [ContainerPlan] = []
    var volumes: [VolumePlan] = []
    var executables: [ExecutablePlan] = []
    var clusters: [ClusterPlan] = []
    var programs: [String: [ProgramEndpoint]] = [:]
    for resource in manifest.resources {
      if let executable = resource.executable {
        programs[resource.name] = Planner.programEndpoints(resource.name, executable)
      }
    }
    for resource in manifest.resources {
      let path = JSONPath.resource(resource.name)
      switch resource.spec {
      case .cache(let cache):
        if let cluster = cache.cluster {
          let nodes = Planner.clusterNodeNames(of: resource.name, count: cluster.nodeCount)
          clusters.append(
            ClusterPlan(
              resource: resource.name, nodes: nodes, shards: cluster.shards,
              replicasPerShard: cluster.replicasPerShard))
          for node in nodes {
            containers.append(
              try clusterNodeContainer(node, of: resource.name, cache, password: passwords[resource.name] ?? nil))
            if let volume = cache.dataVolume { volumes.append(nodeVolumePlan(resource.name, volume, node: node)) }
          }
          continue
        }
        // Sentinels hand out the address they reach the primary at: in containers, every server of the cache is
        // on the host's network, at 127.0.0.1 and a port apphost chose.
        let hostNetwork = cache.sentinel && !context.nativeEngine && !context.publishing
        let password = passwords[resource.name] ?? nil
        var container = cacheContainer(
          resource.name, cache, password: password,
          hostNetworkPort: hostNetwork ? try listeningPort(resource.name) : nil)
        if hostNetwork {
          try placeOnHostNetwork(&container, chosen: cache.container.hostPort == nil)
        } else if !context.nativeEngine, !context.publishing, let port = context.listeningPorts[resource.name] {
          // Shown by a UI on the host's network (`uisOnHostNetwork`): published on a port apphost chose.
          container.hostPort = port
          container.hostPortChosen = cache.container.hostPort == nil
          container.configHash = configHash(container)
        }
        if cache.replicas > 0 {
          container.labels.append(Label(LabelKey.replicationGroup, resource.name))
          container.configHash = configHash(container)
        }
        containers.append(container)
        if let volume = cache.dataVolume { volumes.append(volumePlan(resource.name, volume)) }
        for replica in Planner.replicaNames(of: resource.name, count: cache.replicas) {
          var plan = replicaContainer(
            replica, of: container, cache, password: password,
            hostNetworkPort: hostNetwork ? try listeningPort(replica) : nil)
          if hostNetwork { try placeOnHostNetwork(&plan, chosen: true) }
          plan.labels.append(Label(LabelKey.replicationGroup, resource.name))
          plan.configHash = configHash(plan)
          containers.append(plan)
          if let volume = cache.dataVolume { volumes.append(nodeVolumePlan(resource.name, volume, node: replica)) }
        }
        if cache.sentinel {
          for sentinel in Planner.sentinelNames(of: resource.name) {
            var plan = try sentinelContainer(sentinel, of: container, cache, password: password)
            if hostNetwork { try placeOnHostNetwork(&plan, chosen: true) }
            containers.append(plan)
          }
        }
      case .redisInsight where context.nativeEngine, .redisCommander where context.nativeEngine:
        skipped.append(
          Plan.Skipped(name: resource.name, kind: resource.type == .redisinsight ? .redisinsight : .rediscommander))
      case .redisInsight(let insight):
        containers.append(try insightContainer(resource.name, insight, passwords: passwords))
        if let volume = insight.dataVolume { volumes.append(volumePlan(resource.name, volume)) }
      case .redisCommander(let commander):
        containers.append(try commanderContainer(resource.name, commander, passwords: passwords, path: path))
      case .executable(let executable):
        executables.append(try executablePlan(resource.name, executable, endpoints: endpoints, programs: programs))
      case .connectionString:
        break
      }
    }
    return Plan(
      project: project, projectDirectory: loaded.projectDirectory, manifestPath: loaded.path, network: network,
      volumes: volumes, containers: containers, executables: executables, endpoints: endpoints,
      stages: stages(executables: executables), skipped: skipped, clusters: clusters)
  }

  // MARK: Labels and names

  var projectLabels: [Label] {
    [Label(LabelKey.project, project), Label(LabelKey.projectDirectory, loaded.projectDirectory)]
  }

  func containerName(_ resource: String) -> String { "\(project)-\(resource)" }

  func image(_ settings: ContainerSettings, kind: ContainerKind) -> String {
    var reference = kind.defaultImage
    if let image = settings.image {
      let given = ImageReference(parsing: image)
      reference.registry = given.registry
      reference.repository = given.repository
      reference.digest = given.digest
      if given.tag != nil || given.digest != nil { reference.tag = given.tag }
    }
    if let tag = settings.tag { reference.tag = tag }
    if let registry = context.environment[PlanContext.imageRegistryVariable], !registry.isEmpty {
      reference = reference.replacingRegistry(with: registry)
    }
    return reference.description
  }

  func volumePlan(_ resource: String, _ volume: DataVolume) -> VolumePlan {
    VolumePlan(
      name: volume.name ?? defaultVolumeName(project: project, resource: resource), resource: resource,
      named: volume.name != nil, labels: projectLabels + [Label(LabelKey.resource, resource)])
  }

  /// A replica's (or cluster node's) own volume: the primary's name with `-replica-N` (`-node-N`) after it;
  /// the cache's own for the cache itself.
  func replicaVolumeName(_ resource: String, _ volume: DataVolume, replica: String) -> String {
    let primary = volume.name ?? defaultVolumeName(project: project, resource: resource)
    return primary + replica.dropFirst(resource.count)
  }

  /// The volume of a server of `resource` (itself, a read replica or a cluster node), named as
  /// `replicaVolumeName` says.
  func nodeVolumePlan(_ resource: String, _ volume: DataVolume, node: String) -> VolumePlan {
    VolumePlan(
      name: replicaVolumeName(resource, volume, replica: node), resource: node, named: volume.name != nil,
      labels: projectLabels + [Label(LabelKey.resource, node)])
  }

  func volumeMount(_ resource: String, _ volume: DataVolume) -> Mount {
    Mount(
      source: .volume(volume.name ?? defaultVolumeName(project: project, resource: resource)), target: "/data",
      readOnly: volume.readOnly)
  }

  // MARK: Secrets

  func secret(_ source: SecretSource, path: JSONPath) throws(AppHostError) -> String {
    switch source {
    case .literal(let text):
      return text
    case .environment(let variable):
      // apphost's environment first, then `.env` beside apphost.json.
      guard let value = context.environment[variable].flatMap({ $0.isEmpty ? nil : $0 }) ?? context.dotEnv[variable],
        !value.isEmpty
      else {
        throw .missingEnvironmentVariable(variable: variable, path: path, file: loaded.path)
      }
      return value
    }
  }

  func password(of cache: CacheSpec, resource: String) throws(AppHostError) -> Value? {
    let path = JSONPath.resource(resource).appending("password")
    switch cache.password {
    case .none:
      return nil
    case .generated:
      guard let stored = context.generatedPasswords[resource] else {
        throw .stateCorrupt(
          path: StateDirectory(projectDirectory: loaded.projectDirectory).secretsPath,
          reason: "it holds no password for \(resource)")
      }
      return .secret(stored)
    case .given(let source):
      let text = try secret(source, path: path)
      if case .environment(let variable) = source, let problem = PasswordRules.problem(in: text) {
        throw .invalidEnvironmentValue(variable: variable, path: path, file: loaded.path, reason: problem)
      }
      return .secret(text)
    }
  }

  // MARK: Endpoints

  func cacheEndpoint(_ resource: String, _ cache: CacheSpec, password: Value?) -> Endpoint {
    let port: Value =
      cache.container.hostPort.map { .text(String($0)) } ?? Value([.hostPort(resource: resource)])
    let scheme = (cache.server == .valkey ? "valkey" : "redis") + (cache.tls ? "s" : "")
    var endpoint = Endpoint(
      resource: resource, scheme: scheme, host: Planner.host, port: port, user: nil, password: password,
      connectionString: "", isManaged: true)
    if cache.tls { endpoint.caFile = tlsFiles.caCertificate }
    // Every node, primary first, in StackExchange.Redis's form: it finds out which one takes writes.
    endpoint.replicaNodes = Planner.replicaNames(of: resource, count: cache.replicas).map {
      .text("\(Planner.host):") + Value([.hostPort(resource: $0)])
    }
    if cache.sentinel {
      endpoint.sentinelNodes = Planner.sentinelNames(of: resource).map {
        .text("\(Planner.host):") + Value([.hostPort(resource: $0)])
      }
      endpoint.sentinelMaster = resource
    }
    if let cluster = cache.cluster {
      endpoint.clusterNodes = Planner.clusterNodeNames(of: resource, count: cluster.nodeCount).dropFirst().map {
        .text("\(Planner.host):") + Value([.hostPort(resource: $0)])
      }
    }
    endpoint.connectionString = endpoint.nodesConnectionString(primary: .text("\(Planner.host):") + port)
    return endpoint
  }

  func connectionStringEndpoint(_ resource: String, _ spec: ConnectionStringSpec) throws(AppHostError) -> Endpoint {
    let path = JSONPath.resource(resource).appending("value")
    let text = try secret(spec.value, path: path)
    let endpoint: ConnectionEndpoint
    switch ConnectionEndpoint.parse(text) {
    case .success(let parsed): endpoint = parsed
    case .failure(let problem):
      // Literal values were checked with the manifest; this one came from the environment.
      guard case .environment(let variable) = spec.value else {
        throw .invalidManifest(file: loaded.path, diagnostics: [Diagnostic(.error, path, problem.reason)])
      }
      throw .invalidEnvironmentValue(
        variable: variable, path: path, file: loaded.path, reason: "is not a connection string: it \(problem.reason)")
    }
    let scheme: String
    if text.lowercased().hasPrefix("valkey") {
      scheme = endpoint.tls ? "valkeys" : "valkey"
    } else {
      scheme = endpoint.tls ? "rediss" : "redis"
    }
    return Endpoint(
      resource: resource, scheme: scheme, host: endpoint.host, port: .text(String(endpoint.port)),
      user: endpoint.user, password: endpoint.password.map(Value.secret),
      connectionString: maskingPassword(in: text, password: endpoint.password), isManaged: false,
      database: endpoint.database)
  }

  /// The connection string as written, with the password marked secret wherever it appears (all of
  /// it when the password cannot be found in it, percent-encoded in an unusual way for example).
  func maskingPassword(in text: String, password: String?) -> Value {
    guard let password, !password.isEmpty else { return .text(text) }
    let forms = [password, percentEncodedUserInfo(password)]
    guard forms.contains(where: { text.contains($0) }) else { return .secret(text) }
    var parts: [ValuePart] = []
    var rest = Substring(text)
    while let range = forms.lazy.compactMap({ rest.range(of: $0) }).first {
      if range.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<range.lowerBound]))) }
      parts.append(.secret(String(rest[range])))
      rest = rest[range.upperBound...]
    }
    if !rest.isEmpty { parts.append(.text(String(rest))) }
    return Value(parts)
  }

  // MARK: Containers

  /// The project's certificate files (paths only when `apphost config` plans before they are made).
  var tlsFiles: TLSFiles {
    context.tls ?? .placeholder(state: StateDirectory(projectDirectory: loaded.projectDirectory))
  }

  /// A TLS cache's certificate files, mounted one by one (never the CA's key).
  var tlsMounts: [Mount] {
    let files = tlsFiles
    return [
      Mount(source: .bind(files.caCertificate), target: ServerCommand.tlsCAFile, readOnly: true),
      Mount(source: .bind(files.serverCertificate), target: ServerCommand.tlsCertificate, readOnly: true),
      Mount(source: .bind(files.serverKey), target: ServerCommand.tlsMountedKey, readOnly: true),
    ]
  }

  /// How apphost's own client checks a TLS cache: against the project's CA, at 127.0.0.1.
  func tlsClient(_ cache: CacheSpec) -> TLSClient? {
    cache.tls ? TLSClient(caFile: tlsFiles.caCertificate) : nil
  }

  func cacheContainer(
    _ resource: String, _ cache: CacheSpec, password: Value?, clusterPort: Int? = nil, hostNetworkPort: Int? = nil
  ) -> ContainerPlan {
    let kind = ContainerKind(rawValue: cache.server.rawValue)!
    var environment: [EnvironmentVariable] = cache.container.env.map { EnvironmentVariable($0.name, .text($0.value)) }
    if let password {
      environment.set(EnvironmentVariable(ServerCommand.passwordVariable(cache.server), password))
    }
    var mounts: [Mount] = []
    var user: String?
    if let volume = cache.dataVolume {
      mounts.append(volumeMount(resource, volume))
    } else if let bind = cache.dataBindMount {
      let source = resolvePath(bind.source, relativeTo: loaded.projectDirectory)
      mounts.append(Mount(source: .bind(source), target: "/data", readOnly: bind.readOnly))
      // The server writes the folder as its owner: the user on a rootful engine; container root,
      // which is the user, on a rootless one (Garnet's image would otherwise run as uid 1654).
      user = context.rootlessEngine ? "0:0" : "\(context.userID):\(context.groupID)"
      // Running as root on purpose (container root is the user, or the user is root): Redis 8's
      // entrypoint would drop to its redis user and re-own the user's folder.
      if user == "0:0" && cache.server == .redis {
        environment.set(EnvironmentVariable(ServerCommand.skipDropPrivileges, "1"))
      }
    }
    if let config = cache.configFile {
      mounts.append(Mount(source: .bind(config.path), target: CacheConfigFile.containerPath, readOnly: true))
    }
    if cache.tls { mounts += tlsMounts }
    var seedRDB: String?
    if case .rdb(_, let path) = cache.seed {
      seedRDB = path
      mounts.append(Mount(source: .bind(path), target: CacheSeed.containerRDBPath, readOnly: true))
    }
    let persistence = cache.effectivePersistence
    // A primary with replicas sends them its dataset at once, not after the 5 s Redis waits by default
    // for more replicas to join the same transfer (the manifest's `args` follow and may set it).
    let arguments = (cache.replicas > 0 ? ["--repl-diskless-sync-delay", "0"] : []) + cache.args
    let command = ServerCommand.commandLine(
      server: cache.server, hasPassword: password != nil,
      persistence: persistence.map { ServerCommand.Persistence(intervalSeconds: $0.0, keysChanged: $0.1) },
      extraArguments: arguments, configFile: cache.configFile, seedRDB: seedRDB != nil, tls: cache.tls,
      cluster: cache.cluster != nil, clusterPort: clusterPort, watched: cache.sentinel,
      hostNetworkPort: hostNetworkPort,
      announcedName: context.publishing && cache.handsOutAddresses ? resource : nil)
    var plan = container(
      resource, kind: kind, settings: cache.container, containerPort: Planner.cachePort, environment: environment,
      mounts: mounts, user: user, entrypoint: "/bin/sh", command: ["-c", command], caches: [],
      health: .resp(password: password, tls: tlsClient(cache)), savesBeforeStop: persistence != nil)
    plan.server = ServerPlan(
      kind: cache.server,
      command: cache.nativeCommand.map { command in
        command.contains("/") ? resolvePath(command, relativeTo: loaded.projectDirectory) : command
      },
      password: password,
      persistence: persistence.map { ServerCommand.Persistence(intervalSeconds: $0.0, keysChanged: $0.1) },
      extraArguments: arguments, configFile: cache.configFile, seedRDB: seedRDB)
    plan.server?.watched = cache.sentinel
    if cache.tls {
      plan.server?.tls = tlsFiles
      plan.labels.append(Label(LabelKey.tls, "true"))
    }
    plan.seed = cache.seed
    if cache.cluster != nil {
      plan.server?.cluster = true
      plan.health = .clusterNode(password: password, tls: tlsClient(cache))
    }
    plan.configHash = configHash(plan)
    return plan
  }

  /// A node of the cluster `cache` (the cache itself first): the cache's server, image, settings, password
  /// and lifetime; its own port, data folder and volume. Natively the engine picks the port; in a container
  /// the node listens on the port it is published on (`PlanContext.listeningPorts`) and gives clients the host
  /// name 127.0.0.1, so that both its peers (on the project network) and this machine reach what it
  /// announces. The cluster is formed once every node answers (`ClusterForming`).
  func clusterNodeContainer(_ node: String, of cache: String, _ spec: CacheSpec, password: Value?)
    throws(AppHostError) -> ContainerPlan
  {
    var port: Int?
    if !context.nativeEngine {
      guard let chosen = context.listeningPorts[node] else {
        throw .engineOutput(command: "plan", reason: "no port was chosen for the cluster node \(node)")
      }
      port = chosen
    }
    var settings = spec
    if node != cache {
      settings.container.hostPort = nil
      // Its own volume, by name.
      settings.dataVolume = spec.dataVolume.map {
        DataVolume(name: replicaVolumeName(cache, $0, replica: node), readOnly: $0.readOnly)
      }
    }
    var plan = cacheContainer(node, settings, password: password, clusterPort: port)
    if let port {
      plan.containerPort = port
      plan.hostPort = port
      plan.hostPortChosen = settings.container.hostPort == nil
    }
    plan.clusterOf = cache
    plan.configHash = configHash(plan)
    return plan
  }

  /// A read replica of `primary`: the same server, image, settings, password and lifetime; its own
  /// container, port and data volume; `--replicaof` the primary by its name on the project network
  /// (natively: 127.0.0.1 and the primary's port), `masterauth` beside `requirepass` in the private file.
  /// No host port of its own in the manifest: the engine picks one. No seed: it copies the primary.
  func replicaContainer(
    _ replica: String, of primary: ContainerPlan, _ cache: CacheSpec, password: Value?, hostNetworkPort: Int? = nil
  ) -> ContainerPlan {
    var settings = cache.container
    settings.hostPort = nil
    var mounts: [Mount] = []
    if let volume = cache.dataVolume {
      mounts.append(
        Mount(
          source: .volume(replicaVolumeName(primary.resource, volume, replica: replica)), target: "/data",
          readOnly: volume.readOnly))
    }
    if let config = cache.configFile {
      mounts.append(Mount(source: .bind(config.path), target: CacheConfigFile.containerPath, readOnly: true))
    }
    if cache.tls { mounts += tlsMounts }
    let persistence = cache.effectivePersistence.map {
      ServerCommand.Persistence(intervalSeconds: $0.0, keysChanged: $0.1)
    }
    let command = ServerCommand.commandLine(
      server: cache.server, hasPassword: password != nil, persistence: persistence, extraArguments: cache.args,
      configFile: cache.configFile,
      replicaOf: primary.hostNetwork
        ? ReplicaSource(host: Planner.host, port: primary.containerPort)
        : ReplicaSource(host: primary.resource, port: Planner.cachePort), tls: cache.tls,
      hostNetworkPort: hostNetworkPort, announcedName: cache.sentinel && context.publishing ? replica : nil)
    var plan = container(
      replica, kind: primary.kind, settings: settings, containerPort: Planner.cachePort,
      environment: primary.environment, mounts: mounts, user: primary.user, entrypoint: "/bin/sh",
      command: ["-c", command], caches: [], health: .replica(password: password, tls: tlsClient(cache)),
      savesBeforeStop: persistence != nil)
    plan.image = primary.image
    plan.labels.append(Label(LabelKey.replicaOf, primary.resource))
    if cache.tls { plan.labels.append(Label(LabelKey.tls, "true")) }
    plan.replicaOf = primary.resource
    var server = primary.server
    server?.extraArguments = cache.args
    server?.seedRDB = nil
    server?.replicaOf = primary.containerName
    server?.watched = false
    plan.server = server
    plan.configHash = configHash(plan)
    return plan
  }

  /// The port a server listens on where clients reach it, in a container (`PlanContext.listeningPorts`).
  func listeningPort(_ server: String) throws(AppHostError) -> Int {
    guard let port = context.listeningPorts[server] else {
      throw .engineOutput(command: "plan", reason: "no port was chosen for \(server)")
    }
    return port
  }

  /// Puts a container on the host's network: no published port, no project network; it listens on 127.0.0.1
  /// and its chosen port (`chosen`: by apphost, not the manifest's `hostPort`), which its label records.
  func placeOnHostNetwork(_ plan: inout ContainerPlan, chosen: Bool) throws(AppHostError) {
    let port = try listeningPort(plan.resource)
    plan.hostNetwork = true
    plan.network = nil
    plan.containerPort = port
    plan.hostPort = port
    plan.hostPortChosen = chosen
    plan.labels.append(Label(LabelKey.hostNetworkPort, "\(port)"))
    plan.configHash = configHash(plan)
  }

  /// A sentinel of `primary`'s cache: the cache's server program in sentinel mode, image and lifetime; its
  /// own port; no data (what it learns it writes into its own configuration file, which goes with it). It
  /// watches the primary by the cache's name at 127.0.0.1 and the primary's port (natively, or in a container
  /// on the host's network), which is what it hands clients, and finds the replicas and the other sentinels
  /// from the primary.
  func sentinelContainer(_ sentinel: String, of primary: ContainerPlan, _ cache: CacheSpec, password: Value?)
    throws(AppHostError) -> ContainerPlan
  {
    var settings = cache.container
    settings.hostPort = nil
    let watching = SentinelSettings(
      master: primary.resource, primary: primary.containerName, quorum: Planner.sentinelQuorum)
    var environment: [EnvironmentVariable] = []
    if let password { environment.append(EnvironmentVariable(ServerCommand.passwordVariable(cache.server), password)) }
    // The container's command (natively the engine writes the file: NativeLaunch). Published, every server is
    // found by its service name.
    var command = ""
    if context.publishing {
      var published = watching
      published.primary = primary.resource
      command = ServerCommand.sentinelCommandLine(
        server: cache.server, sentinel: published, hasPassword: password != nil, port: Planner.sentinelPort,
        primaryPort: Planner.cachePort, announcing: sentinel)
    } else if !context.nativeEngine {
      command = ServerCommand.sentinelCommandLine(
        server: cache.server, sentinel: watching, hasPassword: password != nil, port: try listeningPort(sentinel),
        primaryPort: primary.containerPort)
    }
    var plan = container(
      sentinel, kind: primary.kind, settings: settings, containerPort: Planner.sentinelPort,
      environment: environment, mounts: [], user: nil, entrypoint: "/bin/sh", command: ["-c", command], caches: [],
      health: .sentinel(
        password: password, tls: nil, master: primary.resource, replicas: cache.replicas,
        sentinels: Planner.sentinelCount),
      savesBeforeStop: false)
    plan.image = primary.image
    plan.labels.append(Label(LabelKey.sentinelOf, primary.resource))
    plan.sentinelOf = primary.resource
    plan.server = ServerPlan(
      kind: cache.server, command: primary.server?.command, password: password, persistence: nil, extraArguments: [])
    plan.server?.sentinel = watching
    plan.configHash = configHash(plan)
    return plan
  }

  /// The port a cache listens on in its container, where a UI reaches it: 6379, or a cluster node's own
  /// (`listeningPorts` also holds the ports of the servers sentinels watch, which a UI does not reach).
  func networkPort(of cache: String) -> Int {
    guard manifest[cache]?.cache?.cluster != nil else { return Planner.cachePort }
    return context.listeningPorts[cache] ?? Planner.cachePort
  }

  func shownCaches(_ caches: [String]?) -> [String] {
    caches ?? manifest.resources.filter(\.type.isCache).map(\.name)
  }

  /// Whether the UI `resource` runs on the host's network (`uisOnHostNetwork`): in containers, not published.
  func uiOnHostNetwork(_ resource: String) -> Bool {
    !context.nativeEngine && !context.publishing && Planner.uisOnHostNetwork(manifest).contains { $0.ui == resource }
  }

  /// Where a UI reaches `cache`: at 127.0.0.1 and the port it listens on or is published on, from the host's
  /// network; else by name on the project network (published, the nodes and the sentinels name each other
  /// so); a cache sentinels watch at its first sentinel.
  func uiConnection(to cache: String, hostNetwork: Bool, passwordVariable: String?) throws(AppHostError)
    -> UIConnection
  {
    let spec = manifest[cache]?.cache
    if spec?.sentinel == true {
      let sentinel = Planner.sentinelNames(of: cache)[0]
      return UIConnection(
        name: cache, host: hostNetwork ? Planner.host : sentinel,
        port: hostNetwork ? try listeningPort(sentinel) : Planner.sentinelPort, mode: .sentinel(master: cache),
        passwordVariable: passwordVariable)
    }
    return UIConnection(
      name: cache, host: hostNetwork ? Planner.host : cache,
      port: hostNetwork ? try listeningPort(cache) : networkPort(of: cache),
      mode: spec?.cluster != nil ? .cluster : .standalone, passwordVariable: passwordVariable)
  }

  /// A UI on the host's network listens on 127.0.0.1 only, at its chosen port (`variables`: the names its
  /// image reads them from).
  func listeningOnHost(_ plan: inout ContainerPlan, variables: (host: String, port: String), fixed: Int?)
    throws(AppHostError)
  {
    plan.environment.set(EnvironmentVariable(variables.host, .text(Planner.host)))
    plan.environment.set(EnvironmentVariable(variables.port, .text(String(try listeningPort(plan.resource)))))
    try placeOnHostNetwork(&plan, chosen: fixed == nil)
  }

  func insightContainer(_ resource: String, _ insight: RedisInsightSpec, passwords: [String: Value?])
    throws(AppHostError) -> ContainerPlan
  {
    var environment: [EnvironmentVariable] = []
    var mounts = insight.dataVolume.map { [volumeMount(resource, $0)] } ?? []
    let caches = shownCaches(insight.caches)
    let hostNetwork = uiOnHostNetwork(resource)
    // The caches sentinels watch: RedisInsight takes those from its pre-setup file only, which its container
    // writes at start.
    var sentinels: [(id: String, connection: UIConnection)] = []
    for (offset, cache) in caches.enumerated() {
      let number = offset + 1
      let password = passwords[cache] ?? nil
      if manifest[cache]?.cache?.sentinel == true {
        let variable = "APPHOST_SENTINEL_PASSWORD\(number)"
        if let password { environment.append(EnvironmentVariable(variable, password)) }
        sentinels.append(
          (
            "\(number)",
            try uiConnection(to: cache, hostNetwork: hostNetwork, passwordVariable: password.map { _ in variable })
          ))
        continue
      }
      let connection = try uiConnection(to: cache, hostNetwork: hostNetwork, passwordVariable: nil)
      environment.append(EnvironmentVariable("RI_REDIS_HOST\(number)", .text(connection.host)))
      environment.append(EnvironmentVariable("RI_REDIS_PORT\(number)", .text(String(connection.port))))
      environment.append(EnvironmentVariable("RI_REDIS_ALIAS\(number)", .text(cache)))
      if let password {
        environment.append(EnvironmentVariable("RI_REDIS_PASSWORD\(number)", password))
      }
      if manifest[cache]?.cache?.tls == true {
        // TLS, with the project's CA (mounted read-only) to check the cache's certificate against.
        environment.append(EnvironmentVariable("RI_REDIS_TLS\(number)", "true"))
        environment.append(EnvironmentVariable("RI_REDIS_TLS_CA_PATH\(number)", .text(ServerCommand.tlsCAFile)))
        if !mounts.contains(where: { $0.target == ServerCommand.tlsCAFile }) {
          mounts.append(Mount(source: .bind(tlsFiles.caCertificate), target: ServerCommand.tlsCAFile, readOnly: true))
        }
      }
    }
    if insight.acceptTerms {
      environment.append(EnvironmentVariable("RI_ACCEPT_TERMS_AND_CONDITIONS", "true"))
    }
    var entrypoint: String?
    var command: [String] = []
    if !sentinels.isEmpty {
      environment.append(EnvironmentVariable("RI_PRE_SETUP_DATABASES_PATH", .text(UIConnection.insightFile)))
      entrypoint = "/bin/sh"
      command = ["-c", UIConnection.insightCommandLine(sentinels)]
    }
    for entry in insight.container.env { environment.set(EnvironmentVariable(entry.name, .text(entry.value))) }
    var plan = container(
      resource, kind: .redisinsight, settings: insight.container, containerPort: 5540, environment: environment,
      mounts: mounts, user: nil, entrypoint: entrypoint,
      command: command, caches: caches, health: .http(path: "/api/health"), savesBeforeStop: false)
    if hostNetwork {
      try listeningOnHost(&plan, variables: ("RI_APP_HOST", "RI_APP_PORT"), fixed: insight.container.hostPort)
    }
    return plan
  }

  func commanderContainer(
    _ resource: String, _ commander: RedisCommanderSpec, passwords: [String: Value?], path: JSONPath
  ) throws(AppHostError) -> ContainerPlan {
    // Its REDIS_HOSTS cannot carry TLS: by default it shows the caches that speak plain text (the validator
    // refuses a TLS cache named in its `caches`).
    let caches = commander.caches ?? Planner.commanderDefaultCaches(manifest)
    // A cluster or a cache sentinels watch: connections REDIS_HOSTS cannot describe, written into the
    // configuration file its entrypoint keeps when REDIS_HOSTS is not set (the passwords JSON-escaped, from
    // its environment), run under its image's own `dumb-init --`.
    let topology = caches.contains { manifest[$0]?.cache?.handsOutAddresses == true }
    let hostNetwork = uiOnHostNetwork(resource)
    for cache in caches where !topology {
      // Literal passwords were checked with the manifest; one read from the environment is checked here.
      if let password = passwords[cache] ?? nil, let text = password.revealed(),
        let problem = RedisCommanderPassword.problem(text),
        case .given(.environment(let variable)) = manifest[cache]?.cache?.password
      {
        throw .invalidEnvironmentValue(
          variable: variable, path: JSONPath.resource(cache).appending("password"), file: loaded.path,
          reason: "contains \(problem), which Redis Commander (\(path)) cannot take; "
            + RedisCommanderPassword.remedy(cache: cache, commander: resource))
      }
    }
    var environment: [EnvironmentVariable] = []
    var entrypoint: String?
    var command: [String] = []
    if topology {
      var connections: [UIConnection] = []
      for (offset, cache) in caches.enumerated() {
        let variable = "APPHOST_PASSWORD\(offset + 1)"
        let password = passwords[cache] ?? nil
        if let password { environment.append(EnvironmentVariable(variable, password)) }
        connections.append(
          try uiConnection(to: cache, hostNetwork: hostNetwork, passwordVariable: password.map { _ in variable }))
      }
      entrypoint = "/usr/bin/dumb-init"
      command = ["--", "/bin/sh", "-c", UIConnection.commanderCommandLine(connections)]
    } else {
      var hosts = Value([])
      for (offset, cache) in caches.enumerated() {
        if offset > 0 { hosts = hosts + "," }
        hosts = hosts + .text("\(cache):\(cache):\(networkPort(of: cache)):0")
        if let password = passwords[cache] ?? nil { hosts = hosts + ":" + password }
      }
      environment.append(EnvironmentVariable("REDIS_HOSTS", hosts))
    }
    for entry in commander.container.env { environment.set(EnvironmentVariable(entry.name, .text(entry.value))) }
    var plan = container(
      resource, kind: .rediscommander, settings: commander.container, containerPort: 8081,
      environment: environment, mounts: [], user: nil, entrypoint: entrypoint, command: command, caches: caches,
      health: .http(path: "/healthcheck"), savesBeforeStop: false)
    if hostNetwork {
      try listeningOnHost(&plan, variables: ("ADDRESS", "PORT"), fixed: commander.container.hostPort)
    }
    return plan
  }

  /// UIs reach caches by name: then every container joins the project network.
  var needsNetwork: Bool { !context.nativeEngine && Planner.network(for: loaded) != nil }

  func container(
    _ resource: String, kind: ContainerKind, settings: ContainerSettings, containerPort: Int,
    environment: [EnvironmentVariable], mounts: [Mount], user: String?, entrypoint: String?, command: [String],
    caches: [String], health: HealthCheck, savesBeforeStop: Bool
  ) -> ContainerPlan {
    var plan = ContainerPlan(
      resource: resource, kind: kind, containerName: containerName(resource), image: image(settings, kind: kind),
      lifetime: settings.lifetime, containerPort: containerPort, hostPort: settings.hostPort,
      network: needsNetwork ? project : nil,
      labels: projectLabels + [
        Label(LabelKey.resource, resource), Label(LabelKey.lifetime, settings.lifetime.rawValue),
      ] + (savesBeforeStop ? [Label(LabelKey.savesBeforeStop, "true")] : []),
      environment: environment, mounts: mounts, user: user, entrypoint: entrypoint, command: command,
      caches: caches, health: health, savesBeforeStop: savesBeforeStop, configHash: "")
    plan.configHash = configHash(plan)
    return plan
  }

  /// Everything that shapes the container, secrets included (a changed password must recreate it).
  /// Not the network: a container that must join one later is connected, not recreated.
  func configHash(_ plan: ContainerPlan) -> String {
    var hasher = ConfigHasher()
    var unattached = plan
    unattached.network = nil
    hasher.combine(unattached.runArguments(flavor: .docker, owner: nil))
    hasher.combine(plan.environment.map { "\($0.name)=\($0.value.revealed() ?? "")" })
    if let command = plan.server?.command { hasher.combine("nativeCommand=" + command) }
    // The file's contents shape the server as much as its flags do.
    if let config = plan.server?.configFile { hasher.combine("configFile=\(config.path):\(config.digest)") }
    // A certificate made again must reach a server that would otherwise be reused with the old one.
    if let tls = plan.server?.tls { hasher.combine("tls=\(tls.digest)") }
    return hasher.hex
  }

  // MARK: Executables

  func executablePlan(
    _ resource: String, _ spec: ExecutableSpec, endpoints: [Endpoint], programs: [String: [ProgramEndpoint]]
  ) throws(AppHostError) -> ExecutablePlan {
    var fileEntries: [EnvironmentEntry] = []
    if let envFile = spec.envFile {
      let path = resolvePath(envFile, relativeTo: loaded.projectDirectory)
      switch DotEnv.parse(contentsOf: path) {
      case .success(let entries): fileEntries = entries.map { EnvironmentEntry($0.name, $0.value) }
      case .failure(let problem):
        throw .invalidManifest(
          file: loaded.path,
          diagnostics: [
            Diagnostic(.error, JSONPath.resource(resource).appending("envFile"), "\(quoted(envFile)): \(problem)")
          ])
      }
    }
    let environment = Planner.executableEnvironment(
      spec, endpoints: endpoints, programs: programs, own: programs[resource] ?? [], envFile: fileEntries)
    let templated = (spec.env.map(\.value) + spec.args).flatMap { text -> [String] in
      (try? Template.parse(text).get())?.referencedResources ?? []
    }
    var waitFor = spec.waitFor ?? spec.references
    if spec.waitFor == nil {
      for name in templated where !waitFor.contains(name) { waitFor.append(name) }
    }
    // Connection strings are outside apphost: there is nothing to wait for.
    waitFor.removeAll { name in manifest[name]?.type == .connectionString }
    var needs = waitFor
    for name in spec.references + templated where !needs.contains(name) && manifest[name]?.type != .connectionString {
      needs.append(name)
    }
    let workingDirectory = resolvePath(spec.workingDirectory ?? ".", relativeTo: loaded.projectDirectory)
    var plan = ExecutablePlan(
      resource: resource, command: spec.command, resolvedCommand: resolveCommand(spec.command),
      arguments: spec.args.map { Planner.resolveTemplate($0, endpoints: endpoints, programs: programs) },
      workingDirectory: workingDirectory, environment: environment, replicas: spec.isTask ? 1 : spec.replicas,
      restart: spec.isTask ? .no : spec.restart, references: spec.references, waitFor: waitFor, needs: needs,
      image: spec.image)
    plan.isTask = spec.isTask
    plan.endpoints = programs[resource] ?? []
    plan.readiness = spec.isTask ? .started : Planner.programReadiness(spec)
    plan.watch = spec.watch.map { watch in
      ProgramWatch(
        paths: watch.paths.map { resolvePath($0, relativeTo: loaded.projectDirectory) }, ignore: watch.ignore)
    }
    plan.readinessTimeout = .milliseconds(
      Int(((spec.readiness?.timeoutSeconds ?? ReadinessSpec.defaultTimeoutSeconds) * 1000).rounded()))
    return plan
  }
}

extension Planner {
  /// What an executable gets: the connection variables of its references, then its own `env` (which
  /// wins), placeholders resolved against `endpoints` (the host's, or a container network's when
  /// publishing).
  ///
  /// `programs` are the endpoints of the project's programs (references to them give `API_URL` and the
  /// like), `own` the program's own (its `PORT`), `envFile` the entries of its `envFile` (after the
  /// injected values, before its `env`).
  package static func executableEnvironment(
    _ spec: ExecutableSpec, endpoints: [Endpoint], programs: [String: [ProgramEndpoint]] = [:],
    own: [ProgramEndpoint] = [], envFile: [EnvironmentEntry] = []
  ) -> [EnvironmentVariable] {
    var environment = ConnectionEnvironment.variables(
      for: spec.references.compactMap { name in endpoints.first { $0.resource == name } })
    for name in spec.references {
      for variable in programReferenceVariables(name, endpoints: programs[name] ?? []) {
        environment.set(variable)
      }
    }
    for endpoint in own {
      if let variable = endpoint.variable { environment.set(EnvironmentVariable(variable, endpoint.port)) }
    }
    for entry in envFile { environment.set(EnvironmentVariable(entry.name, .text(entry.value))) }
    for entry in spec.env {
      environment.set(
        EnvironmentVariable(entry.name, resolveTemplate(entry.value, endpoints: endpoints, programs: programs)))
    }
    return environment
  }

  package static func resolveTemplate(
    _ text: String, endpoints: [Endpoint], programs: [String: [ProgramEndpoint]] = [:]
  ) -> Value {
    // Placeholders were validated with the manifest.
    guard case .success(let template) = Template.parse(text) else { return .text(text) }
    var value = Value([])
    for part in template.parts {
      switch part {
      case .text(let literal): value = value + .text(literal)
      case .replica: value = value + Value([.replica])
      case .reference(let name, let property):
        if let first = programs[name]?.first {
          value = value + programEndpointValue(first, property)
          continue
        }
        guard let endpoint = endpoints.first(where: { $0.resource == name }) else { continue }
        switch property {
        case .host: value = value + .text(endpoint.host)
        case .port: value = value + endpoint.port
        case .password: value = value + (endpoint.password ?? "")
        case .connectionString: value = value + endpoint.connectionString
        case .uri: value = value + endpoint.uri()
        case .url: value = value + endpoint.url()
        }
      case .endpoint(let name, let endpointName, let property):
        guard let endpoint = programs[name]?.first(where: { $0.name == endpointName }) else { continue }
        value = value + programEndpointValue(endpoint, property)
      }
    }
    return value
  }
}

extension Planner {
  static func programEndpointValue(_ endpoint: ProgramEndpoint, _ property: TemplateProperty) -> Value {
    switch property {
    case .host: .text(endpoint.host)
    case .url: endpoint.url
    default: endpoint.port
    }
  }
}

extension Builder {
  /// A command with a `/` is a path relative to apphost.json; one without is looked up on PATH.
  func resolveCommand(_ command: String) -> String? {
    if command.contains("/") {
      return resolvePath(command, relativeTo: loaded.projectDirectory)
    }
    return findExecutable(command, path: context.environment["PATH"])
  }

  // MARK: Order

  /// Containers first, all at once (UIs connect to caches lazily); each executable after what it waits for.
  func stages(executables: [ExecutablePlan]) -> [[String]] {
    var level: [String: Int] = [:]
    for resource in manifest.resources where resource.executable == nil && resource.type != .connectionString {
      level[resource.name] = 0
    }
    var remaining = executables
    var current = 1
    while !remaining.isEmpty {
      let ready = remaining.filter { executable in
        executable.waitFor.allSatisfy { name in
          level[name].map { $0 < current } ?? (manifest[name]?.type == .connectionString)
        }
      }
      // The validator rejects cycles; stop rather than loop if one slipped through.
      guard !ready.isEmpty else { break }
      for executable in ready { level[executable.resource] = current }
      remaining.removeAll { executable in ready.contains { $0.resource == executable.resource } }
      current += 1
    }
    let depth = (level.values.max() ?? -1) + 1
    // A cache's read replicas (or cluster nodes) start with it, right after it.
    let names = manifest.resources.flatMap { resource in
      guard let cache = resource.cache else { return [resource.name] }
      let servers = Planner.serverNames(of: resource.name, cache)
      for server in servers.dropFirst() { level[server] = 0 }
      return servers
    }
    return (0..<depth).map { stage in
      names.filter { level[$0] == stage }
    }.filter { !$0.isEmpty }
  }
}

/// The connection variables of the contract, for a list of endpoints (the first one also gives the
/// `REDIS_*` variables).
package enum ConnectionEnvironment {
  package static func variables(for endpoints: [Endpoint]) -> [EnvironmentVariable] {
    var variables: [EnvironmentVariable] = []
    for endpoint in endpoints {
      let prefix = environmentName(endpoint.resource)
      variables.append(EnvironmentVariable("ConnectionStrings__\(endpoint.resource)", endpoint.connectionString))
      variables.append(EnvironmentVariable("\(prefix)_HOST", .text(endpoint.host)))
      variables.append(EnvironmentVariable("\(prefix)_PORT", endpoint.port))
      if let password = endpoint.password {
        variables.append(EnvironmentVariable("\(prefix)_PASSWORD", password))
      }
      variables.append(EnvironmentVariable("\(prefix)_URI", endpoint.uri()))
      variables.append(EnvironmentVariable("\(prefix)_URL", endpoint.url()))
      if let replicas = endpoint.replicaAddresses {
        variables.append(EnvironmentVariable("\(prefix)_REPLICAS", replicas))
      }
      if let nodes = endpoint.clusterAddresses(first: .text("\(endpoint.host):") + endpoint.port) {
        variables.append(EnvironmentVariable("\(prefix)_CLUSTER_NODES", nodes))
      }
      if let master = endpoint.sentinelMaster, let first = endpoint.sentinelNodes.first {
        let sentinels = endpoint.sentinelNodes.dropFirst().reduce(first) { $0 + "," + $1 }
        variables.append(EnvironmentVariable("\(prefix)_SENTINELS", sentinels))
        variables.append(EnvironmentVariable("\(prefix)_SENTINEL_MASTER", .text(master)))
      }
      if let caFile = endpoint.caFile {
        variables.append(EnvironmentVariable("\(prefix)_TLS_CA_FILE", .text(caFile)))
      }
    }
    if let first = endpoints.first {
      var conventional = [
        EnvironmentVariable("REDIS_HOST", .text(first.host)), EnvironmentVariable("REDIS_PORT", first.port),
      ]
      if let password = first.password {
        conventional.append(EnvironmentVariable("REDIS_PASSWORD", password))
      }
      conventional.append(EnvironmentVariable("REDIS_URL", first.url()))
      // A resource named "redis" gives REDIS_HOST itself; its own variables win.
      for variable in conventional where variables[variable.name] == nil {
        variables.append(variable)
      }
    }
    return variables
  }

  /// `NAME` upper-cased with `-` turned into `_`.
  package static func environmentName(_ resource: String) -> String {
    resource.uppercased().replacing("-", with: "_")
  }
}
