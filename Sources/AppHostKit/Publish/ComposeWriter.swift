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
    }
    for executable in plan.executables {
      guard let image = executable.image else { continue }
      services += try self.services(for: executable, image: image, notes: &notes)
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
    ]
    header += Publisher.notes(plan: plan, options: options, target: .compose) + notes
    let compose = YAML.map(document).document(comment: header)
    return [PublishedFile(name: Self.fileName, text: compose)] + files
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
      let text = variable.value.revealed(ports: [:], replica: replica) ?? variable.value.masked(replica: replica)
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
      entries.append(("entrypoint", .list([.string(entrypoint), .string(container.command.first ?? "-c")])))
      entries.append(("command", .list(container.command.dropFirst().map { .string($0.replacing("$", with: "$$")) })))
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
        .string("\(relativePath(path, from: outputDirectory)):\(mount.target)\(mount.readOnly ? ":ro" : "")")
      }
    }
    if !volumes.isEmpty { entries.append(("volumes", .list(volumes))) }
    entries.append(("healthcheck", healthcheck(HealthScripts.script(for: container))))
    if !container.caches.isEmpty {
      entries.append(("depends_on", dependsOn(container.caches)))
    }
    entries.append(("restart", .string("unless-stopped")))
    return Service(name: container.resource, entries: entries, secretVariables: environment.secret)
  }

  func healthcheck(_ script: String) -> YAML {
    .map([
      ("test", .list([.string("CMD-SHELL"), .string(script.replacing("$", with: "$$"))])),
      ("interval", .string("2s")), ("timeout", .string("5s")), ("retries", .integer(30)),
      ("start_period", .string("5s")),
    ])
  }

  /// The service names of a program: its name, or `name-N` per replica when the copies differ.
  func serviceNames(_ executable: ExecutablePlan) -> [String] {
    perReplica(executable)
      ? (0..<executable.replicas).map { "\(executable.resource)-\($0)" } : [executable.resource]
  }

  /// One service per replica when something differs between copies (`{replica}`); `deploy.replicas`
  /// otherwise.
  func perReplica(_ executable: ExecutablePlan) -> Bool {
    guard executable.replicas > 1, let spec = manifest[executable.resource]?.executable else { return false }
    let values =
      Planner.executableEnvironment(spec, endpoints: plan.networkEndpoints).map(\.value)
      + spec.args.map { Planner.resolveTemplate($0, endpoints: plan.networkEndpoints) }
    return values.contains { $0.usesReplica }
  }

  func services(for executable: ExecutablePlan, image: String, notes: inout [String]) throws(AppHostError)
    -> [Service]
  {
    guard let spec = manifest[executable.resource]?.executable else { return [] }
    var environment = Planner.executableEnvironment(spec, endpoints: plan.networkEndpoints)
    let arguments = spec.args.map { Planner.resolveTemplate($0, endpoints: plan.networkEndpoints) }
    let names = serviceNames(executable)
    let numbered = names.count > 1 || executable.replicas == 1
    if numbered {
      if environment["APPHOST_REPLICA"] == nil {
        environment.append(EnvironmentVariable("APPHOST_REPLICA", Value([.replica])))
      }
    } else {
      notes.append(
        "\(executable.resource): \(executable.replicas) identical copies (deploy.replicas); compose cannot number "
          + "them, so APPHOST_REPLICA is not set.")
    }
    let restart: String =
      switch executable.restart {
      case .no: "no"
      case .onFailure: "on-failure"
      case .always: "always"
      }
    let missing = executable.waitFor.filter { plan.executable($0).map { $0.image == nil } ?? false }
    if !missing.isEmpty {
      notes.append(
        "\(executable.resource) waits for \(listing(missing, conjunction: "and")) under apphost, which this file does not carry: "
          + "start \(missing.count == 1 ? "it" : "them") first.")
    }
    var services: [Service] = []
    for (replica, name) in names.enumerated() {
      var entries: [(String, YAML)] = [("image", .string(image))]
      let command = ([Value.text(spec.command)] + arguments).map { value -> YAML in
        // Arguments hold no secrets unless a placeholder put one there: compose would show it in `ps`.
        .string((value.revealed(replica: replica) ?? value.masked(replica: replica)).replacing("$", with: "$$"))
      }
      if arguments.contains(where: \.containsSecret) {
        throw .cannotPublish(
          resource: executable.resource,
          reason: "an argument holds a password ({NAME.password} or a URI), which would show in the process list "
            + "of every container host; pass it through \"env\" instead")
      }
      entries.append(("command", .list(command)))
      let split = try self.split(environment, resource: executable.resource, replica: replica)
      if !split.plain.isEmpty { entries.append(("environment", .map(split.plain))) }
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

  /// Containers must be healthy first; programs only started (each replica's service).
  func dependsOn(_ names: [String]) -> YAML {
    var entries: [(String, YAML)] = []
    for name in names {
      if plan.container(name) != nil {
        entries.append((name, .map([("condition", .string("service_healthy"))])))
      } else if let executable = plan.executable(name), executable.image != nil {
        for service in serviceNames(executable) {
          entries.append((service, .map([("condition", .string("service_started"))])))
        }
      }
    }
    return .map(entries)
  }
}
