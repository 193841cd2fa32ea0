import Foundation

/// `apphost publish kubernetes`: manifests for `kubectl apply -k DIR` (a kustomization.yaml lists them).
/// Per cache a Secret with its password, a StatefulSet (its /data on a PersistentVolumeClaim), the headless
/// Service the StatefulSet names and a client Service named after the cache, so that everything reaches it
/// at `NAME:6379` as on apphost's network; Deployments and Services for the UIs and for programs that
/// name an image. Every container has requests and limits (`resources` in the manifest, else a default per
/// kind) and a restrictive securityContext; readiness probes run the same checks as apphost: PING after AUTH.
struct KubernetesWriter {
  let plan: Plan
  let manifest: Manifest
  let secrets: PublishedSecrets
  let options: PublishOptions
  /// The programs with an image.
  let programs: [PublishedProgram]

  static let storage = "1Gi"
  static let kustomization = "kustomization.yaml"

  func files() throws(AppHostError) -> [PublishedFile] {
    var files: [PublishedFile] = []
    if let namespace = options.namespace {
      files.append(
        PublishedFile(
          name: "namespace.yaml",
          text: documents([
            .map([
              ("apiVersion", .string("v1")), ("kind", .string("Namespace")),
              ("metadata", .map([("name", .string(namespace)), ("labels", metadataLabels(nil))])),
            ])
          ])))
    }
    // One Secret per resource: its password, and the percent-encoded form when URIs need one.
    var resources: [String] = []
    for secret in secrets.all where !resources.contains(secret.resource) { resources.append(secret.resource) }
    var secretObjects = resources.map { resource -> YAML in
      let entries = secrets.all.filter { $0.resource == resource }
      return object(
        kind: "Secret", apiVersion: "v1", name: secretName(entries[0]), component: resource,
        extra: [("type", .string("Opaque")), ("stringData", .map(entries.map { ($0.key, .string($0.value)) }))])
    }
    // Files the servers read (configFile, a seed RDB): a Secret each (a configuration may hold requirepass).
    for container in plan.containers {
      let files = try fileMounts(container)
      guard !files.isEmpty else { continue }
      secretObjects.append(
        object(
          kind: "Secret", apiVersion: "v1", name: filesSecretName(container.resource), component: container.resource,
          extra: [
            ("type", .string("Opaque")),
            ("data", .map(files.map { ($0.key, .string($0.contents.base64EncodedString())) })),
          ]))
    }
    if !secretObjects.isEmpty {
      files.append(
        PublishedFile(
          name: "secrets.yaml",
          text: documents(
            secretObjects, comment: ["The passwords (and server files) of \(plan.project): keep this file private."]),
          secret: true))
    }
    for container in plan.containers {
      files.append(PublishedFile(name: "\(container.resource).yaml", text: documents(objects(for: container))))
    }
    var notes: [String] = []
    for cluster in plan.clusters {
      let job = try formingJob(cluster, notes: &notes)
      files.append(PublishedFile(name: "\(cluster.formingService).yaml", text: documents([job])))
    }
    for cache in plan.sentinelCaches {
      notes.append(
        "\(cache): watched by \(Planner.sentinelCount) sentinels, which hand out the servers' Service names: programs "
          + "in the namespace follow failovers through them. A restarted pod of \(cache) starts as the primary with "
          + "the data it has until the sentinels make it a replica of the promoted one. Not carried: the start order "
          + "(sentinels and programs start at once and retry).")
    }
    for program in programs {
      let objects = try objects(for: program, notes: &notes)
      files.append(PublishedFile(name: "\(program.resource).yaml", text: documents(objects)))
    }
    files.append(PublishedFile(name: Self.kustomization, text: kustomization(files.map(\.name), notes: notes)))
    return files
  }

  /// `kubectl apply -k .` takes the folder: every file, in the namespace when one was given.
  func kustomization(_ names: [String], notes: [String]) -> String {
    var entries: [(String, YAML)] = [
      ("apiVersion", .string("kustomize.config.k8s.io/v1beta1")), ("kind", .string("Kustomization")),
    ]
    if let namespace = options.namespace { entries.append(("namespace", .string(namespace))) }
    entries.append(("resources", .list(names.map { .string($0) })))
    let header =
      [
        "Written by `apphost publish kubernetes` from \(plan.manifestPath).",
        "Apply it with `kubectl apply -k .` in this folder"
          + (options.namespace.map { " (everything goes into the namespace \($0))" } ?? "") + ".",
        "secrets.yaml holds the passwords (mode 0600, listed in .gitignore): keep it private.",
        "Requests and limits: \"resources\": {\"memory\": \"256Mi\", \"cpu\": \"250m\"} on a resource in apphost.json "
          + "overrides the defaults.",
      ] + Publisher.notes(plan: plan, options: options, target: .kubernetes) + notes
    return YAML.map(entries).document(comment: header)
  }

  // MARK: Caches and UIs

  func objects(for container: ContainerPlan) -> [YAML] {
    var objects: [YAML] = []
    let labels = self.labels(container.resource)
    let volume = container.dataMount
    if container.kind.isCache {
      var spec: [(String, YAML)] = [
        ("serviceName", .string(headlessName(container.resource))), ("replicas", .integer(1)),
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
      objects.append(service(container.resource, ports: servicePorts(container), headless: true))
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
    // The servers of a cluster or a sentinel group watch each other and are found by these names before
    // they are ready (a sentinel is ready once it reaches the others): every pod, ready or not.
    objects.append(
      service(
        container.resource, ports: servicePorts(container),
        notReadyToo: foundByPeers(container)))
    return objects
  }

  /// A server of a cluster or of a sentinel group.
  func foundByPeers(_ container: ContainerPlan) -> Bool {
    container.clusterOf != nil
      || plan.sentinelCaches.contains(container.sentinelOf ?? container.replicaOf ?? container.resource)
  }

  /// A server's ports: `main`, and a cluster node's bus (its port + 10000), which the other nodes reach.
  func containerPorts(_ container: ContainerPlan) -> [(name: String, port: Int)] {
    [("main", container.containerPort)] + (container.clusterOf != nil ? [("bus", container.containerPort + 10000)] : [])
  }

  func servicePorts(_ container: ContainerPlan) -> [YAML] {
    containerPorts(container).map { port in
      .map([("name", .string(port.name)), ("port", .integer(port.port)), ("targetPort", .integer(port.port))])
    }
  }

  /// The Job that forms a cluster once its nodes answer (the script of compose's one-shot service); it does
  /// nothing when the cluster is formed already (its claims kept it). Programs do not wait for it.
  func formingJob(_ cluster: ClusterPlan, notes: inout [String]) throws(AppHostError) -> YAML {
    let nodes = cluster.nodes.compactMap(plan.container)
    guard let first = nodes.first else { throw .cannotPublish(resource: cluster.resource, reason: "it has no nodes") }
    let variable = ServerCommand.passwordVariable(first.kind == .valkey ? .valkey : .redis)
    let security = Self.security(first.kind)
    var spec: [(String, YAML)] = [
      ("name", .string(cluster.formingService)), ("image", .string(first.image)),
      ("command", .list([.string("/bin/sh"), .string("-c")])),
      ("args", .list([.string(HealthScripts.clusterForming(cluster, nodes: nodes).replacing("$(", with: "$$("))])),
    ]
    let env = environmentList(first.environment.filter { $0.name == variable }, replica: .single)
    if !env.isEmpty { spec.append(("env", .list(env))) }
    spec.append(("resources", resources(cluster.resource, kind: first.kind)))
    spec.append(("securityContext", containerSecurity(readOnlyRoot: security.readOnlyRoot, nonRoot: true)))
    var mounts: [YAML] = [.map([("name", .string("tmp")), ("mountPath", .string("/tmp"))])]
    var volumes: [YAML] = [.map([("name", .string("tmp")), ("emptyDir", .map([("medium", .string("Memory"))]))])]
    if first.health.tls != nil {
      let ca = caVolume(of: first.resource)
      mounts.append(ca.mount)
      volumes.append(ca.volume)
    }
    spec.append(("volumeMounts", .list(mounts)))
    let pod: [(String, YAML)] = [
      ("securityContext", podSecurity(user: security.user)),
      ("automountServiceAccountToken", .boolean(false)),
      ("restartPolicy", .string("Never")),
      ("containers", .list([.map(spec)])),
      ("volumes", .list(volumes)),
    ]
    notes.append(
      "\(cluster.resource): a cluster of \(nodes.count) nodes, formed once by the Job \(cluster.formingService) "
        + "(redis-cli --cluster create over the nodes' Services, port and bus); the nodes tell clients their Service "
        + "names, so programs in the namespace follow redirects. Not carried: programs start before it is formed "
        + "and retry; a Job cannot be changed once made (delete it before applying a changed cluster).")
    return object(
      kind: "Job", apiVersion: "batch/v1", name: cluster.formingService, component: cluster.resource,
      extra: [
        (
          "spec",
          .map([
            ("backoffLimit", .integer(6)),
            (
              "template", .map([("metadata", .map([("labels", labels(cluster.formingService))])), ("spec", .map(pod))])
            ),
          ])
        )
      ])
  }

  /// What each image allows: the user it runs as (non-root in all five), and whether its root file
  /// system can be read-only. The servers write only /data and the private password file under /tmp
  /// (both given as volumes); RedisInsight and Redis Commander write into their own folders at start.
  struct Security: Equatable {
    var user: Int?
    var readOnlyRoot: Bool
  }

  static func security(_ kind: ContainerKind) -> Security {
    switch kind {
    // redis and valkey: uid 999 of the official images (their entrypoint drops to it; apphost's
    // /bin/sh entrypoint runs the server directly, so the pod says it).
    case .redis, .valkey: Security(user: 999, readOnlyRoot: true)
    case .garnet: Security(user: 1654, readOnlyRoot: true)
    case .redisinsight: Security(user: 1000, readOnlyRoot: false)
    case .rediscommander: Security(user: 1000, readOnlyRoot: false)
    }
  }

  /// Requests and limits by default, per kind; the manifest's `resources` override each value.
  static func defaultResources(_ kind: ContainerKind?) -> (memory: String, cpu: String) {
    switch kind {
    case .redis, .valkey: ("256Mi", "250m")
    case .garnet: ("512Mi", "500m")
    case .redisinsight: ("512Mi", "250m")
    case .rediscommander: ("128Mi", "100m")
    case nil: ("256Mi", "250m")
    }
  }

  func resources(_ resource: String, kind: ContainerKind?) -> YAML {
    let given: ComputeResources
    switch manifest[resource]?.spec {
    case .cache(let cache): given = cache.container.resources
    case .redisInsight(let insight): given = insight.container.resources
    case .redisCommander(let commander): given = commander.container.resources
    case .executable(let executable): given = executable.resources
    default: given = ComputeResources()
    }
    let defaults = Self.defaultResources(kind)
    let values = YAML.map([
      ("memory", .string(given.memory ?? defaults.memory)), ("cpu", .string(given.cpu ?? defaults.cpu)),
    ])
    return .map([("requests", values), ("limits", values)])
  }

  func containerSecurity(readOnlyRoot: Bool, nonRoot: Bool) -> YAML {
    var entries: [(String, YAML)] = [
      ("allowPrivilegeEscalation", .boolean(false)),
      ("capabilities", .map([("drop", .list([.string("ALL")]))])),
      ("readOnlyRootFilesystem", .boolean(readOnlyRoot)),
    ]
    if nonRoot { entries.append(("runAsNonRoot", .boolean(true))) }
    return .map(entries)
  }

  func podSecurity(user: Int?) -> YAML {
    var entries: [(String, YAML)] = []
    if let user {
      entries += [
        ("runAsNonRoot", .boolean(true)), ("runAsUser", .integer(user)), ("runAsGroup", .integer(user)),
        // The volumes are made writable for the server's group.
        ("fsGroup", .integer(user)),
      ]
    }
    entries.append(("seccompProfile", .map([("type", .string("RuntimeDefault"))])))
    return .map(entries)
  }

  func podTemplate(_ container: ContainerPlan, claim: String?) -> YAML {
    let security = Self.security(container.kind)
    var spec: [(String, YAML)] = [
      ("name", .string(container.resource)), ("image", .string(container.image)),
    ]
    if let entrypoint = container.entrypoint {
      spec.append(("command", .list([.string(entrypoint)])))
      spec.append(("args", .list(container.command.map { .string($0.replacing("$(", with: "$$(")) })))
    }
    let env = environmentList(container.environment, replica: .single)
    if !env.isEmpty { spec.append(("env", .list(env))) }
    spec.append(
      (
        "ports",
        .list(
          containerPorts(container).map { .map([("name", .string($0.name)), ("containerPort", .integer($0.port))]) })
      ))
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
    spec.append(("resources", resources(container.resource, kind: container.kind)))
    spec.append(("securityContext", containerSecurity(readOnlyRoot: security.readOnlyRoot, nonRoot: true)))
    // What must stay writable under a read-only root: /data (a claim, else an emptyDir for the servers)
    // and /tmp (the servers' private password file).
    var mounts: [YAML] = []
    var volumes: [YAML] = []
    if claim != nil {
      mounts.append(
        .map(
          [("name", .string("data")), ("mountPath", .string("/data"))]
            + (container.dataMount?.readOnly == true ? [("readOnly", .boolean(true))] : [])))
    } else if security.readOnlyRoot {
      mounts.append(.map([("name", .string("data")), ("mountPath", .string("/data"))]))
      volumes.append(.map([("name", .string("data")), ("emptyDir", .map([YAMLEntry]()))]))
    }
    if security.readOnlyRoot {
      mounts.append(.map([("name", .string("tmp")), ("mountPath", .string("/tmp"))]))
      volumes.append(.map([("name", .string("tmp")), ("emptyDir", .map([("medium", .string("Memory"))]))]))
    }
    let files = (try? fileMounts(container)) ?? []
    for file in files {
      mounts.append(
        .map([
          ("name", .string("files")), ("mountPath", .string(file.target)), ("subPath", .string(file.key)),
          ("readOnly", .boolean(true)),
        ]))
    }
    if !files.isEmpty {
      volumes.append(
        .map([
          ("name", .string("files")),
          (
            "secret",
            .map([("secretName", .string(filesSecretName(container.resource))), ("defaultMode", .integer(0o440))])
          ),
        ]))
    }
    if let claim, claim != "data" {
      volumes.insert(
        .map([("name", .string("data")), ("persistentVolumeClaim", .map([("claimName", .string(claim))]))]), at: 0)
    }
    if !mounts.isEmpty { spec.append(("volumeMounts", .list(mounts))) }
    var podSpec: [(String, YAML)] = [
      ("securityContext", podSecurity(user: security.user)),
      ("automountServiceAccountToken", .boolean(false)),
      ("containers", .list([.map(spec)])),
    ]
    if !volumes.isEmpty { podSpec.append(("volumes", .list(volumes))) }
    return .map([("metadata", .map([("labels", labels(container.resource))])), ("spec", .map(podSpec))])
  }

  // MARK: Programs

  /// How replicas are numbered: one copy (`APPHOST_REPLICA` 0), a StatefulSet whose pod index is
  /// `APPHOST_REPLICA` (copies differ by `{replica}`), or identical copies of a Deployment.
  enum Numbering {
    case single, podIndex, identical
  }

  /// A port name Kubernetes takes (an IANA service name: at most 15 lower-case letters, digits and
  /// '-', with a letter), else `port-N`.
  static func portName(_ name: String, index: Int) -> String {
    let valid =
      name.count <= 15 && name.wholeMatch(of: /[a-z0-9]([a-z0-9-]*[a-z0-9])?/) != nil && !name.contains("--")
      && name.contains(where: \.isLetter)
    return valid ? name : "port-\(index + 1)"
  }

  /// The program's readiness as a probe: HTTP and TCP natively, a command as exec; nil for "once
  /// started" and for a log line (nothing in the cluster watches logs).
  func readinessProbe(_ executable: ExecutablePlan) -> YAML? {
    let port = { (name: String) in executable.endpoints.first { $0.name == name }?.containerPort }
    let timing: [(String, YAML)] = [
      ("periodSeconds", .integer(2)), ("timeoutSeconds", .integer(2)), ("failureThreshold", .integer(3)),
    ]
    switch executable.readiness {
    case .started, .log: return nil
    case .http(let path, let endpoint):
      guard let port = port(endpoint) else { return nil }
      return .map([("httpGet", .map([("path", .string(path)), ("port", .integer(port))]))] + timing)
    case .tcp(let endpoint):
      guard let port = port(endpoint) else { return nil }
      return .map([("tcpSocket", .map([("port", .integer(port))]))] + timing)
    case .command(let words):
      return .map([("exec", .map([("command", .list(words.map { .string($0) }))]))] + timing)
    }
  }

  func objects(for program: PublishedProgram, notes: inout [String]) throws(AppHostError) -> [YAML] {
    let executable = program.executable
    var environment = program.environment
    let arguments = program.arguments
    if arguments.contains(where: \.containsSecret) {
      throw .cannotPublish(
        resource: executable.resource,
        reason: "an argument holds a password ({NAME.password} or a URI), which would show in the process list "
          + "of every node; pass it through \"env\" instead")
    }
    let numbering: Numbering
    if executable.replicas == 1 {
      numbering = .single
    } else if (environment.map(\.value) + arguments).contains(where: \.usesReplica) {
      numbering = .podIndex
    } else {
      numbering = .identical
      notes.append(
        "\(executable.resource): \(executable.replicas) identical copies (a Deployment); they are not numbered, so "
          + "APPHOST_REPLICA is not set.")
    }
    var env: [YAML] = []
    switch numbering {
    case .single:
      if environment["APPHOST_REPLICA"] == nil { environment.append(EnvironmentVariable("APPHOST_REPLICA", "0")) }
    case .podIndex:
      // The pod's index label (Kubernetes 1.28 and later) numbers the StatefulSet's pods 0..N-1.
      if environment["APPHOST_REPLICA"] == nil {
        env.append(
          .map([
            ("name", .string("APPHOST_REPLICA")),
            (
              "valueFrom",
              .map([("fieldRef", .map([("fieldPath", .string("metadata.labels['apps.kubernetes.io/pod-index']"))]))])
            ),
          ]))
      }
    case .identical:
      break
    }
    env += environmentList(environment, replica: numbering)
    var containerSpec: [(String, YAML)] = [
      ("name", .string(executable.resource)), ("image", .string(program.image)),
      (
        "command",
        .list(([Value.text(program.spec.command)] + arguments).map { .string(render($0, replica: numbering)) })
      ),
    ]
    if !env.isEmpty { containerSpec.append(("env", .list(env))) }
    let ports = executable.endpoints.enumerated().map { index, endpoint -> YAML in
      .map([
        ("name", .string(Self.portName(endpoint.name, index: index))),
        ("containerPort", .integer(endpoint.containerPort)),
      ])
    }
    if !ports.isEmpty { containerSpec.append(("ports", .list(ports))) }
    if let probe = readinessProbe(executable) { containerSpec.append(("readinessProbe", probe)) }
    if case .log(let pattern) = executable.readiness {
      notes.append(
        "\(executable.resource): its readiness (a log line matching /\(pattern)/) has no probe here: it is ready "
          + "once started.")
    }
    containerSpec.append(("resources", resources(executable.resource, kind: nil)))
    // The program's image is the user's: whether it can run as non-root is not known here.
    containerSpec.append(("securityContext", containerSecurity(readOnlyRoot: false, nonRoot: false)))
    // A reference to a TLS cache: the project's CA (`NAME_TLS_CA_FILE`), from that cache's files Secret.
    var volumes: [YAML] = []
    if let cache = executable.references.first(where: { plan.endpoint($0)?.caFile != nil }) {
      let ca = caVolume(of: cache)
      containerSpec.append(("volumeMounts", .list([ca.mount])))
      volumes.append(ca.volume)
    }
    let labels = self.labels(executable.resource)
    let template = { (restart: String) -> YAML in
      var pod: [(String, YAML)] = [
        ("securityContext", podSecurity(user: nil)),
        ("automountServiceAccountToken", .boolean(false)),
        ("restartPolicy", .string(restart)),
        ("containers", .list([.map(containerSpec)])),
      ]
      if !volumes.isEmpty { pod.append(("volumes", .list(volumes))) }
      return .map([("metadata", .map([("labels", labels)])), ("spec", .map(pod))])
    }
    let servicePorts = executable.endpoints.enumerated().map { index, endpoint -> YAML in
      .map([
        ("name", .string(Self.portName(endpoint.name, index: index))), ("port", .integer(endpoint.containerPort)),
        ("targetPort", .integer(endpoint.containerPort)),
      ])
    }
    if executable.isTask {
      // Kubernetes has no start order: the Job retries (backoffLimit) until what it needs answers.
      notes.append(
        "\(executable.resource): a Job (Jobs cannot be changed once made: delete it before applying a changed "
          + "one); what waits for it under apphost starts at once in the cluster.")
      return [
        object(
          kind: "Job", apiVersion: "batch/v1", name: executable.resource, component: executable.resource,
          extra: [("spec", .map([("backoffLimit", .integer(6)), ("template", template("Never"))]))])
      ]
    }
    var objects: [YAML] = []
    if numbering == .podIndex {
      objects.append(
        object(
          kind: "StatefulSet", apiVersion: "apps/v1", name: executable.resource, component: executable.resource,
          extra: [
            (
              "spec",
              .map([
                ("serviceName", .string(headlessName(executable.resource))),
                ("replicas", .integer(executable.replicas)), ("podManagementPolicy", .string("Parallel")),
                ("selector", .map([("matchLabels", labels)])), ("template", template("Always")),
              ])
            )
          ]))
      objects.append(service(executable.resource, ports: servicePorts, headless: true))
    } else {
      objects.append(
        object(
          kind: "Deployment", apiVersion: "apps/v1", name: executable.resource, component: executable.resource,
          extra: [
            (
              "spec",
              .map([
                ("replicas", .integer(executable.replicas)), ("selector", .map([("matchLabels", labels)])),
                ("template", template("Always")),
              ])
            )
          ]))
    }
    // Others reach its endpoints at NAME:PORT, as on compose's network.
    if !servicePorts.isEmpty { objects.append(service(executable.resource, ports: servicePorts)) }
    return objects
  }

  // MARK: Pieces

  func labels(_ resource: String) -> YAML {
    .map([
      ("app.kubernetes.io/name", .string(resource)), ("app.kubernetes.io/part-of", .string(plan.project)),
    ])
  }

  func metadataLabels(_ component: String?) -> YAML {
    var labels = [YAMLEntry("app.kubernetes.io/managed-by", .string("apphost"))]
    if let component { labels.append(YAMLEntry("app.kubernetes.io/name", .string(component))) }
    labels.append(YAMLEntry("app.kubernetes.io/part-of", .string(plan.project)))
    return .map(labels)
  }

  func object(kind: String, apiVersion: String, name: String, component: String, extra: [(String, YAML)]) -> YAML {
    var metadata = [YAMLEntry("name", .string(name))]
    if let namespace = options.namespace { metadata.append(YAMLEntry("namespace", .string(namespace))) }
    metadata.append(YAMLEntry("labels", metadataLabels(component)))
    return .map(
      [("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("metadata", .map(metadata))] + extra)
  }

  func secretName(_ secret: PublishedSecrets.Secret) -> String {
    "\(plan.project)-\(secret.resource)-password"
  }

  func headlessName(_ resource: String) -> String { "\(resource)-headless" }

  /// The project's CA, mounted where the TLS clients read it (`NAME_TLS_CA_FILE`), from the files Secret of
  /// the TLS cache `cache`.
  func caVolume(of cache: String) -> (mount: YAML, volume: YAML) {
    let mount = YAML.map([
      ("name", .string("tls-ca")), ("mountPath", .string(ServerCommand.tlsCAFile)),
      ("subPath", .string("ca.crt")), ("readOnly", .boolean(true)),
    ])
    let volume = YAML.map([
      ("name", .string("tls-ca")),
      (
        "secret",
        .map([
          ("secretName", .string(filesSecretName(cache))),
          ("items", .list([.map([("key", .string("ca.crt")), ("path", .string("ca.crt"))])])),
        ])
      ),
    ])
    return (mount, volume)
  }

  func filesSecretName(_ resource: String) -> String { "\(plan.project)-\(resource)-files" }

  /// A file a container reads besides /data (configFile, a seed RDB): its key in the Secret, where it is
  /// mounted, and its bytes.
  struct FileMount {
    var key: String
    var target: String
    var contents: Data
  }

  /// Secrets hold at most 1 MiB.
  static let secretLimit = 1 << 20

  func fileMounts(_ container: ContainerPlan) throws(AppHostError) -> [FileMount] {
    var files: [FileMount] = []
    for mount in container.mounts where mount.target != "/data" {
      guard case .bind(let path) = mount.source else { continue }
      guard let contents = FileManager.default.contents(atPath: path) else {
        throw .cannotPublish(resource: container.resource, reason: "\(path) cannot be read")
      }
      guard contents.count <= Self.secretLimit else {
        throw .cannotPublish(
          resource: container.resource,
          reason: "\(path) is \(contents.count) bytes; a Kubernetes Secret holds at most 1 MiB")
      }
      files.append(
        FileMount(key: (mount.target as NSString).lastPathComponent, target: mount.target, contents: contents))
    }
    return files
  }

  /// One volume per cache, written by one pod at a time.
  var claimSpec: YAML {
    .map([
      ("accessModes", .list([.string("ReadWriteOnce")])),
      ("resources", .map([("requests", .map([("storage", .string(Self.storage))]))])),
    ])
  }

  /// The client Service `NAME` (what others connect to), or the headless `NAME-headless` a StatefulSet
  /// names: every pod's own address, ready or not (a StatefulSet's pods find each other through it).
  func service(_ name: String, port: Int?, headless: Bool = false) -> YAML {
    let ports: [YAML] =
      port.map { [.map([("name", .string("main")), ("port", .integer($0)), ("targetPort", .integer($0))])] } ?? []
    return service(name, ports: ports, headless: headless)
  }

  func service(_ name: String, ports: [YAML], headless: Bool = false, notReadyToo: Bool = false) -> YAML {
    var spec: [(String, YAML)] = []
    if headless { spec.append(("clusterIP", .string("None"))) }
    if headless || notReadyToo { spec.append(("publishNotReadyAddresses", .boolean(true))) }
    spec.append(("selector", labels(name)))
    if !ports.isEmpty { spec.append(("ports", .list(ports))) }
    return object(
      kind: "Service", apiVersion: "v1", name: headless ? headlessName(name) : name, component: name,
      extra: [("spec", .map(spec))])
  }

  /// Environment entries, each name once: a value that is one secret comes from its Secret; a value with
  /// a secret inside refers to it as `$(VARIABLE)`, defined earlier from the Secret — by an entry of the
  /// list itself when one is that secret, else by one of a name the list does not use.
  func environmentList(_ variables: [EnvironmentVariable], replica: Numbering) -> [YAML] {
    let names = Set(variables.map(\.name))
    var direct: [YAML] = []
    var definitions: [YAML] = []
    var defined: [String: String] = [:]  // secret variable -> the entry that holds it
    for variable in variables {
      guard variable.value.parts.count == 1, case .secret(let value) = variable.value.parts[0],
        let secret = secrets.variable(for: value)
      else { continue }
      direct.append(.map([("name", .string(variable.name)), ("valueFrom", secretReference(secret))]))
      if defined[secret.variable] == nil { defined[secret.variable] = variable.name }
    }
    var entries: [YAML] = []
    for variable in variables {
      if variable.value.parts.count == 1, case .secret(let value) = variable.value.parts[0],
        secrets.variable(for: value) != nil
      {
        continue
      }
      for case .secret(let value) in variable.value.parts {
        guard let secret = secrets.variable(for: value), defined[secret.variable] == nil else { continue }
        var name = secret.variable
        while names.contains(name) { name += "_" }
        defined[secret.variable] = name
        definitions.append(.map([("name", .string(name)), ("valueFrom", secretReference(secret))]))
      }
      entries.append(
        .map([
          ("name", .string(variable.name)),
          ("value", .string(render(variable.value, replica: replica, defined: defined))),
        ]))
    }
    return direct + definitions + entries
  }

  func secretReference(_ secret: PublishedSecrets.Secret) -> YAML {
    .map([("secretKeyRef", .map([("name", .string(secretName(secret))), ("key", .string(secret.key))]))])
  }

  /// A value for an env entry or an argument: `$(` escaped, secrets as `$(VARIABLE)`, `{replica}` as the
  /// pod's index.
  func render(_ value: Value, replica: Numbering, defined: [String: String] = [:]) -> String {
    var text = ""
    for part in value.parts {
      switch part {
      case .text(let literal): text += literal.replacing("$(", with: "$$(")
      case .secret(let secret):
        text +=
          secrets.variable(for: secret).map { "$(\(defined[$0.variable] ?? $0.variable))" } ?? Value.mask
      case .hostPort(let key): text += String(plan.programContainerPorts[key] ?? Planner.cachePort)
      case .replica: text += replica == .podIndex ? "$(APPHOST_REPLICA)" : "0"
      }
    }
    return text
  }

  func documents(_ objects: [YAML], comment: [String] = []) -> String {
    let header =
      ["Written by `apphost publish kubernetes` from \(plan.manifestPath); apply the folder with `kubectl apply -k .`"]
      + comment
    return objects.enumerated().map { index, object in
      object.document(comment: index == 0 ? header : [])
    }.joined(separator: "---\n")
  }
}

extension ContainerPlan {
  /// The volume or bind mount at /data (a claim in the cluster).
  var dataMount: Mount? { mounts.first { $0.target == "/data" } }
}
