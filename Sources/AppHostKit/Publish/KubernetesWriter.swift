/// `apphost publish kubernetes`: plain manifests for `kubectl apply -f DIR`. Per cache a Secret with its
/// password, a StatefulSet (its /data on a PersistentVolumeClaim) and a Service named after it, so that
/// everything reaches it at `NAME:6379` as on apphost's network; Deployments and Services for the UIs and
/// for programs that name an image. Readiness probes run the same checks as apphost: PING after AUTH.
struct KubernetesWriter {
  let plan: Plan
  let manifest: Manifest
  let secrets: PublishedSecrets

  static let storage = "1Gi"

  func files() -> [PublishedFile] {
    var files: [PublishedFile] = []
    // One Secret per resource: its password, and the percent-encoded form when URIs need one.
    var resources: [String] = []
    for secret in secrets.all where !resources.contains(secret.resource) { resources.append(secret.resource) }
    let secretObjects = resources.map { resource -> YAML in
      let entries = secrets.all.filter { $0.resource == resource }
      return object(
        kind: "Secret", apiVersion: "v1", name: secretName(entries[0]), component: resource,
        extra: [("type", .string("Opaque")), ("stringData", .map(entries.map { ($0.key, .string($0.value)) }))])
    }
    if !secretObjects.isEmpty {
      files.append(
        PublishedFile(
          name: "secrets.yaml",
          text: documents(secretObjects, comment: ["The passwords of \(plan.project): keep this file private."]),
          secret: true))
    }
    for container in plan.containers {
      var objects: [YAML] = []
      let labels = self.labels(container.resource)
      let volume = container.mounts.first
      if container.kind.isCache {
        var spec: [(String, YAML)] = [
          ("serviceName", .string(container.resource)), ("replicas", .integer(1)),
          ("selector", .map([("matchLabels", labels)])),
          ("template", podTemplate(container, claim: volume != nil ? "data" : nil)),
        ]
        if volume != nil {
          spec.append(
            (
              "volumeClaimTemplates",
              .list([
                .map([
                  ("metadata", .map([("name", .string("data")), ("labels", labels)])),
                  ("spec", claimSpec),
                ])
              ])
            ))
        }
        objects.append(
          object(
            kind: "StatefulSet", apiVersion: "apps/v1", name: container.resource, component: container.resource,
            extra: [("spec", .map(spec))]))
      } else {
        if volume != nil {
          objects.append(
            object(
              kind: "PersistentVolumeClaim", apiVersion: "v1", name: "\(container.resource)-data",
              component: container.resource, extra: [("spec", claimSpec)]))
        }
        objects.append(
          object(
            kind: "Deployment", apiVersion: "apps/v1", name: container.resource, component: container.resource,
            extra: [
              (
                "spec",
                .map([
                  ("replicas", .integer(1)), ("selector", .map([("matchLabels", labels)])),
                  ("strategy", .map([("type", .string("Recreate"))])),
                  ("template", podTemplate(container, claim: volume != nil ? "\(container.resource)-data" : nil)),
                ])
              )
            ]))
      }
      objects.append(service(container.resource, port: container.containerPort))
      files.append(PublishedFile(name: "\(container.resource).yaml", text: documents(objects)))
    }
    var notes: [String] = []
    for executable in plan.executables {
      guard let image = executable.image, let spec = manifest[executable.resource]?.executable else {
        notes.append(
          "\(executable.resource) is run by apphost, not in the cluster: give it an \"image\" in apphost.json to "
            + "make it a Deployment.")
        continue
      }
      let environment = Planner.executableEnvironment(spec, endpoints: plan.networkEndpoints)
      let arguments = spec.args.map { Planner.resolveTemplate($0, endpoints: plan.networkEndpoints) }
      var containerSpec: [(String, YAML)] = [
        ("name", .string(executable.resource)), ("image", .string(image)),
        ("command", .list(([Value.text(spec.command)] + arguments).map { .string(render($0)) })),
      ]
      let env = environmentList(environment)
      if !env.isEmpty { containerSpec.append(("env", .list(env))) }
      let labels = self.labels(executable.resource)
      let deployment = object(
        kind: "Deployment", apiVersion: "apps/v1", name: executable.resource, component: executable.resource,
        extra: [
          (
            "spec",
            .map([
              ("replicas", .integer(executable.replicas)), ("selector", .map([("matchLabels", labels)])),
              (
                "template",
                .map([
                  ("metadata", .map([("labels", labels)])),
                  (
                    "spec",
                    .map([
                      ("restartPolicy", .string("Always")),
                      ("containers", .list([.map(containerSpec)])),
                    ])
                  ),
                ])
              ),
            ])
          )
        ])
      files.append(PublishedFile(name: "\(executable.resource).yaml", text: documents([deployment])))
    }
    if !notes.isEmpty {
      files.append(
        PublishedFile(
          name: "README.txt", text: (["Programs of \(plan.project):"] + notes).joined(separator: "\n") + "\n"))
    }
    return files
  }

  // MARK: Pieces

  func labels(_ resource: String) -> YAML {
    .map([
      ("app.kubernetes.io/name", .string(resource)), ("app.kubernetes.io/part-of", .string(plan.project)),
    ])
  }

  func object(kind: String, apiVersion: String, name: String, component: String, extra: [(String, YAML)]) -> YAML {
    let metadataLabels = [
      YAMLEntry("app.kubernetes.io/managed-by", .string("apphost")),
      YAMLEntry("app.kubernetes.io/name", .string(component)),
      YAMLEntry("app.kubernetes.io/part-of", .string(plan.project)),
    ]
    return .map(
      [
        ("apiVersion", .string(apiVersion)), ("kind", .string(kind)),
        ("metadata", .map([YAMLEntry("name", .string(name)), YAMLEntry("labels", .map(metadataLabels))])),
      ] + extra)
  }

  func secretName(_ secret: PublishedSecrets.Secret) -> String {
    "\(plan.project)-\(secret.resource)-password"
  }

  /// One volume per cache, written by one pod at a time.
  var claimSpec: YAML {
    .map([
      ("accessModes", .list([.string("ReadWriteOnce")])),
      ("resources", .map([("requests", .map([("storage", .string(Self.storage))]))])),
    ])
  }

  func service(_ name: String, port: Int) -> YAML {
    object(
      kind: "Service", apiVersion: "v1", name: name, component: name,
      extra: [
        (
          "spec",
          .map([
            ("selector", labels(name)),
            (
              "ports",
              .list([.map([("name", .string("main")), ("port", .integer(port)), ("targetPort", .integer(port))])])
            ),
          ])
        )
      ])
  }

  func podTemplate(_ container: ContainerPlan, claim: String?) -> YAML {
    var spec: [(String, YAML)] = [
      ("name", .string(container.resource)), ("image", .string(container.image)),
    ]
    if let entrypoint = container.entrypoint {
      spec.append(("command", .list([.string(entrypoint)])))
      spec.append(("args", .list(container.command.map { .string($0) })))
    }
    let env = environmentList(container.environment)
    if !env.isEmpty { spec.append(("env", .list(env))) }
    spec.append(
      ("ports", .list([.map([("name", .string("main")), ("containerPort", .integer(container.containerPort))])])))
    spec.append(
      (
        "readinessProbe",
        .map([
          (
            "exec",
            .map([
              ("command", .list([.string("/bin/sh"), .string("-c"), .string(HealthScripts.script(for: container))]))
            ])
          ),
          ("periodSeconds", .integer(2)), ("timeoutSeconds", .integer(5)), ("failureThreshold", .integer(3)),
        ])
      ))
    spec.append(
      (
        "livenessProbe",
        .map([
          ("tcpSocket", .map([("port", .integer(container.containerPort))])),
          ("initialDelaySeconds", .integer(15)), ("periodSeconds", .integer(10)),
        ])
      ))
    if claim != nil {
      spec.append(
        (
          "volumeMounts",
          .list([
            .map(
              [("name", .string("data")), ("mountPath", .string("/data"))]
                + (container.mounts.first?.readOnly == true ? [("readOnly", .boolean(true))] : []))
          ])
        ))
    }
    var podSpec: [(String, YAML)] = []
    // Images that run as a non-root user need their data volume writable by that user's group.
    switch container.kind {
    case .garnet: podSpec.append(("securityContext", .map([("fsGroup", .integer(1654))])))
    case .redisinsight: podSpec.append(("securityContext", .map([("fsGroup", .integer(1000))])))
    default: break
    }
    podSpec.append(("containers", .list([.map(spec)])))
    if let claim, claim != "data" {
      podSpec.append(
        (
          "volumes",
          .list([.map([("name", .string("data")), ("persistentVolumeClaim", .map([("claimName", .string(claim))]))])])
        ))
    }
    return .map([("metadata", .map([("labels", labels(container.resource))])), ("spec", .map(podSpec))])
  }

  /// Environment entries: a value that is one secret comes from its Secret; a value with a secret inside
  /// refers to it as `$(VARIABLE)`, defined first from the Secret.
  func environmentList(_ variables: [EnvironmentVariable]) -> [YAML] {
    var definitions: [YAML] = []
    var defined: Set<String> = []
    var entries: [YAML] = []
    for variable in variables {
      if variable.value.parts.count == 1, case .secret(let value) = variable.value.parts[0],
        let secret = secrets.variable(for: value)
      {
        entries.append(.map([("name", .string(variable.name)), ("valueFrom", secretReference(secret))]))
        continue
      }
      for case .secret(let value) in variable.value.parts {
        if let secret = secrets.variable(for: value), defined.insert(secret.variable).inserted {
          definitions.append(.map([("name", .string(secret.variable)), ("valueFrom", secretReference(secret))]))
        }
      }
      entries.append(.map([("name", .string(variable.name)), ("value", .string(render(variable.value)))]))
    }
    return definitions + entries
  }

  func secretReference(_ secret: PublishedSecrets.Secret) -> YAML {
    .map([("secretKeyRef", .map([("name", .string(secretName(secret))), ("key", .string(secret.key))]))])
  }

  /// A value for an env entry: `$(` escaped, secrets as `$(VARIABLE)`.
  func render(_ value: Value) -> String {
    var text = ""
    for part in value.parts {
      switch part {
      case .text(let literal): text += literal.replacing("$(", with: "$$(")
      case .secret(let secret): text += secrets.variable(for: secret).map { "$(\($0.variable))" } ?? Value.mask
      case .hostPort: text += String(Planner.cachePort)
      case .replica: text += "0"
      }
    }
    return text
  }

  func documents(_ objects: [YAML], comment: [String] = []) -> String {
    let header =
      ["Written by `apphost publish kubernetes` from \(plan.manifestPath); apply with `kubectl apply -f .`"] + comment
    return objects.enumerated().map { index, object in
      object.document(comment: index == 0 ? header : [])
    }.joined(separator: "---\n")
  }
}
