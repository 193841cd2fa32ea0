import Foundation

/// `apphost publish compose`: a compose file with the same containers `apphost up` runs (images, server
/// commands, persistence, named volumes with the same names, the ports apphost uses, healthchecks that
/// PING after AUTH, `depends_on` on healthy services) and beside it one env file per service that needs a
/// password (mode 0600): secrets reach the containers through `env_file`, never through interpolated
/// `environment` values, which podman-compose puts on `podman run -e NAME=value` where `ps` shows them.
struct ComposeWriter {
  let plan: Plan
  let manifest: Manifest
  let secrets: PublishedSecrets
  let outputDirectory: String
  let options: PublishOptions
  /// The programs with an image.
  let programs: [PublishedProgram]

  static let fileName = "docker-compose.yml"

  /// One service of the output: its name, its entries, and the variables its env file holds.
  struct Service {
    var name: String
    var entries: [(String, YAML)]
    var secretVariables: [(String, String)]
  }

  func files() throws(AppHostError) -> [PublishedFile] {
    var services: [Service] = []
    var notes: [String] = []
    for container in plan.containers {
      services.append(try service(for: container, notes: &notes))
      if let cluster = plan.cluster(container.resource) {
        services.append(try formingService(cluster, notes: &notes))
      }
    }
    for program in programs {
      services += try self.services(for: program, notes: &notes)
    }
    var files: [PublishedFile] = []
    var entries: [YAMLEntry] = []
    for var service in services {
      if !service.secretVariables.isEmpty {
        let name = "\(service.name).env"
        service.entries.insert(("env_file", .list([.string("./\(name)")])), at: environmentIndex(service.entries))
        files.append(PublishedFile(name: name, text: envFile(service), secret: true))
      }
      entries.append(YAMLEntry(service.name, .map(service.entries)))
    }
    var document: [YAMLEntry] = [YAMLEntry("services", .map(entries))]
    if !plan.volumes.isEmpty {
      // The volumes apphost uses, by the same names: data written under apphost is here under compose.
      document.append(
        YAMLEntry(
          "volumes",
          .map(
            plan.volumes.map { volume in
              YAMLEntry(volume.name, .map([("name", .string(volume.name))]))
            })))
    }
    var header = [
      "Written by `apphost publish compose` from \(plan.manifestPath).",
      "Start it with `docker compose up -d` (or `docker-compose up -d`, `podman-compose up -d`) in this folder.",
      "Passwords reach the containers through the *.env files beside this one (env_file, mode 0600, listed in "
        + ".gitignore): keep them private.",
      "Ports are published on 127.0.0.1 only, as apphost does; change \"ports\" to reach the services from elsewhere.",
      "docker compose waits for depends_on's conditions (healthy, completed); podman-compose 1.0 only starts services "
        + "in that order.",
    ]
    header += Publisher.notes(plan: plan, options: options, target: .compose) + notes
    let compose = YAML.map(document).document(comment: header)
    return [PublishedFile(name: Self.fileName, text: compose)] + files + (try certificateFiles())
  }

  /// The project's certificate files are copied into the output (`tls/`, the key 0600 and listed in
  /// .gitignore), so that it does not depend on apphost's state folder; other files are mounted where they are.
  func source(of path: String) -> String {
    let certificates =
      ProjectCertificates(state: StateDirectory(projectDirectory: plan.projectDirectory)).directory + "/"
    guard path.hasPrefix(certificates) else { return relativePath(path, from: outputDirectory) }
    return "./tls/" + path.dropFirst(certificates.count)
  }

  /// The certificate files the services mount (see `source(of:)`).
  func certificateFiles() throws(AppHostError) -> [PublishedFile] {
    var names: [String] = []
    var files: [PublishedFile] = []
    for container in plan.containers {
      for mount in container.mounts {
        guard case .bind(let path) = mount.source, source(of: path).hasPrefix("./tls/") else { continue }
        let name = String(source(of: path).dropFirst(2))
        guard !names.contains(name) else { continue }
        guard let data = FileManager.default.contents(atPath: path) else {
          throw .cannotPublish(resource: container.resource, reason: "\(path) cannot be read")
        }
        names.append(name)
        files.append(
          PublishedFile(name: name, text: String(decoding: data, as: UTF8.self), secret: name.hasSuffix(".key")))
      }
    }
    return files
  }

  /// A program that references a TLS cache gets the project's CA at `NAME_TLS_CA_FILE`.
  func certificateVolumes(_ program: PublishedProgram) -> [YAML] {
    let tls = program.executable.references.contains { plan.endpoint($0)?.caFile != nil }
    guard tls, let ca = plan.endpoints.compactMap(\.caFile).first else { return [] }
    return [.string("\(source(of: ca)):\(ServerCommand.tlsCAFile):ro")]
  }

  /// env_file goes where `environment` is, or after the command.
  func environmentIndex(_ entries: [(String, YAML)]) -> Int {
    if let index = entries.firstIndex(where: { $0.0 == "environment" }) { return index + 1 }
    if let index = entries.firstIndex(where: { $0.0 == "command" || $0.0 == "user" }) { return index + 1 }
    return 1
  }

  /// `NAME=value` lines, values as they are: docker-compose (python-dotenv) and podman (`--env-file`) read
  /// such a line alike, which `checkedForEnvFile` makes sure of.
  func envFile(_ service: Service) -> String {
    var lines = [
      "# Written by `apphost publish compose`: the variables of \(service.name) that hold passwords. Keep this "
        + "file private."
    ]
    for (name, value) in service.secretVariables { lines.append("\(name)=\(value)") }
    return lines.joined(separator: "\n") + "\n"
  }

  /// A value both env-file readers take literally, or why not: podman reads the rest of the line as it
  /// is, python-dotenv strips quotes and trailing blanks, cuts ` #` comments and expands `${...}`.
  static func envFileProblem(_ value: String) -> String? {
    if value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) { return "a line break" }
    if let first = value.first, first == "\"" || first == "'" { return "a quote at its start" }
    if value.first?.isWhitespace == true || value.last?.isWhitespace == true { return "a blank at its start or end" }
    if value.contains("${") { return "\"${\"" }
    if value.contains(" #") || value.contains("\t#") { return "\" #\"" }
    return nil
  }

  /// Splits a service's environment: values without secrets stay in `environment` (`$` escaped for
  /// compose), values with one go to its env file, revealed.
  func split(
    _ variables: [EnvironmentVariable], resource: String, replica: Int
  ) throws(AppHostError) -> (plain: [(String, YAML)], secret: [(String, String)]) {
    var plain: [(String, YAML)] = []
    var secret: [(String, String)] = []
    for variable in variables {
      let ports = plan.programContainerPorts
      let text =
        variable.value.revealed(ports: ports, replica: replica) ?? variable.value.masked(ports: ports, replica: replica)
      if variable.value.containsSecret {
        if let problem = Self.envFileProblem(text) {
          throw .cannotPublish(
            resource: resource,
            reason: "the value of \(variable.name) holds a password with \(problem), which docker compose and "
              + "podman would read differently from an env_file; choose a password without it")
        }
        secret.append((variable.name, text))
      } else {
        plain.append((variable.name, .string(text.replacing("$", with: "$$"))))
      }
    }
    return (plain, secret)
  }

  /// The host port apphost uses for `key`: the fixed one, else the remembered one, else none.
  func hostPort(fixed: Int?, key: String) -> Int? {
    fixed ?? options.rememberedPorts[key]
  }

  func service(for container: ContainerPlan, notes: inout [String]) throws(AppHostError) -> Service {
    var entries: [(String, YAML)] = [("image", .string(container.image))]
    if let entrypoint = container.entrypoint {
      // Planned for publishing: a cluster node or a server sentinels watch names itself by its service name.
      let command = Array(container.command.dropFirst())
      entries.append(("entrypoint", .list([.string(entrypoint), .string(container.command.first ?? "-c")])))
      entries.append(("command", .list(command.map { .string($0.replacing("$", with: "$$")) })))
    }
    if let user = container.user { entries.append(("user", .string(user))) }
    let environment = try split(container.environment, resource: container.resource, replica: 0)
    if !environment.plain.isEmpty { entries.append(("environment", .map(environment.plain))) }
    if let port = hostPort(fixed: container.hostPort, key: container.resource) {
      entries.append(("ports", .list([.string("127.0.0.1:\(port):\(container.containerPort)")])))
    } else {
      notes.append(
        "\(container.resource): no port published (no \"hostPort\" in apphost.json and none remembered); other "
          + "services reach it at \(container.resource):\(container.containerPort).")
    }
    let volumes: [YAML] = container.mounts.map { mount in
      switch mount.source {
      case .volume(let name): .string("\(name):\(mount.target)\(mount.readOnly ? ":ro" : "")")
      case .bind(let path):
        .string("\(source(of: path)):\(mount.target)\(mount.readOnly ? ":ro" : "")")
      }
    }
    if !volumes.isEmpty { entries.append(("volumes", .list(volumes))) }
    entries.append(("healthcheck", healthcheck(HealthScripts.script(for: container))))
    if !container.caches.isEmpty {
      entries.append(("depends_on", dependsOn(container.caches)))
    } else if let primary = container.replicaOf {
      entries.append(("depends_on", .map([(primary, .map([("condition", .string("service_healthy"))]))])))
    } else if let cache = container.sentinelOf {
      // A sentinel watches the primary and its replicas: it starts once they answer.
      let watched = plan.servers(of: cache).filter { $0.sentinelOf == nil }.map(\.resource)
      entries.append(
        ("depends_on", .map(watched.map { ($0, .map([("condition", .string("service_healthy"))])) })))
      if container.resource == Planner.sentinelNames(of: cache).first {
        notes.append(
          "\(cache): watched by \(Planner.sentinelCount) sentinels, which hand out the servers' service names: "
            + "programs in this project follow failovers through them, clients on the host reach each server at its "
            + "own port only. After a failover, a new container of \(cache) starts as the primary again with the data "
            + "it has (`apphost down` has it copy the promoted replica first; here, see that it has caught up, "
            + "INFO replication, before `down`).")
      }
    }
    entries.append(("restart", .string("unless-stopped")))
    return Service(name: container.resource, entries: entries, secretVariables: environment.secret)
  }

  /// The one-shot service that forms a cluster once its nodes answer, as `apphost up` does: `redis-cli
  /// --cluster create` over the nodes' service names, unless the cluster is formed already (its volumes kept
  /// it); then it waits for `cluster_state:ok`. Programs that use the cluster wait for it to complete.
  func formingService(_ cluster: ClusterPlan, notes: inout [String]) throws(AppHostError) -> Service {
    let nodes = cluster.nodes.compactMap(plan.container)
    guard let first = nodes.first else { throw .cannotPublish(resource: cluster.resource, reason: "it has no nodes") }
    let variable = ServerCommand.passwordVariable(first.kind == .valkey ? .valkey : .redis)
    let script = HealthScripts.clusterForming(cluster, nodes: nodes)
    var entries: [(String, YAML)] = [
      ("image", .string(first.image)), ("entrypoint", .list([.string("/bin/sh"), .string("-c")])),
      ("command", .list([.string(script.replacing("$", with: "$$"))])),
    ]
    let environment = try split(
      first.environment.filter { $0.name == variable }, resource: cluster.resource, replica: 0)
    if !environment.plain.isEmpty { entries.append(("environment", .map(environment.plain))) }
    if first.health.tls != nil, let ca = first.mounts.first(where: { $0.target == ServerCommand.tlsCAFile }),
      case .bind(let path) = ca.source
    {
      entries.append(("volumes", .list([.string("\(source(of: path)):\(ServerCommand.tlsCAFile):ro")])))
    }
    entries.append(
      ("depends_on", .map(nodes.map { ($0.resource, .map([("condition", .string("service_healthy"))])) })))
    entries.append(("restart", .string("no")))
    notes.append(
      "\(cluster.resource): a cluster of \(nodes.count) nodes, formed once by the \(cluster.formingService) "
        + "service (redis-cli --cluster create); the nodes tell clients their service names, so programs in this "
        + "project follow redirects, clients on the host reach one node's slots only.")
    return Service(
      name: cluster.formingService, entries: entries, secretVariables: environment.secret)
  }

  func healthcheck(_ script: String) -> YAML {
    .map([
      ("test", .list([.string("CMD-SHELL"), .string(script.replacing("$", with: "$$"))])),
      ("interval", .string("2s")), ("timeout", .string("5s")), ("retries", .integer(30)),
      ("start_period", .string("5s")),
    ])
  }

  /// The service names of a program: its name, and `name-N` for replica N > 0 when the copies differ.
  /// Replica 0 keeps the name, so `API_HOST=api` reaches a copy on every compose tool (podman-compose 1.0
  /// refuses network aliases, which could have spread connections over all of them).
  func serviceNames(_ program: PublishedProgram) -> [String] {
    guard perReplica(program) else { return [program.resource] }
    return [program.resource] + (1..<program.executable.replicas).map { "\(program.resource)-\($0)" }
  }

  /// One service per replica when something differs between copies: `{replica}`, or the host ports
  /// apphost uses for them; `deploy.replicas` otherwise.
  func perReplica(_ program: PublishedProgram) -> Bool {
    let executable = program.executable
    guard executable.replicas > 1 else { return false }
    if (program.environment.map(\.value) + program.arguments).contains(where: \.usesReplica) { return true }
    return executable.endpoints.contains { endpoint in
      (0..<executable.replicas).contains {
        plan.hostPort(endpoint, replica: $0, remembered: options.rememberedPorts) != nil
      }
    }
  }

  func carried(_ name: String) -> PublishedProgram? {
    programs.first { $0.resource == name }
  }

  /// A program's readiness as a healthcheck inside its container; nil when compose cannot check it (ready
  /// once started, or a log line, which nothing inside the container sees).
  func healthcheck(for executable: ExecutablePlan) -> YAML? {
    let port = { (name: String) in executable.endpoints.first { $0.name == name }?.containerPort }
    switch executable.readiness {
    case .started, .log: return nil
    case .http(let path, let endpoint):
      return port(endpoint).map { healthcheck(ProgramHealthScripts.http(port: $0, path: path)) }
    case .tcp(let endpoint):
      return port(endpoint).map { healthcheck(ProgramHealthScripts.tcp(port: $0)) }
    case .command(let words):
      return .map([
        ("test", .list([.string("CMD")] + words.map { .string($0.replacing("$", with: "$$")) })),
        ("interval", .string("2s")), ("timeout", .string("5s")), ("retries", .integer(30)),
        ("start_period", .string("5s")),
      ])
    }
  }

  func services(for program: PublishedProgram, notes: inout [String]) throws(AppHostError) -> [Service] {
    let executable = program.executable
    var environment = program.environment
    let names = serviceNames(program)
    let numbered = names.count > 1 || executable.replicas == 1
    if let taken = names.dropFirst().first(where: { manifest[$0] != nil }) {
      throw .cannotPublish(
        resource: executable.resource,
        reason: "its replica's service would be named \(taken), which is another resource of apphost.json; rename one")
    }
    if names.count > 1 {
      notes.append(
        "\(executable.resource): one service per copy (\(names.joined(separator: ", "))), each with its own "
          + "APPHOST_REPLICA; what connects to \(executable.resource) reaches the first (compose has no port that "
          + "spreads connections over them, as apphost's does).")
    }
    if numbered {
      if environment["APPHOST_REPLICA"] == nil {
        environment.append(EnvironmentVariable("APPHOST_REPLICA", Value([.replica])))
      }
    } else {
      notes.append(
        "\(executable.resource): \(executable.replicas) identical copies (deploy.replicas); compose cannot number "
          + "them, so APPHOST_REPLICA is not set.")
    }
    if program.arguments.contains(where: \.containsSecret) {
      throw .cannotPublish(
        resource: executable.resource,
        reason: "an argument holds a password ({NAME.password} or a URI), which would show in the process list "
          + "of every container host; pass it through \"env\" instead")
    }
    let restart: String =
      switch executable.restart {
      case .no: "no"
      case .onFailure: "on-failure"
      case .always: "always"
      }
    let missing = (executable.waitFor + executable.references).filter { name in
      plan.executable(name) != nil && carried(name) == nil
    }
    if !missing.isEmpty {
      var unique: [String] = []
      for name in missing where !unique.contains(name) { unique.append(name) }
      notes.append(
        "\(executable.resource) needs \(listing(unique, conjunction: "and")), which this file does not carry (no "
          + "\"image\"): start \(unique.count == 1 ? "it" : "them") beside it.")
    }
    if case .log(let pattern) = executable.readiness {
      notes.append(
        "\(executable.resource): its readiness (a log line matching /\(pattern)/) has no healthcheck here; what "
          + "waits for it waits until it has started.")
    }
    let check = healthcheck(for: executable)
    var services: [Service] = []
    for (index, name) in names.enumerated() {
      let replica = numbered ? index : 0
      var entries: [(String, YAML)] = [("image", .string(program.image))]
      let ports = plan.programContainerPorts
      let command = ([Value.text(program.spec.command)] + program.arguments).map { value -> YAML in
        .string(
          (value.revealed(ports: ports, replica: replica) ?? value.masked(ports: ports, replica: replica))
            .replacing("$", with: "$$"))
      }
      entries.append(("command", .list(command)))
      let split = try self.split(environment, resource: executable.resource, replica: replica)
      if !split.plain.isEmpty { entries.append(("environment", .map(split.plain))) }
      let certificates = certificateVolumes(program)
      if !certificates.isEmpty { entries.append(("volumes", .list(certificates))) }
      if numbered {
        var published: [YAML] = []
        for endpoint in executable.endpoints {
          if let port = plan.hostPort(endpoint, replica: replica, remembered: options.rememberedPorts) {
            published.append(.string("127.0.0.1:\(port):\(endpoint.containerPort)"))
          } else {
            notes.append(
              "\(name): its endpoint \(endpoint.name) is not published (no \"port\" in apphost.json and none "
                + "remembered); other services reach it at \(name):\(endpoint.containerPort).")
          }
        }
        if !published.isEmpty { entries.append(("ports", .list(published))) }
      }
      if let check { entries.append(("healthcheck", check)) }
      if !executable.waitFor.isEmpty {
        let waits = dependsOn(executable.waitFor)
        if case .map(let list) = waits, !list.isEmpty { entries.append(("depends_on", waits)) }
      }
      if !numbered { entries.append(("deploy", .map([("replicas", .integer(executable.replicas))]))) }
      entries.append(("restart", .string(restart)))
      services.append(Service(name: name, entries: entries, secretVariables: split.secret))
    }
    return services
  }

  /// Containers must be healthy first; programs healthy when they have a healthcheck, else started;
  /// tasks completed with 0 (each replica's service).
  func dependsOn(_ names: [String]) -> YAML {
    var entries: [(String, YAML)] = []
    for name in names {
      if plan.cluster(name) != nil {
        // A cluster is ready once it is formed.
        entries.append(
          (ClusterPlan.formingService(of: name), .map([("condition", .string("service_completed_successfully"))])))
      } else if plan.container(name) != nil {
        entries.append((name, .map([("condition", .string("service_healthy"))])))
        // A cache is ready with its read replicas and sentinels, as under apphost.
        for server in plan.servers(of: name).dropFirst() {
          entries.append((server.resource, .map([("condition", .string("service_healthy"))])))
        }
      } else if let program = carried(name) {
        let condition =
          program.executable.isTask
          ? "service_completed_successfully"
          : healthcheck(for: program.executable) != nil ? "service_healthy" : "service_started"
        for service in serviceNames(program) {
          entries.append((service, .map([("condition", .string(condition))])))
        }
      }
    }
    return .map(entries)
  }
}
