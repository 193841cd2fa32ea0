import Foundation

/// The checks that span resources or look at the disk: ports used twice, references to missing
/// resources or to the wrong type, `waitFor` cycles, placeholders, paths, shared volumes.
package struct ManifestValidator {
  let manifest: Manifest
  let project: String
  let projectDirectory: String
  let locations: [JSONPath: TextLocation]
  let declaredResources: [String: ResourceType?]
  /// Where commands without a '/' are looked for (apphost's PATH).
  let searchPath: String?
  private(set) var diagnostics: [Diagnostic] = []

  package static func validate(
    _ manifest: Manifest, project: String, projectDirectory: String, locations: [JSONPath: TextLocation],
    declaredResources: [String: ResourceType?] = [:],
    searchPath: String? = ProcessInfo.processInfo.environment["PATH"]
  ) -> [Diagnostic] {
    var validator = ManifestValidator(
      manifest: manifest, project: project, projectDirectory: projectDirectory, locations: locations,
      declaredResources: declaredResources, searchPath: searchPath)
    validator.run()
    return validator.diagnostics
  }

  private mutating func run() {
    checkHostPorts()
    checkDataLocations()
    for resource in manifest.resources {
      let path = JSONPath.resource(resource.name)
      switch resource.spec {
      case .cache(let cache):
        checkCache(cache, at: path)
        checkReplicas(cache, name: resource.name, at: path)
        checkCluster(cache, name: resource.name, at: path)
        checkSentinel(cache, name: resource.name, at: path)
      case .redisInsight(let insight):
        checkCacheList(insight.caches, at: path.appending("caches"))
        if insight.dataVolume?.readOnly == true {
          error(
            path.appending("dataVolume").appending("readOnly"),
            "RedisInsight writes its database (connections, settings) into its data volume and does not start "
              + "with it read-only; remove \"readOnly\" (or set it to false), or remove dataVolume")
        }
      case .redisCommander(let commander):
        checkCacheList(commander.caches, at: path.appending("caches"))
        checkCommanderPasswords(commander, name: resource.name)
      case .executable(let executable):
        checkExecutable(executable, at: path)
        checkProgram(executable, at: path)
      case .connectionString:
        break
      }
    }
    checkWaitForCycles()
    checkEndpointPorts()
  }

  // MARK: Ports and data

  private mutating func checkHostPorts() {
    var owners: [Int: String] = [:]
    for resource in manifest.resources {
      guard let port = containerSettings(of: resource)?.hostPort else { continue }
      let path = JSONPath.resource(resource.name).appending("hostPort")
      if let owner = owners[port] {
        error(
          path,
          "port \(port) is already used by resources.\(owner).hostPort; give each resource its own port, or "
            + "leave hostPort out to let the engine pick a free one")
      } else {
        owners[port] = resource.name
      }
    }
  }

  /// Two caches writing into the same volume or folder would overwrite each other's files.
  private mutating func checkDataLocations() {
    var volumeOwners: [String: String] = [:]
    var folderOwners: [String: String] = [:]
    for resource in manifest.resources {
      let path = JSONPath.resource(resource.name)
      var volume: DataVolume?
      switch resource.spec {
      case .cache(let cache):
        volume = cache.dataVolume
        if let mount = cache.dataBindMount {
          let folder = resolvePath(mount.source, relativeTo: projectDirectory)
          if let owner = folderOwners[folder] {
            error(
              path.appending("dataBindMount").appending("source"),
              "the folder \(quoted(mount.source)) is already the data folder of \(owner); give each cache its own "
                + "folder")
          } else {
            folderOwners[folder] = resource.name
          }
        }
      case .redisInsight(let insight):
        volume = insight.dataVolume
      default:
        continue
      }
      guard let volume else { continue }
      let name = volume.name ?? defaultVolumeName(project: project, resource: resource.name)
      if let owner = volumeOwners[name] {
        error(
          path.appending("dataVolume"),
          "the volume \(quoted(name)) is already the data volume of \(owner); give each resource its own volume "
            + "(remove \"name\" to get \(quoted(defaultVolumeName(project: project, resource: resource.name))))")
      } else {
        volumeOwners[name] = resource.name
      }
    }
  }

  private mutating func checkCache(_ cache: CacheSpec, at path: JSONPath) {
    if cache.dataVolume != nil, cache.dataBindMount != nil {
      error(
        path.appending("dataBindMount"),
        "a cache has one /data: use either dataVolume or dataBindMount, not both")
    }
    let readOnly = cache.dataVolume?.readOnly == true || cache.dataBindMount?.readOnly == true
    if case .enabled = cache.persistence {
      if readOnly {
        error(
          path.appending("persistence"),
          "persistence writes to /data, which is mounted read-only; set \"readOnly\": false or "
            + "\"persistence\": false")
      } else if cache.dataVolume == nil, cache.dataBindMount == nil, cache.container.lifetime == .session {
        warning(
          path.appending("persistence"),
          "persistence is on but /data is neither a volume nor a bind mount, so what is saved is removed with "
            + "the container; add \"dataVolume\": true")
      }
    }
    if let mount = cache.dataBindMount {
      checkBindMountSource(mount, at: path.appending("dataBindMount").appending("source"))
    }
  }

  /// Read replicas: each has a /data of its own (a volume per replica), and a name of its own.
  private mutating func checkReplicas(_ cache: CacheSpec, name: String, at path: JSONPath) {
    guard cache.replicas > 0 else { return }
    if cache.dataBindMount != nil {
      error(
        path.appending("replicas"),
        "read replicas each need a /data of their own, which one dataBindMount folder cannot give; use "
          + "\"dataVolume\": true (a volume per replica), or remove \"replicas\"")
    }
    if cache.dataVolume?.readOnly == true {
      error(
        path.appending("replicas"),
        "a read replica writes the copy it receives into /data, which is read-only here; remove \"readOnly\" from "
          + "dataVolume, or remove \"replicas\"")
    }
    for replica in Planner.replicaNames(of: name, count: cache.replicas) where manifest[replica] != nil {
      error(
        JSONPath.resource(replica),
        "\(quoted(replica)) is the name of a read replica of \(name) (\"replicas\": \(cache.replicas)); rename "
          + "this resource")
    }
  }

  /// A cluster: a /data and a name of its own for every node; its data comes from its clients.
  private mutating func checkCluster(_ cache: CacheSpec, name: String, at path: JSONPath) {
    guard let cluster = cache.cluster else { return }
    let clusterPath = path.appending("cluster")
    if cache.replicas > 0 {
      error(
        path.appending("replicas"),
        "a cluster's replicas are \"replicasPerShard\" in \"cluster\"; remove \"replicas\"")
    }
    if cache.dataBindMount != nil {
      error(
        clusterPath,
        "the nodes of a cluster each need a /data of their own, which one dataBindMount folder cannot give; use "
          + "\"dataVolume\": true (a volume per node), or remove \"cluster\"")
    }
    if cache.dataVolume?.readOnly == true {
      error(
        clusterPath,
        "cluster nodes write their cluster state (nodes.conf) into /data, which is read-only here; remove "
          + "\"readOnly\" from dataVolume, or remove \"cluster\"")
    }
    if let port = cache.container.hostPort, port > LocalPorts.highestClusterPort {
      error(
        path.appending("hostPort"),
        "a cluster node's bus listens on its port + 10000, so a cluster's hostPort is at most "
          + "\(LocalPorts.highestClusterPort); choose a lower port, or leave hostPort out")
    }
    if cache.seed != nil {
      error(
        path.appending("seed"),
        "a cluster spreads keys over its shards, which a seed loaded into one node cannot do; load the data "
          + "from a task with a cluster client (redis-cli -c), or remove \"seed\"")
    }
    for node in Planner.clusterNodeNames(of: name, count: cluster.nodeCount).dropFirst() where manifest[node] != nil {
      error(
        JSONPath.resource(node),
        "\(quoted(node)) is the name of a node of the cluster \(name) (\(cluster.nodeCount) nodes); rename this "
          + "resource")
    }
  }

  /// Sentinels: beside a primary and its replicas (not a cluster, which fails over by itself), each with a
  /// name of its own.
  private mutating func checkSentinel(_ cache: CacheSpec, name: String, at path: JSONPath) {
    guard cache.sentinel else { return }
    if cache.cluster != nil {
      error(
        path.appending("sentinel"),
        "a cluster promotes its replicas itself, without sentinels; remove \"sentinel\" (or \"cluster\", for a "
          + "primary with \"replicas\" watched by sentinels)")
    }
    if cache.tls {
      error(
        path.appending("sentinel"),
        "apphost does not run sentinels over TLS yet (they would talk to the servers, and clients to them, in "
          + "plain text); remove \"tls\" or \"sentinel\"")
    }
    for sentinel in Planner.sentinelNames(of: name) where manifest[sentinel] != nil {
      error(
        JSONPath.resource(sentinel),
        "\(quoted(sentinel)) is the name of a sentinel of \(name) (\"sentinel\": true); rename this resource")
    }
  }

  private mutating func checkBindMountSource(_ mount: BindMount, at path: JSONPath) {
    let folder = resolvePath(mount.source, relativeTo: projectDirectory)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
      if !isDirectory.boolValue {
        error(
          path,
          "\(quoted(mount.source)) (\(folder)) is a file; a data bind mount needs a folder: name a folder, or "
            + "remove the file")
      }
      return
    }
    if mount.readOnly {
      error(
        path,
        "\(quoted(mount.source)) (\(folder)) does not exist, and a read-only mount cannot start empty; create it "
          + "with the data first")
      return
    }
    // Missing folders are created by `up`: the nearest existing parent must be a writable folder.
    var parent = (folder as NSString).deletingLastPathComponent
    while !FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), parent != "/" {
      parent = (parent as NSString).deletingLastPathComponent
    }
    if !isDirectory.boolValue {
      error(
        path, "\(quoted(mount.source)) cannot be created because \(parent) is a file, not a folder")
    } else if !FileManager.default.isWritableFile(atPath: parent) {
      error(
        path,
        "\(quoted(mount.source)) does not exist and cannot be created in \(parent) (no write permission); create "
          + "it yourself or choose another folder")
    }
  }

  // MARK: References

  private mutating func checkCacheList(_ caches: [String]?, at path: JSONPath) {
    for (index, name) in (caches ?? []).enumerated() {
      requireResource(
        name, at: path.appending(index: index), accepts: \.isCache, role: "a cache (redis, valkey or garnet)")
    }
  }

  /// Redis Commander's REDIS_HOSTS is `label:host:port:db:password,...` (a ':' or ',' in a password breaks
  /// it) and its entrypoint breaks on whitespace, '"' and '\\' (RedisCommanderPassword).
  private mutating func checkCommanderPasswords(_ commander: RedisCommanderSpec, name: String) {
    let shown = commander.caches ?? manifest.resources.filter(\.type.isCache).map(\.name)
    for (index, cacheName) in (commander.caches ?? []).enumerated() where manifest[cacheName]?.cache?.tls == true {
      // Redis Commander's REDIS_HOSTS entries have no field for TLS (a TLS cache is left out of its default list).
      error(
        JSONPath.resource(name).appending("caches").appending(index: index),
        "\(cacheName) speaks TLS only (\"tls\": true), and Redis Commander's REDIS_HOSTS, which apphost wires "
          + "it with, cannot carry TLS settings; remove \(cacheName) from these caches (RedisInsight shows TLS "
          + "caches), or remove \"tls\" from \(cacheName)")
    }
    // Showing a cluster or a cache sentinels watch, it is given its connections in its configuration file
    // instead (JSON, escaped by apphost), which takes any password.
    guard !shown.contains(where: { manifest[$0]?.cache?.handsOutAddresses == true }) else {
      return
    }
    for cacheName in shown {
      guard case .given(.literal(let password)) = manifest[cacheName]?.cache?.password,
        let problem = RedisCommanderPassword.problem(password)
      else { continue }
      error(
        JSONPath.resource(cacheName).appending("password"),
        "the password of \(cacheName) contains \(problem), which Redis Commander (resources.\(name)) cannot "
          + "take; \(RedisCommanderPassword.remedy(cache: cacheName, commander: name))")
    }
  }

  private mutating func checkExecutable(_ executable: ExecutableSpec, at path: JSONPath) {
    for (index, name) in executable.references.enumerated() {
      let referencePath = path.appending("references").appending(index: index)
      if let target = manifest[name]?.executable {
        if target.isTask || target.endpoints.isEmpty {
          error(
            referencePath,
            "\(quoted(name)) is \(target.isTask ? "a task" : "an executable"), but this must name a cache or a "
              + "connectionString, or a program with endpoints; "
              + (target.isTask
                ? "list it in \"waitFor\" to start after it"
                : "add \"endpoints\": {\"http\": {}} to \(name), or list it in \"waitFor\" to start after it"))
        }
        continue
      }
      requireResource(
        name, at: referencePath, accepts: \.isConnectable,
        role: "a cache or a connectionString (or a program with endpoints)")
    }
    for (index, name) in (executable.waitFor ?? []).enumerated() {
      requireResource(
        name, at: path.appending("waitFor").appending(index: index), accepts: { $0 != .connectionString },
        role: "a cache, a UI or an executable (a connectionString has nothing to wait for)")
    }
    for (index, argument) in executable.args.enumerated() {
      checkTemplate(argument, at: path.appending("args").appending(index: index))
    }
    for entry in executable.env {
      checkTemplate(entry.value, at: path.appending("env").appending(entry.name))
    }
    if let folder = executable.workingDirectory {
      let resolved = resolvePath(folder, relativeTo: projectDirectory)
      var isDirectory: ObjCBool = false
      if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) {
        error(path.appending("workingDirectory"), "the folder \(quoted(folder)) (\(resolved)) does not exist")
      } else if !isDirectory.boolValue {
        error(path.appending("workingDirectory"), "\(quoted(folder)) (\(resolved)) is a file, not a folder")
      }
    }
    // With an `image`, the command may be one of the image's (what `publish` carries); `up` still says so
    // when it is not on this machine's PATH.
    if executable.image == nil, !executable.command.contains("/"),
      !executable.command.trimmingCharacters(in: .whitespaces).isEmpty,
      findExecutable(executable.command, path: searchPath) == nil
    {
      let hint = didYouMean(executable.command, among: programsOnPath(like: executable.command))
      error(
        path.appending("command"),
        "\(quoted(executable.command)) is not on PATH\(hint); install it, or name it by its path relative to "
          + "apphost.json (\"./bin/\(executable.command)\")")
    }
    if executable.command.contains("/") {
      let resolved = resolvePath(executable.command, relativeTo: projectDirectory)
      var isDirectory: ObjCBool = false
      if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) {
        error(
          path.appending("command"),
          "\(quoted(executable.command)) (\(resolved)) does not exist; a command with a '/' is a path relative "
            + "to apphost.json, a command without one is looked up on PATH")
      } else if isDirectory.boolValue || !FileManager.default.isExecutableFile(atPath: resolved) {
        error(
          path.appending("command"),
          "\(quoted(executable.command)) (\(resolved)) is not an executable file; make it executable "
            + "(chmod +x) or run it through its interpreter (\"command\": \"python3\", \"args\": [...])")
      }
    }
  }

  private mutating func checkTemplate(_ text: String, at path: JSONPath) {
    switch Template.parse(text) {
    case .failure(let problem):
      error(path, problem.message)
    case .success(let template):
      var checked: Set<String> = []
      for part in template.parts {
        switch part {
        case .reference(let name, let property):
          if let program = manifest[name]?.executable {
            checkEndpointPlaceholder(
              "{\(name).\(property.rawValue)}", program: name, program, endpoint: nil, property: property, at: path)
          } else if checked.insert(name).inserted {
            requireResource(
              name, at: path, accepts: \.isConnectable,
              role: "a cache or a connectionString (or a program with endpoints)",
              context: "the placeholder {\(name).…} names")
          }
        case .endpoint(let name, let endpoint, let property):
          let placeholder = "{\(name).\(endpoint).\(property.rawValue)}"
          if let program = manifest[name]?.executable {
            checkEndpointPlaceholder(
              placeholder, program: name, program, endpoint: endpoint, property: property, at: path)
          } else if checked.insert(name).inserted {
            requireResource(
              name, at: path, accepts: { $0 == .executable }, role: "an executable with endpoints",
              context: "the placeholder \(placeholder) names")
          }
        default:
          break
        }
      }
    }
  }

  private mutating func checkEndpointPlaceholder(
    _ placeholder: String, program name: String, _ program: ExecutableSpec, endpoint: String?,
    property: TemplateProperty, at path: JSONPath
  ) {
    guard !program.endpoints.isEmpty else {
      error(
        path,
        "the placeholder {\(name).…} names \(quoted(name)) is \(program.isTask ? "a task" : "an executable"), but this "
          + "must name a cache or a connectionString, or a program with endpoints"
          + (program.isTask ? "" : " (add \"endpoints\": {\"http\": {}} to resources.\(name))"))
      return
    }
    if let endpoint, !program.endpoints.contains(where: { $0.name == endpoint }) {
      let names = program.endpoints.map(\.name)
      error(
        path,
        "\(placeholder): \(name) has no endpoint \(quoted(endpoint))\(didYouMean(endpoint, among: names)); its "
          + "endpoints are \(listing(names.map(quoted), conjunction: "and"))")
      return
    }
    if !TemplateProperty.ofEndpoints.contains(property) {
      error(
        path,
        "\(placeholder): \(name) is a program; its endpoints have "
          + listing(TemplateProperty.ofEndpoints.map { "{\(name).\($0.rawValue)}" }))
    }
  }

  // MARK: Programs: endpoints, readiness, envFile

  private mutating func checkProgram(_ program: ExecutableSpec, at path: JSONPath) {
    var variables: [String: String] = [:]
    for (index, endpoint) in program.endpoints.enumerated() {
      guard let variable = endpoint.env ?? (index == 0 ? "PORT" : nil) else { continue }
      if let other = variables[variable] {
        error(
          path.appending("endpoints").appending(endpoint.name).appending("env"),
          "\(quoted(variable)) already tells the program the port of the endpoint \(quoted(other)); give this one "
            + "its own variable (\"env\": \"\(ConnectionEnvironment.environmentName(endpoint.name))_PORT\")")
      } else {
        variables[variable] = endpoint.name
      }
    }
    if let check = program.readiness?.check {
      let readinessPath = path.appending("readiness")
      let names = program.endpoints.map(\.name)
      func requireEndpoint(_ name: String?, at path: JSONPath, what: String) {
        if names.isEmpty {
          error(
            path,
            "a\(what) readiness check needs an endpoint, and this program has none; add \"endpoints\": "
              + "{\"http\": {}}, or check its output ({\"log\": \"REGEX\"}) instead")
        } else if let name, !names.contains(name) {
          error(
            path,
            "there is no endpoint \(quoted(name))\(didYouMean(name, among: names)); the endpoints are "
              + listing(names.map(quoted), conjunction: "and"))
        }
      }
      switch check {
      case .http(_, let endpoint):
        requireEndpoint(endpoint, at: readinessPath.appending(endpoint == nil ? "http" : "endpoint"), what: "n http")
      case .tcp(let endpoint):
        requireEndpoint(endpoint, at: readinessPath.appending("tcp"), what: " tcp")
      case .log, .command:
        break
      }
    }
    for (index, watched) in (program.watch?.paths ?? []).enumerated() {
      let resolved = resolvePath(watched, relativeTo: projectDirectory)
      if !FileManager.default.fileExists(atPath: resolved) {
        error(
          path.appending("watch").appending("paths").appending(index: index),
          "\(quoted(watched)) (\(resolved)) does not exist; watch names folders or files relative to apphost.json")
      }
    }
    if let file = program.envFile {
      let resolved = resolvePath(file, relativeTo: projectDirectory)
      var isDirectory: ObjCBool = false
      if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) || isDirectory.boolValue {
        error(path.appending("envFile"), "the file \(quoted(file)) (\(resolved)) does not exist")
      } else if case .failure(let problem) = DotEnv.parse(contentsOf: resolved) {
        error(path.appending("envFile"), "\(quoted(file)): \(problem)")
      }
    }
  }

  /// Fixed endpoint ports: each used once, and not a container's hostPort.
  private mutating func checkEndpointPorts() {
    var owners: [Int: String] = [:]
    for resource in manifest.resources {
      if let port = containerSettings(of: resource)?.hostPort { owners[port] = "resources.\(resource.name).hostPort" }
    }
    for resource in manifest.resources {
      for endpoint in resource.executable?.endpoints ?? [] {
        guard let port = endpoint.port else { continue }
        let path = JSONPath.resource(resource.name).appending("endpoints").appending(endpoint.name).appending("port")
        if let owner = owners[port] {
          error(
            path,
            "port \(port) is already used by \(owner); give each endpoint its own port, or leave port out to let "
              + "apphost pick a free one")
        } else {
          owners[port] = path.description
        }
      }
    }
  }

  /// The programs on PATH whose names are close to `name` (for a suggestion).
  private func programsOnPath(like name: String) -> [String] {
    var names: Set<String> = []
    for folder in (searchPath ?? "").split(separator: ":") where !folder.isEmpty {
      for entry in (try? FileManager.default.contentsOfDirectory(atPath: String(folder))) ?? []
      where abs(entry.count - name.count) <= 2 {
        names.insert(entry)
      }
    }
    return names.sorted()
  }

  private mutating func requireResource(
    _ name: String, at path: JSONPath, accepts: (ResourceType) -> Bool, role: String, context: String? = nil
  ) {
    let subject = context.map { "\($0) \(quoted(name))" } ?? quoted(name)
    // A resource with errors of its own is not reported missing; its type is checked when known.
    let type = manifest[name]?.type ?? declaredResources[name] ?? nil
    guard let type else {
      if declaredResources[name] != nil { return }
      let names = manifest.resources.filter { accepts($0.type) }.map(\.name)
      let hint = didYouMean(name, among: names)
      let choices = names.isEmpty ? "" : " (the choices are \(listing(names.map(quoted))))"
      error(
        path,
        "\(subject): there is no resource of that name\(hint.isEmpty ? choices : hint); it must name \(role)")
      return
    }
    if !accepts(type) {
      error(path, "\(subject) is \(describeType(type)), but this must name \(role)")
    }
  }

  private func describeType(_ type: ResourceType) -> String {
    type == .executable ? "an executable" : "a \(type.rawValue)"
  }

  // MARK: Cycles

  private mutating func checkWaitForCycles() {
    var edges: [String: [String]] = [:]
    for resource in manifest.resources {
      if let executable = resource.executable {
        edges[resource.name] = executable.waitFor ?? []
      }
    }
    var reported: Set<String> = []
    var state: [String: Bool] = [:]  // false: on the current path, true: done
    var stack: [String] = []
    func visit(_ name: String, _ validator: inout ManifestValidator) {
      state[name] = false
      stack.append(name)
      for next in edges[name] ?? [] {
        if state[next] == false {
          let cycle = Array(stack[stack.lastIndex(of: next)!...]) + [next]
          let key = Set(cycle).sorted().joined(separator: ",")
          if reported.insert(key).inserted {
            let index = (edges[name] ?? []).firstIndex(of: next)!
            validator.error(
              JSONPath.resource(name).appending("waitFor").appending(index: index),
              "waitFor forms a cycle: \(cycle.joined(separator: " -> ")), so none of them could ever start; "
                + "remove one of these entries")
          }
        } else if state[next] == nil, edges[next] != nil {
          visit(next, &validator)
        }
      }
      stack.removeLast()
      state[name] = true
    }
    for resource in manifest.resources where edges[resource.name] != nil && state[resource.name] == nil {
      visit(resource.name, &self)
    }
  }

  // MARK: Helpers

  private func containerSettings(of resource: Resource) -> ContainerSettings? {
    switch resource.spec {
    case .cache(let cache): cache.container
    case .redisInsight(let insight): insight.container
    case .redisCommander(let commander): commander.container
    case .executable, .connectionString: nil
    }
  }

  private mutating func error(_ path: JSONPath, _ message: String) {
    diagnostics.append(Diagnostic(.error, path, message, at: location(of: path)))
  }

  private mutating func warning(_ path: JSONPath, _ message: String) {
    diagnostics.append(Diagnostic(.warning, path, message, at: location(of: path)))
  }

  /// The location of the path, or of its nearest recorded parent.
  private func location(of path: JSONPath) -> TextLocation? {
    var components = path.components
    while !components.isEmpty {
      if let location = locations[JSONPath(components)] { return location }
      components.removeLast()
    }
    return nil
  }
}

/// `<project>-<resource>-data`.
package func defaultVolumeName(project: String, resource: String) -> String {
  "\(project)-\(resource)-data"
}

/// An absolute path: `~/x` from the home folder, relative paths from `base`, normalised.
package func resolvePath(_ path: String, relativeTo base: String) -> String {
  var expanded = path
  if path == "~" || path.hasPrefix("~/") {
    expanded = NSHomeDirectory() + path.dropFirst()
  }
  let absolute = expanded.hasPrefix("/") ? expanded : (base as NSString).appendingPathComponent(expanded)
  return (absolute as NSString).standardizingPath
}

/// The characters Redis Commander cannot take in a password: ':' and ',' separate the fields and
/// entries of its REDIS_HOSTS setting, and its image's entrypoint (a shell script that writes the
/// connections into a JSON configuration file) splits the value at whitespace and writes '"' and '\\'
/// into the JSON unescaped.
package enum RedisCommanderPassword {
  /// What is wrong with `password` (`a space`, `'"'` ...), nil when Redis Commander can take it.
  package static func problem(_ password: String) -> String? {
    guard
      let character = password.first(where: { $0 == ":" || $0 == "," || $0 == "\"" || $0 == "\\" || $0.isWhitespace })
    else { return nil }
    switch character {
    case " ": return "a space"
    case "\"": return "'\"'"
    case "\\": return "'\\'"
    case ":", ",": return "'\(character)'"
    default:
      let code = character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true).leftPadded(to: 4) }
      return "whitespace (\(code.joined(separator: " ")))"
    }
  }

  package static func remedy(cache: String, commander: String) -> String {
    "choose a password without whitespace, ':', ',', '\"' or '\\' (or true to generate one), or leave \(cache) out "
      + "of resources.\(commander).caches"
  }
}
