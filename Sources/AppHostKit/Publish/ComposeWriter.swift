/// `apphost publish compose`: a compose file with the same containers `apphost up` runs (images, server
/// commands, persistence, named volumes with the same names, ports, healthchecks that PING after AUTH,
/// `depends_on` on healthy services) and a `.env` with the passwords, which the compose file only names.
struct ComposeWriter {
  let plan: Plan
  let manifest: Manifest
  let secrets: PublishedSecrets
  let outputDirectory: String

  static let fileName = "docker-compose.yml"

  func files() -> [PublishedFile] {
    var services: [YAMLEntry] = []
    for container in plan.containers {
      services.append(YAMLEntry(container.resource, service(for: container)))
    }
    var skipped: [String] = []
    for executable in plan.executables {
      guard let image = executable.image else {
        skipped.append(
          "\(executable.resource) (\(shellCommandLine([executable.command] + executable.arguments.map { $0.masked() }))) "
            + "is run by apphost, not here: give it an \"image\" in apphost.json to make it a service, or run it "
            + "beside this stack with the variables of `apphost env \(executable.resource)`.")
        continue
      }
      services.append(YAMLEntry(executable.resource, service(for: executable, image: image)))
    }
    var document: [YAMLEntry] = [YAMLEntry("services", .map(services), comment: skipped)]
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
    let header = [
      "Written by `apphost publish compose` from \(plan.manifestPath).",
      "Start it with `docker compose up -d` (or `docker-compose up -d`, `podman-compose up -d`) in this folder.",
      "The passwords are in .env, next to this file: keep that file private.",
      "Ports are published on 127.0.0.1 only, as apphost does; change \"ports\" to reach the services from elsewhere.",
    ]
    let compose = YAML.map(document).document(comment: header)
    return [
      PublishedFile(name: Self.fileName, text: compose), PublishedFile(name: ".env", text: dotenv(), secret: true),
    ]
  }

  /// `.env`: the passwords compose substitutes into the file (those read from the environment stay there).
  func dotenv() -> String {
    var lines = ["# Written by `apphost publish compose`: the passwords of \(plan.project). Keep this file private."]
    for secret in secrets.all {
      if secret.fromEnvironment, let original = secret.encodes {
        lines.append(
          "# \(secret.variable) (\(secret.resource)): set it beside \(original), to \(original) percent-encoded, "
            + "for the URIs")
      } else if secret.fromEnvironment {
        lines.append("# \(secret.variable) (\(secret.resource)): read from the environment, as apphost does")
      } else {
        lines.append("\(secret.variable)=\(dotenvQuoted(secret.value))")
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// A value for the compose file: `$` escaped, secrets as `${VARIABLE}` references.
  func render(_ value: Value) -> String {
    var text = ""
    for part in value.parts {
      switch part {
      case .text(let literal): text += literal.replacing("$", with: "$$")
      case .secret(let secret):
        if let variable = secrets.variable(for: secret)?.variable {
          text += "${\(variable):?set \(variable) in .env}"
        } else {
          text += Value.mask
        }
      case .hostPort: text += String(Planner.cachePort)
      case .replica: text += "0"
      }
    }
    return text
  }

  func service(for container: ContainerPlan) -> YAML {
    var entries: [(String, YAML)] = [("image", .string(container.image))]
    if let entrypoint = container.entrypoint {
      entries.append(("entrypoint", .list([.string(entrypoint), .string(container.command.first ?? "-c")])))
      entries.append(("command", .list(container.command.dropFirst().map { .string($0.replacing("$", with: "$$")) })))
    }
    if let user = container.user { entries.append(("user", .string(user))) }
    if !container.environment.isEmpty {
      entries.append(
        ("environment", .map(container.environment.map { ($0.name, YAML.string(render($0.value))) })))
    }
    let published = container.hostPort.map(String.init) ?? ""
    entries.append(("ports", .list([.string("127.0.0.1:\(published):\(container.containerPort)")])))
    let volumes: [YAML] = container.mounts.map { mount in
      switch mount.source {
      case .volume(let name): .string("\(name):\(mount.target)\(mount.readOnly ? ":ro" : "")")
      case .bind(let path):
        .string("\(relativePath(path, from: outputDirectory)):\(mount.target)\(mount.readOnly ? ":ro" : "")")
      }
    }
    if !volumes.isEmpty { entries.append(("volumes", .list(volumes))) }
    entries.append(
      (
        "healthcheck",
        .map([
          (
            "test",
            .list([.string("CMD-SHELL"), .string(HealthScripts.script(for: container).replacing("$", with: "$$"))])
          ),
          ("interval", .string("2s")), ("timeout", .string("5s")), ("retries", .integer(30)),
          ("start_period", .string("5s")),
        ])
      ))
    if !container.caches.isEmpty {
      entries.append(("depends_on", dependsOn(container.caches)))
    }
    entries.append(("restart", .string("unless-stopped")))
    return .map(entries)
  }

  func service(for executable: ExecutablePlan, image: String) -> YAML {
    guard let spec = manifest[executable.resource]?.executable else { return YAML.map([YAMLEntry]()) }
    let environment = Planner.executableEnvironment(spec, endpoints: plan.networkEndpoints)
    var entries: [(String, YAML)] = [("image", .string(image))]
    let arguments = spec.args.map { Planner.resolveTemplate($0, endpoints: plan.networkEndpoints) }
    entries.append(("command", .list(([.text(spec.command)] + arguments).map { .string(render($0)) })))
    if !environment.isEmpty {
      entries.append(("environment", .map(environment.map { ($0.name, YAML.string(render($0.value))) })))
    }
    if !executable.waitFor.isEmpty { entries.append(("depends_on", dependsOn(executable.waitFor))) }
    if executable.replicas > 1 {
      entries.append(("deploy", .map([("replicas", .integer(executable.replicas))])))
    }
    let restart: String =
      switch executable.restart {
      case .no: "no"
      case .onFailure: "on-failure"
      case .always: "always"
      }
    entries.append(("restart", .string(restart)))
    return .map(entries)
  }

  /// Containers must be healthy first; programs only started.
  func dependsOn(_ names: [String]) -> YAML {
    .map(
      names.filter { plan.container($0) != nil || plan.executable($0)?.image != nil }.map { name in
        (name, YAML.map([("condition", .string(plan.container(name) != nil ? "service_healthy" : "service_started"))]))
      })
  }
}
