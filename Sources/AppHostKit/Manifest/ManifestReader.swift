import Foundation

/// Turns a parsed JSON document into a `Manifest`, collecting every problem instead of stopping at
/// the first: unknown keys (with a suggestion), duplicate keys, wrong types, bad names and values.
/// Checks that span resources (ports used twice, references, cycles, paths) are in `ManifestValidator`.
package struct ManifestReader {
  package private(set) var diagnostics: [Diagnostic] = []
  /// The location of every value read, for diagnostics found later.
  package private(set) var locations: [JSONPath: TextLocation] = [:]
  /// Every resource named in the file with its type when that could be read, also those with errors:
  /// references to a broken resource are not reported again as references to a missing one.
  package private(set) var declaredResources: [String: ResourceType?] = [:]

  package init() {}

  // MARK: Keys of each kind of object

  static let topLevelKeys = ["$schema", "name", "engine", "resources"]
  static let containerKeys = ["type", "image", "tag", "hostPort", "lifetime", "env", "resources"]
  static let cacheKeys =
    containerKeys + [
      "password", "dataVolume", "dataBindMount", "persistence", "args", "nativeCommand", "configFile", "seed",
    ]
  /// Redis and Valkey also take read replicas (Garnet replicates only in cluster mode) and TLS (Garnet 1.0
  /// reads certificates as PKCS#12 only: DECISIONS.md).
  static let replicatingCacheKeys = cacheKeys + ["replicas", "tls", "cluster", "sentinel"]
  /// The most read replicas a cache takes: each is a server of its own on this machine.
  static let maximumCacheReplicas = 5
  /// A cluster's primaries: three at least, so that most of them remain to elect a failed one's replica.
  static let clusterShards = 3...6
  static let clusterReplicasPerShard = 0...2
  static let insightKeys = containerKeys + ["caches", "dataVolume", "acceptTerms"]
  static let commanderKeys = containerKeys + ["caches"]
  static let executableKeys = [
    "type", "command", "args", "workingDirectory", "references", "waitFor", "env", "replicas", "restart", "image",
    "resources",
    "endpoints", "readiness", "envFile", "watch",
  ]
  /// A task runs once: no endpoints, readiness (its exit is), replicas or restarts.
  static let taskKeys = [
    "type", "command", "args", "workingDirectory", "references", "waitFor", "env", "envFile", "image", "resources",
  ]
  static let connectionStringKeys = ["type", "value"]

  static func keys(of type: ResourceType) -> [String] {
    switch type {
    case .redis, .valkey: replicatingCacheKeys
    case .garnet: cacheKeys
    case .redisinsight: insightKeys
    case .rediscommander: commanderKeys
    case .executable: executableKeys
    case .task: taskKeys
    case .connectionString: connectionStringKeys
    }
  }

  // MARK: Reading the manifest

  package mutating func read(_ root: JSONNode) -> Manifest? {
    guard let members = objectFields(of: root, at: .root, allowed: Self.topLevelKeys, owner: "the manifest")
    else { return nil }
    if let node = members["$schema"] { _ = string(node, at: JSONPath.root.appending("$schema")) }
    var name: String?
    if let node = members["name"] {
      name = projectName(node, at: JSONPath.root.appending("name"))
    }
    var engine: EngineFlavor?
    if let node = members["engine"] {
      engine = enumeration(node, at: JSONPath.root.appending("engine"), as: EngineFlavor.self)
    }
    guard let resourcesNode = members["resources"] else {
      error(
        .root,
        "the manifest has no \"resources\"; add \"resources\": {\"cache\": {\"type\": \"redis\"}} "
          + "(or run `apphost init` for a starter manifest)",
        at: root.location)
      return nil
    }
    let resourcesPath = JSONPath.root.appending("resources")
    guard case .object(let resourceMembers) = resourcesNode.value else {
      typeMismatch(resourcesNode, at: resourcesPath, expected: "an object mapping resource names to resources")
      return nil
    }
    record(resourcesPath, resourcesNode.location)
    var resources: [Resource] = []
    var seen: [String: TextLocation] = [:]
    for member in resourceMembers {
      let path = resourcesPath.appending(member.key)
      if let first = seen[member.key] {
        error(
          path, "the resource \(quoted(member.key)) is defined twice (first at line \(first.line)); keep one",
          at: member.keyLocation)
        continue
      }
      seen[member.key] = member.keyLocation
      declaredResources[member.key] = declaredType(member.value)
      let validName = resourceName(member.key, at: path, location: member.keyLocation)
      if let resource = resource(named: member.key, member.value, at: path), validName {
        resources.append(resource)
      }
    }
    if resourceMembers.isEmpty {
      warning(resourcesPath, "there are no resources, so there is nothing to start", at: resourcesNode.location)
    }
    return Manifest(name: name, engine: engine, resources: resources)
  }

  private mutating func projectName(_ node: JSONNode, at path: JSONPath) -> String? {
    guard let name = string(node, at: path) else { return nil }
    guard name.wholeMatch(of: /[a-z0-9][a-z0-9-]{0,62}/) != nil else {
      error(
        path,
        "the project name \(quoted(name)) is not valid: use lower-case letters, digits and '-', starting with "
          + "a letter or digit, at most 63 characters\(namingHint(name, valid: { $0.wholeMatch(of: /[a-z0-9][a-z0-9-]{0,62}/) != nil }))",
        at: node.location)
      return nil
    }
    return name
  }

  private mutating func resourceName(_ name: String, at path: JSONPath, location: TextLocation) -> Bool {
    if name.wholeMatch(of: /[a-z][a-z0-9-]{0,62}/) != nil { return true }
    error(
      path,
      "the resource name \(quoted(name)) is not valid: use lower-case letters, digits and '-', starting with "
        + "a letter, at most 63 characters\(namingHint(name, valid: { $0.wholeMatch(of: /[a-z][a-z0-9-]{0,62}/) != nil }))",
      at: location)
    return false
  }

  private func namingHint(_ name: String, valid: (String) -> Bool) -> String {
    let candidate = sanitizedName(name)
    return candidate == name || !valid(candidate) ? "" : " (for example \(quoted(candidate)))"
  }

  // MARK: Resources

  private mutating func resource(named name: String, _ node: JSONNode, at path: JSONPath) -> Resource? {
    guard case .object(let members) = node.value else {
      typeMismatch(
        node, at: path,
        expected: "an object describing the resource, such as {\"type\": \"redis\"}")
      return nil
    }
    record(path, node.location)
    guard let typeMember = members.first(where: { $0.key == "type" }) else {
      let guess = members.contains { $0.key == "command" } ? " (\"executable\" for a program)" : ""
      error(
        path.appending("type"),
        "the resource has no \"type\"; add \"type\": one of \(Self.typeList)\(guess)",
        at: node.location)
      return nil
    }
    let typePath = path.appending("type")
    guard let typeName = string(typeMember.value, at: typePath) else { return nil }
    guard let type = ResourceType(rawValue: typeName) else {
      error(
        typePath,
        "unknown type \(quoted(typeName))\(didYouMean(typeName, among: ResourceType.allCases.map(\.rawValue))); "
          + "the types are \(Self.typeList)",
        at: typeMember.value.location)
      return nil
    }
    guard
      let fields = objectFields(
        of: node, at: path, allowed: Self.keys(of: type), owner: "\(article(type)) \(type.rawValue) resource")
    else { return nil }

    switch type {
    case .redis, .valkey, .garnet:
      return cache(ServerKind(rawValue: type.rawValue)!, fields, name: name, at: path)
        .map { Resource(name: name, spec: .cache($0)) }
    case .redisinsight:
      let container = containerSettings(fields, at: path)
      var spec = RedisInsightSpec(container: container)
      if let node = fields["caches"] { spec.caches = names(node, at: path.appending("caches")) }
      if let node = fields["dataVolume"] { spec.dataVolume = dataVolume(node, at: path.appending("dataVolume")) }
      if let node = fields["acceptTerms"] {
        spec.acceptTerms = bool(node, at: path.appending("acceptTerms")) ?? false
      }
      return Resource(name: name, spec: .redisInsight(spec))
    case .rediscommander:
      var spec = RedisCommanderSpec(container: containerSettings(fields, at: path))
      if let node = fields["caches"] { spec.caches = names(node, at: path.appending("caches")) }
      return Resource(name: name, spec: .redisCommander(spec))
    case .executable, .task:
      return executable(fields, node: node, at: path, isTask: type == .task).map {
        Resource(name: name, spec: .executable($0))
      }
    case .connectionString:
      guard let valueNode = fields["value"] else {
        error(
          path.appending("value"),
          "a connectionString resource needs \"value\": the connection string (\"host:6379,password=...\") "
            + "or {\"env\": \"VARIABLE\"} to read it from the environment",
          at: node.location)
        return nil
      }
      let valuePath = path.appending("value")
      guard let source = secretSource(valueNode, at: valuePath, what: "the connection string") else { return nil }
      if case .literal(let text) = source, case .failure(let problem) = ConnectionEndpoint.parse(text) {
        error(valuePath, "the connection string \(problem.reason)", at: valueNode.location)
      }
      return Resource(name: name, spec: .connectionString(ConnectionStringSpec(value: source)))
    }
  }

  private func declaredType(_ node: JSONNode) -> ResourceType? {
    guard case .object(let members) = node.value,
      case .string(let name) = members.first(where: { $0.key == "type" })?.value.value
    else { return nil }
    return ResourceType(rawValue: name)
  }

  private static var typeList: String {
    listing(ResourceType.allCases.map(\.rawValue))
  }

  private func article(_ type: ResourceType) -> String {
    type == .executable ? "an" : "a"
  }

  /// `endpoints`: `{"http": {"port": 8000, "env": "PORT"}}`, each value may be `{}`.
  private mutating func endpoints(_ node: JSONNode, at path: JSONPath) -> [EndpointSpec] {
    guard case .object(let members) = node.value else {
      typeMismatch(node, at: path, expected: "an object of endpoints, such as {\"http\": {\"port\": 8000}}")
      return []
    }
    record(path, node.location)
    var endpoints: [EndpointSpec] = []
    var seen: Set<String> = []
    for member in members {
      let endpointPath = path.appending(member.key)
      guard seen.insert(member.key).inserted else {
        error(endpointPath, "the endpoint \(quoted(member.key)) is defined twice; keep one", at: member.keyLocation)
        continue
      }
      guard member.key.wholeMatch(of: /[a-z][a-z0-9-]{0,62}/) != nil else {
        error(
          endpointPath,
          "the endpoint name \(quoted(member.key)) is not valid: use lower-case letters, digits and '-', starting "
            + "with a letter (\"http\", \"grpc\")",
          at: member.keyLocation)
        continue
      }
      guard
        let fields = objectFields(
          of: member.value, at: endpointPath, allowed: ["port", "env"], owner: "an endpoint")
      else { continue }
      var endpoint = EndpointSpec(name: member.key)
      if let portNode = fields["port"] {
        endpoint.port = integer(
          portNode, at: endpointPath.appending("port"), in: 1...65535,
          expected: "a port number from 1 to 65535 (or leave port out to let apphost pick a free one)")
      }
      if let envNode = fields["env"], let variable = string(envNode, at: endpointPath.appending("env")) {
        if variable.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil {
          endpoint.env = variable
        } else {
          error(
            endpointPath.appending("env"),
            "\(quoted(variable)) is not an environment variable name: use letters, digits and '_', not starting "
              + "with a digit",
            at: envNode.location)
        }
      }
      endpoints.append(endpoint)
    }
    return endpoints
  }

  /// `watch`: `{"paths": ["src"], "ignore": ["**/__pycache__/**"]}`.
  private mutating func watch(_ node: JSONNode, at path: JSONPath) -> WatchSpec? {
    guard let fields = objectFields(of: node, at: path, allowed: ["paths", "ignore"], owner: "watch") else {
      return nil
    }
    guard let pathsNode = fields["paths"] else {
      error(
        path.appending("paths"), "watch needs \"paths\": the folders or files to watch, such as [\"src\"]",
        at: node.location)
      return nil
    }
    guard let paths = strings(pathsNode, at: path.appending("paths")) else { return nil }
    if paths.isEmpty {
      error(path.appending("paths"), "watch has no paths; name at least one folder or file", at: pathsNode.location)
      return nil
    }
    var ignore: [String] = []
    if let ignoreNode = fields["ignore"] { ignore = strings(ignoreNode, at: path.appending("ignore")) ?? [] }
    return WatchSpec(paths: paths, ignore: ignore)
  }

  static let readinessKinds = ["http", "tcp", "log", "command"]

  /// `readiness`: `{"http": "/health"}`, `{"tcp": "http"}`, `{"log": "REGEX"}`, `{"command": [...]}` (each
  /// with an optional `"timeout"` in seconds, http also with `"endpoint"`), or false / "none".
  private mutating func readiness(_ node: JSONNode, at path: JSONPath) -> ReadinessSpec? {
    switch node.value {
    case .bool(false):
      record(path, node.location)
      return ReadinessSpec(check: nil)
    case .string("none"):
      record(path, node.location)
      return ReadinessSpec(check: nil)
    case .object:
      break
    default:
      typeMismatch(
        node, at: path,
        expected: "{\"http\": \"/health\"}, {\"tcp\": \"ENDPOINT\"}, {\"log\": \"REGEX\"}, "
          + "{\"command\": [...]} or false")
      return nil
    }
    guard
      let fields = objectFields(
        of: node, at: path, allowed: Self.readinessKinds + ["timeout", "endpoint"], owner: "readiness")
    else { return nil }
    let kinds = Self.readinessKinds.filter { fields[$0] != nil }
    guard kinds.count == 1, let kind = kinds.first, let value = fields[kind] else {
      error(
        path,
        kinds.isEmpty
          ? "readiness needs one check: \"http\" (a path), \"tcp\" (an endpoint), \"log\" (a regular "
            + "expression) or \"command\" (an argument array); or write false for none"
          : "readiness takes one check, found \(listing(kinds.map(quoted), conjunction: "and")); keep one",
        at: node.location)
      return nil
    }
    let kindPath = path.appending(kind)
    var spec = ReadinessSpec(check: nil)
    if let timeoutNode = fields["timeout"] {
      if case .number(let number) = timeoutNode.value, let seconds = Double(number.text), seconds > 0,
        seconds <= 86_400
      {
        record(path.appending("timeout"), timeoutNode.location)
        spec.timeoutSeconds = seconds
      } else {
        typeMismatch(timeoutNode, at: path.appending("timeout"), expected: "a number of seconds above 0")
      }
    }
    var endpoint: String?
    if let endpointNode = fields["endpoint"] {
      endpoint = string(endpointNode, at: path.appending("endpoint"), nonEmpty: true)
      if kind != "http" {
        error(
          path.appending("endpoint"), "\"endpoint\" goes with an \"http\" check; a tcp check names its endpoint itself",
          at: endpointNode.location)
      }
    }
    switch kind {
    case "http":
      guard let route = string(value, at: kindPath, nonEmpty: true) else { return nil }
      guard route.hasPrefix("/"), !route.contains(where: \.isWhitespace) else {
        error(kindPath, "\(quoted(route)) is not a path: write one starting with '/' (\"/health\")", at: value.location)
        return nil
      }
      spec.check = .http(path: route, endpoint: endpoint)
    case "tcp":
      guard let name = string(value, at: kindPath, nonEmpty: true) else { return nil }
      spec.check = .tcp(endpoint: name)
    case "log":
      guard let pattern = string(value, at: kindPath, nonEmpty: true) else { return nil }
      do {
        _ = try Regex(pattern)
      } catch {
        self.error(kindPath, "\(quoted(pattern)) is not a regular expression: \(error)", at: value.location)
        return nil
      }
      spec.check = .log(pattern: pattern)
    default:
      guard let words = strings(value, at: kindPath) else { return nil }
      guard let first = words.first, !first.isEmpty else {
        error(kindPath, "the command is empty; write [\"sh\", \"-c\", \"...\"]", at: value.location)
        return nil
      }
      spec.check = .command(words)
    }
    return spec
  }

  private mutating func containerSettings(_ fields: [String: JSONNode], at path: JSONPath) -> ContainerSettings {
    var settings = ContainerSettings()
    if let node = fields["image"] {
      settings.image = imageName(node, at: path.appending("image"))
    }
    if let node = fields["tag"] {
      settings.tag = imageTag(node, at: path.appending("tag"))
      if let image = settings.image, ImageReference.hasTagOrDigest(image), let imageNode = fields["image"] {
        error(
          path.appending("image"),
          "\(quoted(image)) already names a tag; remove \"tag\", or the tag from \"image\"",
          at: imageNode.location)
      }
    }
    if let node = fields["hostPort"] {
      settings.hostPort = integer(
        node, at: path.appending("hostPort"), in: 1...65535,
        expected: "a port number from 1 to 65535 (or leave hostPort out to let the engine pick a free port)")
    }
    if let node = fields["lifetime"] {
      settings.lifetime = enumeration(node, at: path.appending("lifetime"), as: Lifetime.self) ?? .session
    }
    if let node = fields["env"] {
      settings.env = environment(node, at: path.appending("env"))
    }
    if let node = fields["resources"] {
      settings.resources = computeResources(node, at: path.appending("resources"))
    }
    return settings
  }

  private mutating func cache(_ server: ServerKind, _ fields: [String: JSONNode], name: String, at path: JSONPath)
    -> CacheSpec?
  {
    var spec = CacheSpec(server: server, container: containerSettings(fields, at: path))
    if let node = fields["password"] {
      let passwordPath = path.appending("password")
      switch node.value {
      case .bool(true): spec.password = .generated
      case .bool(false): spec.password = .none
      default:
        if let source = secretSource(node, at: passwordPath, what: "the password", allowsBool: true) {
          spec.password = .given(source)
        }
      }
      record(passwordPath, node.location)
    }
    if let node = fields["dataVolume"] {
      spec.dataVolume = dataVolume(node, at: path.appending("dataVolume"))
    }
    if let node = fields["dataBindMount"] {
      spec.dataBindMount = bindMount(node, at: path.appending("dataBindMount"))
    }
    if let node = fields["persistence"] {
      spec.persistence = persistence(node, at: path.appending("persistence"), server: server) ?? .automatic
    }
    if let node = fields["args"] {
      spec.args = strings(node, at: path.appending("args")) ?? []
    }
    if let node = fields["nativeCommand"] {
      spec.nativeCommand = string(node, at: path.appending("nativeCommand"), nonEmpty: true)
    }
    if let node = fields["configFile"] {
      spec.configFile = string(node, at: path.appending("configFile"), nonEmpty: true).map(CacheConfigFile.init)
    }
    if let node = fields["seed"] {
      spec.seed = seed(node, at: path.appending("seed"))
    }
    if let node = fields["replicas"] {
      spec.replicas =
        integer(
          node, at: path.appending("replicas"), in: 1...Self.maximumCacheReplicas,
          expected: "a whole number of read replicas from 1 to \(Self.maximumCacheReplicas) "
            + "(each is a server of its own; leave \"replicas\" out for none)") ?? 0
    }
    if let node = fields["tls"] {
      spec.tls = bool(node, at: path.appending("tls")) ?? false
    }
    if let node = fields["cluster"] {
      spec.cluster = cluster(node, at: path.appending("cluster"))
    }
    if let node = fields["sentinel"] {
      spec.sentinel = bool(node, at: path.appending("sentinel")) ?? false
    }
    return spec
  }

  /// `"cluster": true` (3 shards, 1 replica each) or `{"shards": S, "replicasPerShard": R}`.
  private mutating func cluster(_ node: JSONNode, at path: JSONPath) -> ClusterSpec? {
    switch node.value {
    case .bool(let on):
      record(path, node.location)
      return on ? ClusterSpec() : nil
    case .object:
      guard
        let fields = objectFields(of: node, at: path, allowed: ["shards", "replicasPerShard"], owner: "cluster")
      else { return nil }
      var spec = ClusterSpec()
      if let shards = fields["shards"] {
        spec.shards =
          integer(
            shards, at: path.appending("shards"), in: Self.clusterShards,
            expected: "a whole number of shards from \(Self.clusterShards.lowerBound) to "
              + "\(Self.clusterShards.upperBound) (a cluster fails a shard over only while most primaries answer)")
          ?? spec.shards
      }
      if let replicas = fields["replicasPerShard"] {
        spec.replicasPerShard =
          integer(
            replicas, at: path.appending("replicasPerShard"), in: Self.clusterReplicasPerShard,
            expected: "a whole number of replicas per shard from \(Self.clusterReplicasPerShard.lowerBound) to "
              + "\(Self.clusterReplicasPerShard.upperBound) (0: a shard whose primary stops is down until it is back)")
          ?? spec.replicasPerShard
      }
      return spec
    default:
      typeMismatch(node, at: path, expected: "true or {\"shards\": 3, \"replicasPerShard\": 1}")
      return nil
    }
  }

  private mutating func executable(
    _ fields: [String: JSONNode], node: JSONNode, at path: JSONPath, isTask: Bool = false
  )
    -> ExecutableSpec?
  {
    // A broken command is reported, and the rest is still read so that its problems show too.
    let commandPath = path.appending("command")
    var command = ""
    if let commandNode = fields["command"] {
      command = string(commandNode, at: commandPath) ?? ""
      if case .string = commandNode.value, command.trimmingCharacters(in: .whitespaces).isEmpty {
        error(
          commandPath, "the command is empty; name a program such as \"python3\" or \"./run.sh\"",
          at: commandNode.location)
      }
    } else {
      error(
        commandPath,
        "\(isTask ? "a task" : "an executable") needs \"command\": the program to run, looked up on PATH (\"python3\") or a path "
          + "relative to apphost.json (\"./run.sh\")",
        at: node.location)
    }
    var spec = ExecutableSpec(command: command)
    spec.isTask = isTask
    if let node = fields["endpoints"] { spec.endpoints = endpoints(node, at: path.appending("endpoints")) }
    if let node = fields["readiness"] { spec.readiness = readiness(node, at: path.appending("readiness")) }
    if let node = fields["envFile"] { spec.envFile = string(node, at: path.appending("envFile"), nonEmpty: true) }
    if let node = fields["watch"] { spec.watch = watch(node, at: path.appending("watch")) }
    if command.contains(" "), fields["args"] == nil, !command.contains("/") {
      warning(
        commandPath,
        "the command \(quoted(command)) contains a space but is run as one program name, not through a shell; "
          + "put its arguments in \"args\"",
        at: fields["command"]?.location)
    }
    if let node = fields["args"] { spec.args = strings(node, at: path.appending("args")) ?? [] }
    if let node = fields["workingDirectory"] {
      spec.workingDirectory = string(node, at: path.appending("workingDirectory"), nonEmpty: true)
    }
    if let node = fields["references"] { spec.references = names(node, at: path.appending("references")) ?? [] }
    if let node = fields["waitFor"] { spec.waitFor = names(node, at: path.appending("waitFor")) }
    if let node = fields["env"] { spec.env = environment(node, at: path.appending("env")) }
    if let node = fields["replicas"] {
      spec.replicas =
        integer(node, at: path.appending("replicas"), in: 1...1000, expected: "a whole number of copies from 1 to 1000")
        ?? 1
    }
    if let node = fields["restart"] {
      spec.restart = enumeration(node, at: path.appending("restart"), as: RestartPolicy.self) ?? .no
    }
    if let node = fields["image"] {
      spec.image = imageName(node, at: path.appending("image"))
    }
    if let node = fields["resources"] {
      spec.resources = computeResources(node, at: path.appending("resources"))
    }
    return spec
  }

  // MARK: Values

  /// `"./seed.redis"` or `{"rdb": "./dump.rdb"}` (paths are resolved and read by the loader).
  private mutating func seed(_ node: JSONNode, at path: JSONPath) -> CacheSeed? {
    switch node.value {
    case .string:
      return string(node, at: path, nonEmpty: true).map { .commands(source: $0, path: "", commands: []) }
    case .object:
      guard let fields = objectFields(of: node, at: path, allowed: ["rdb"], owner: "seed") else { return nil }
      guard let file = fields["rdb"] else {
        error(
          path.appending("rdb"), "seed as an object needs \"rdb\": the RDB file to load (\"./dump.rdb\")",
          at: node.location)
        return nil
      }
      return string(file, at: path.appending("rdb"), nonEmpty: true).map { .rdb(source: $0, path: "") }
    default:
      typeMismatch(node, at: path, expected: "a file of commands (\"./seed.redis\") or {\"rdb\": \"./dump.rdb\"}")
      return nil
    }
  }

  private mutating func dataVolume(_ node: JSONNode, at path: JSONPath) -> DataVolume? {
    switch node.value {
    case .bool(let on):
      record(path, node.location)
      return on ? DataVolume() : nil
    case .object:
      guard let fields = objectFields(of: node, at: path, allowed: ["name", "readOnly"], owner: "dataVolume") else {
        return nil
      }
      var volume = DataVolume()
      if let nameNode = fields["name"], let name = string(nameNode, at: path.appending("name")) {
        if name.wholeMatch(of: /[a-zA-Z0-9][a-zA-Z0-9_.-]+/) != nil {
          volume.name = name
        } else {
          error(
            path.appending("name"),
            "the volume name \(quoted(name)) is not valid: use at least two letters, digits, '_', '.' or '-', "
              + "starting with a letter or digit",
            at: nameNode.location)
        }
      }
      if let readOnly = fields["readOnly"] { volume.readOnly = bool(readOnly, at: path.appending("readOnly")) ?? false }
      return volume
    default:
      typeMismatch(node, at: path, expected: "true, false or {\"name\": \"...\", \"readOnly\": false}")
      return nil
    }
  }

  private mutating func bindMount(_ node: JSONNode, at path: JSONPath) -> BindMount? {
    if case .string(let source) = node.value {
      error(
        path,
        "dataBindMount is an object: write {\"source\": \(quoted(source))} (with \"readOnly\": true to mount "
          + "it read-only)",
        at: node.location)
      return nil
    }
    guard let fields = objectFields(of: node, at: path, allowed: ["source", "readOnly"], owner: "dataBindMount") else {
      return nil
    }
    guard let sourceNode = fields["source"] else {
      error(
        path.appending("source"),
        "dataBindMount needs \"source\": a folder, relative to apphost.json (\"./data/cache\")",
        at: node.location)
      return nil
    }
    guard let source = string(sourceNode, at: path.appending("source"), nonEmpty: true) else { return nil }
    var mount = BindMount(source: source)
    if let readOnly = fields["readOnly"] { mount.readOnly = bool(readOnly, at: path.appending("readOnly")) ?? false }
    return mount
  }

  private mutating func persistence(_ node: JSONNode, at path: JSONPath, server: ServerKind) -> PersistenceSetting? {
    switch node.value {
    case .bool(let on):
      record(path, node.location)
      return on
        ? .enabled(
          intervalSeconds: PersistenceSetting.defaultIntervalSeconds,
          keysChangedThreshold: PersistenceSetting.defaultKeysChangedThreshold)
        : .disabled
    case .object:
      guard
        let fields = objectFields(
          of: node, at: path, allowed: ["intervalSeconds", "keysChangedThreshold"], owner: "persistence")
      else { return nil }
      var interval = PersistenceSetting.defaultIntervalSeconds
      var keys = PersistenceSetting.defaultKeysChangedThreshold
      if let intervalNode = fields["intervalSeconds"] {
        interval =
          integer(
            intervalNode, at: path.appending("intervalSeconds"), in: 1...86_400,
            expected: "a number of seconds from 1 to 86400") ?? interval
      }
      if let keysNode = fields["keysChangedThreshold"] {
        keys =
          integer(
            keysNode, at: path.appending("keysChangedThreshold"), in: 1...Int(Int32.max),
            expected: "a number of changed keys of at least 1") ?? keys
        if server == .garnet {
          warning(
            path.appending("keysChangedThreshold"),
            "Garnet has no changed-keys threshold: it commits its append-only file every intervalSeconds; "
              + "this value is not used",
            at: keysNode.location)
        }
      }
      return .enabled(intervalSeconds: interval, keysChangedThreshold: keys)
    default:
      typeMismatch(
        node, at: path, expected: "false, true or {\"intervalSeconds\": 60, \"keysChangedThreshold\": 1}")
      return nil
    }
  }

  /// `{"memory": "256Mi", "cpu": "250m"}`, Kubernetes quantities.
  private mutating func computeResources(_ node: JSONNode, at path: JSONPath) -> ComputeResources {
    guard let fields = objectFields(of: node, at: path, allowed: ["memory", "cpu"], owner: "resources") else {
      return ComputeResources()
    }
    var resources = ComputeResources()
    if let memoryNode = fields["memory"], let memory = string(memoryNode, at: path.appending("memory")) {
      if memory.wholeMatch(of: /[1-9][0-9]*(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?|0\.[0-9]*[1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)/)
        != nil
      {
        resources.memory = memory
      } else {
        error(
          path.appending("memory"),
          "\(quoted(memory)) is not an amount of memory: write a Kubernetes quantity such as \"256Mi\" or \"1Gi\"",
          at: memoryNode.location)
      }
    }
    if let cpuNode = fields["cpu"] {
      var text: String?
      if case .number(let number) = cpuNode.value {
        text = number.text
        record(path.appending("cpu"), cpuNode.location)
      } else {
        text = string(cpuNode, at: path.appending("cpu"))
      }
      if let cpu = text {
        if cpu.wholeMatch(of: /[1-9][0-9]*m|[0-9]+(\.[0-9]{1,3})?/) != nil, cpu != "0", Double(cpu) != 0 {
          resources.cpu = cpu
        } else {
          error(
            path.appending("cpu"),
            "\(quoted(cpu)) is not an amount of CPU: write millicores such as \"250m\", or cores such as \"0.5\" or \"2\"",
            at: cpuNode.location)
        }
      }
    }
    return resources
  }

  /// A string, or `{"env": "VARIABLE"}`.
  private mutating func secretSource(_ node: JSONNode, at path: JSONPath, what: String, allowsBool: Bool = false)
    -> SecretSource?
  {
    switch node.value {
    case .string(let text):
      record(path, node.location)
      if text.isEmpty {
        error(
          path,
          allowsBool
            ? "the password is empty; write false for no password, true to generate one, or the password"
            : "\(what) is empty",
          at: node.location)
        return nil
      }
      if allowsBool, let problem = PasswordRules.problem(in: text) {
        error(path, "the password \(problem)", at: node.location)
        return nil
      }
      return .literal(text)
    case .object:
      guard let fields = objectFields(of: node, at: path, allowed: ["env"], owner: "\(what)") else { return nil }
      guard let envNode = fields["env"] else {
        error(path, "write {\"env\": \"VARIABLE\"} to read \(what) from an environment variable", at: node.location)
        return nil
      }
      guard let variable = string(envNode, at: path.appending("env")) else { return nil }
      guard variable.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil else {
        error(
          path.appending("env"),
          "\(quoted(variable)) is not an environment variable name: use letters, digits and '_', not starting "
            + "with a digit",
          at: envNode.location)
        return nil
      }
      return .environment(variable)
    default:
      let expected =
        allowsBool
        ? "true (generate one), false (none), the password, or {\"env\": \"VARIABLE\"}"
        : "a string, or {\"env\": \"VARIABLE\"} to read it from the environment"
      typeMismatch(node, at: path, expected: expected)
      return nil
    }
  }

  private mutating func imageName(_ node: JSONNode, at path: JSONPath) -> String? {
    guard let image = string(node, at: path, nonEmpty: true) else { return nil }
    if image.contains(where: { $0.isWhitespace || $0.isUppercase }) {
      error(
        path,
        "\(quoted(image)) is not an image repository: use lower-case letters, digits, '.', '-', '_' and '/' "
          + "(\"docker.io/library/redis\")",
        at: node.location)
      return nil
    }
    return image
  }

  private mutating func imageTag(_ node: JSONNode, at path: JSONPath) -> String? {
    if case .number(let number) = node.value {
      error(
        path, "write the tag as a string: \"\(number.text)\" (as a number, 8.10 would read as 8.1)", at: node.location)
      return nil
    }
    guard let tag = string(node, at: path, nonEmpty: true) else { return nil }
    guard tag.wholeMatch(of: /[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/) != nil else {
      error(
        path, "\(quoted(tag)) is not an image tag: use letters, digits, '_', '.' and '-' (\"8.6\", \"latest\")",
        at: node.location)
      return nil
    }
    return tag
  }

  private mutating func environment(_ node: JSONNode, at path: JSONPath) -> [EnvironmentEntry] {
    guard case .object(let members) = node.value else {
      typeMismatch(node, at: path, expected: "an object of variables, such as {\"LOG_LEVEL\": \"debug\"}")
      return []
    }
    record(path, node.location)
    var entries: [EnvironmentEntry] = []
    var seen: [String: TextLocation] = [:]
    for member in members {
      let entryPath = path.appending(member.key)
      record(entryPath, member.value.location)
      if let first = seen[member.key] {
        error(
          entryPath, "\(quoted(member.key)) is set twice (first at line \(first.line)); keep one",
          at: member.keyLocation)
        continue
      }
      seen[member.key] = member.keyLocation
      if member.key.isEmpty || member.key.contains("=") || member.key.contains("\0") {
        error(
          entryPath, "\(quoted(member.key)) is not a variable name: it must be non-empty, without '='",
          at: member.keyLocation)
        continue
      }
      switch member.value.value {
      case .string(let text):
        if text.contains("\0") {
          error(
            entryPath, "the value contains a NUL character, which no environment can hold", at: member.value.location)
          continue
        }
        entries.append(EnvironmentEntry(member.key, text))
      case .number(let number): entries.append(EnvironmentEntry(member.key, number.text))
      case .bool(let flag): entries.append(EnvironmentEntry(member.key, flag ? "true" : "false"))
      default:
        typeMismatch(member.value, at: entryPath, expected: "a string (numbers and true/false are taken as text)")
      }
    }
    return entries
  }

  // MARK: Primitives

  /// The members of an object, keyed by name; reports unknown and repeated keys.
  private mutating func objectFields(of node: JSONNode, at path: JSONPath, allowed: [String], owner: String)
    -> [String: JSONNode]?
  {
    guard case .object(let members) = node.value else {
      typeMismatch(node, at: path, expected: "an object")
      return nil
    }
    record(path, node.location)
    var fields: [String: JSONNode] = [:]
    var firstLocation: [String: TextLocation] = [:]
    for member in members {
      let memberPath = path.appending(member.key)
      if let first = firstLocation[member.key] {
        error(
          memberPath,
          "\(quoted(member.key)) appears twice in this object (first at line \(first.line)); keep one",
          at: member.keyLocation)
        continue
      }
      firstLocation[member.key] = member.keyLocation
      guard allowed.contains(member.key) else {
        error(memberPath, unknownKeyMessage(member.key, allowed: allowed, owner: owner), at: member.keyLocation)
        continue
      }
      fields[member.key] = member.value
    }
    return fields
  }

  private func unknownKeyMessage(_ key: String, allowed: [String], owner: String) -> String {
    if key == "sentinel", owner == "a garnet resource" {
      return "Garnet has no Sentinel (it fails over only in cluster mode); use \"type\": \"redis\" or \"valkey\" "
        + "for a cache watched by sentinels, or remove \"sentinel\""
    }
    if key == "cluster", owner == "a garnet resource" {
      return "apphost does not form Garnet clusters yet (Garnet's cluster mode needs its append-only file and "
        + "announces its listening address only); use \"type\": \"redis\" or \"valkey\" for a cluster, or remove "
        + "\"cluster\""
    }
    if key == "tls", owner == "a garnet resource" {
      return "apphost cannot give Garnet TLS: Garnet 1.0 reads its certificate only as PKCS#12, which apphost "
        + "does not write (Garnet 2 reads PEM); use \"type\": \"redis\" or \"valkey\" for a TLS cache, or remove \"tls\""
    }
    if key == "replicas", owner == "a garnet resource" {
      return "Garnet has no read replicas (it replicates only in cluster mode); use \"type\": \"redis\" or "
        + "\"valkey\" for a cache with replicas, or remove \"replicas\""
    }
    var message = "unknown key \(quoted(key))"
    let hint = didYouMean(key, among: allowed)
    if !hint.isEmpty {
      message += hint
    } else {
      // A task takes a subset of an executable's keys: naming executables says enough.
      let owners = ResourceType.allCases.filter { $0 != .task && Self.keys(of: $0).contains(key) }.map(\.rawValue)
      if !owners.isEmpty, owner.hasSuffix("resource") {
        message += " (it is a setting of \(listing(owners)) resources, not of \(owner))"
      }
    }
    return message + "; \(owner) takes \(listing(allowed, conjunction: "and"))"
  }

  private mutating func string(_ node: JSONNode, at path: JSONPath, nonEmpty: Bool = false) -> String? {
    guard case .string(let text) = node.value else {
      typeMismatch(node, at: path, expected: "a string")
      return nil
    }
    record(path, node.location)
    if nonEmpty && text.trimmingCharacters(in: .whitespaces).isEmpty {
      error(path, "the value is empty", at: node.location)
      return nil
    }
    return text
  }

  private mutating func bool(_ node: JSONNode, at path: JSONPath) -> Bool? {
    guard case .bool(let flag) = node.value else {
      typeMismatch(node, at: path, expected: "true or false")
      return nil
    }
    record(path, node.location)
    return flag
  }

  private mutating func integer(_ node: JSONNode, at path: JSONPath, in range: ClosedRange<Int>, expected: String)
    -> Int?
  {
    guard case .number(let number) = node.value, let value = number.integer else {
      typeMismatch(node, at: path, expected: expected)
      return nil
    }
    record(path, node.location)
    guard range.contains(value) else {
      error(path, "\(number.text) is out of range; expected \(expected)", at: node.location)
      return nil
    }
    return value
  }

  private mutating func enumeration<Value: RawRepresentable & CaseIterable>(
    _ node: JSONNode, at path: JSONPath, as: Value.Type
  ) -> Value? where Value.RawValue == String {
    let choices = Value.allCases.map { quoted($0.rawValue) }
    guard case .string(let text) = node.value else {
      typeMismatch(node, at: path, expected: listing(choices))
      return nil
    }
    record(path, node.location)
    guard let value = Value(rawValue: text) else {
      let hint = didYouMean(text, among: Value.allCases.map(\.rawValue))
      error(path, "unknown value \(quoted(text))\(hint); expected \(listing(choices))", at: node.location)
      return nil
    }
    return value
  }

  private mutating func strings(_ node: JSONNode, at path: JSONPath) -> [String]? {
    guard case .array(let items) = node.value else {
      if case .string(let text) = node.value {
        let words = text.split(separator: " ").map { quoted(String($0)) }.joined(separator: ", ")
        error(path, "expected an array of strings, found a string; write [\(words)]", at: node.location)
      } else {
        typeMismatch(node, at: path, expected: "an array of strings")
      }
      return nil
    }
    record(path, node.location)
    var values: [String] = []
    for (index, item) in items.enumerated() {
      let itemPath = path.appending(index: index)
      if case .number(let number) = item.value {
        error(itemPath, "write the number as a string: \"\(number.text)\"", at: item.location)
      } else if let text = string(item, at: itemPath) {
        values.append(text)
      }
    }
    return values
  }

  /// An array of resource names, each listed once (existence is checked by the validator).
  private mutating func names(_ node: JSONNode, at path: JSONPath) -> [String]? {
    if case .string(let single) = node.value {
      error(path, "expected an array of resource names; write [\(quoted(single))]", at: node.location)
      return nil
    }
    guard let values = strings(node, at: path) else { return nil }
    var unique: [String] = []
    for (index, value) in values.enumerated() {
      if unique.contains(value) {
        error(
          path.appending(index: index), "\(quoted(value)) is listed twice; list it once",
          at: locations[path.appending(index: index)])
      } else {
        unique.append(value)
      }
    }
    return unique
  }

  // MARK: Reporting

  private mutating func typeMismatch(_ node: JSONNode, at path: JSONPath, expected: String) {
    var message = "expected \(expected), found \(describe(node.value))"
    switch node.value {
    case .string(let text) where Int(text) != nil && expected.contains("number"):
      message += "; write \(text) without quotes"
    case .string(let text) where (text == "true" || text == "false") && expected.contains("true"):
      message += "; write \(text) without quotes"
    default: break
    }
    error(path, message, at: node.location)
  }

  private mutating func record(_ path: JSONPath, _ location: TextLocation) {
    locations[path] = location
  }

  private mutating func error(_ path: JSONPath, _ message: String, at location: TextLocation?) {
    diagnostics.append(Diagnostic(.error, path, message, at: location))
  }

  private mutating func warning(_ path: JSONPath, _ message: String, at location: TextLocation?) {
    diagnostics.append(Diagnostic(.warning, path, message, at: location))
  }
}

/// How a value reads in a message: `the string "6379"`, `the number 1.5`, `an array`.
package func describe(_ value: JSONValue) -> String {
  switch value {
  case .null: return "null"
  case .bool(let flag): return flag ? "true" : "false"
  case .number(let number): return "the number \(number.text)"
  case .string(let text):
    let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
    return "the string \(quoted(shown))"
  case .array: return "an array"
  case .object: return "an object"
  }
}

/// A name made valid: lower-cased, other characters turned into `-`, starting with a letter.
package func sanitizedName(_ text: String, maxLength: Int = 63) -> String {
  var result = ""
  for character in text.lowercased() {
    if character.isASCII && (character.isLetter || character.isNumber) {
      result.append(character)
    } else if !result.hasSuffix("-") && !result.isEmpty {
      result.append("-")
    }
  }
  while result.hasSuffix("-") { result.removeLast() }
  return String(result.prefix(maxLength))
}
