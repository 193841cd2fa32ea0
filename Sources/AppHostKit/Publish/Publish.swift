import Foundation

/// What `apphost publish` writes: files (name relative to the output folder, text, whether it holds
/// secrets) for docker compose or Kubernetes, made from the same plan `apphost up` runs.
package struct PublishedFile: Sendable, Equatable {
  package var name: String
  package var text: String
  /// Written with mode 0600 and listed in the output's .gitignore.
  package var secret: Bool

  package init(name: String, text: String, secret: Bool = false) {
    self.name = name
    self.text = text
    self.secret = secret
  }
}

package enum PublishTarget: String, Sendable, CaseIterable {
  case compose, kubernetes
}

/// The secrets of a plan, each given a variable name: the caches' passwords (`CACHE_PASSWORD`, or the
/// user's own variable for `{"env": "VAR"}`), and passwords inside connection strings. A password that
/// URIs carry percent-encoded (`p@ss` as `p%40ss`) has that form as a second secret,
/// `CACHE_PASSWORD_URLENCODED`: neither compose nor Kubernetes can encode a value they substitute.
package struct PublishedSecrets: Sendable {
  package struct Secret: Sendable, Equatable {
    package var variable: String
    package var resource: String
    package var value: String
    /// True when the manifest reads it from the environment: compose then reads the same variable.
    package var fromEnvironment: Bool
    /// The variable this one is the percent-encoded form of.
    package var encodes: String?

    /// The key in the resource's Kubernetes Secret: `password`, or `password-urlencoded`.
    package var key: String { encodes == nil ? "password" : "password-urlencoded" }
  }

  package var all: [Secret] = []

  package init(plan: Plan, manifest: Manifest) {
    for endpoint in plan.endpoints {
      guard let value = endpoint.password?.revealed() else { continue }
      var variable = "\(ConnectionEnvironment.environmentName(endpoint.resource))_PASSWORD"
      var fromEnvironment = false
      if case .given(.environment(let name)) = manifest[endpoint.resource]?.cache?.password {
        variable = name
        fromEnvironment = true
      }
      guard !all.contains(where: { $0.value == value }) else { continue }
      all.append(
        Secret(variable: variable, resource: endpoint.resource, value: value, fromEnvironment: fromEnvironment))
      let encoded = percentEncodedUserInfo(value)
      if encoded != value, !all.contains(where: { $0.value == encoded }) {
        all.append(
          Secret(
            variable: variable + "_URLENCODED", resource: endpoint.resource, value: encoded,
            fromEnvironment: fromEnvironment, encodes: variable))
      }
    }
  }

  package func variable(for value: String) -> Secret? {
    all.first { $0.value == value }
  }
}

extension Plan {
  /// How the caches are reached from inside the project's network (compose, Kubernetes): at their
  /// name, port 6379. Connection strings stay as they are.
  package var networkEndpoints: [Endpoint] {
    endpoints.map { endpoint in
      guard endpoint.isManaged else { return endpoint }
      var inside = endpoint
      // Cluster nodes listen on a port of their own; every other cache on 6379.
      let port = container(endpoint.resource)?.containerPort ?? Planner.cachePort
      inside.host = endpoint.resource
      inside.port = .text(String(port))
      inside.replicaNodes = containers.filter { $0.replicaOf == endpoint.resource }.map {
        .text("\($0.resource):\(Planner.cachePort)")
      }
      inside.clusterNodes = (cluster(endpoint.resource)?.nodes.dropFirst() ?? []).compactMap(container).map {
        .text("\($0.resource):\($0.containerPort)")
      }
      inside.sentinelNodes = containers.filter { $0.sentinelOf == endpoint.resource }.map {
        .text("\($0.resource):\($0.containerPort)")
      }
      inside.connectionString = inside.nodesConnectionString(primary: .text("\(endpoint.resource):\(port)"))
      // Programs in containers find the project's CA where the published outputs mount it.
      if endpoint.caFile != nil { inside.caFile = ServerCommand.tlsCAFile }
      return inside
    }
  }
}

/// What a publish run is told besides the plan: the Kubernetes namespace, the ports apphost remembered for
/// resources without a fixed one, and the images `APPHOST_IMAGE_REGISTRY` replaced.
package struct PublishOptions: Sendable, Equatable {
  /// `--namespace`: every object's namespace, a Namespace object and kustomize's `namespace`.
  package var namespace: String?
  /// Ports apphost (or the engine) picked and remembered, by key: `cache`, `api.http`, `api.http/1`.
  package var rememberedPorts: [String: Int]
  /// `APPHOST_IMAGE_REGISTRY` when it was set.
  package var imageRegistry: String?
  /// The image each resource would have without `APPHOST_IMAGE_REGISTRY`, when it differs.
  package var originalImages: [String: String]

  package init(
    namespace: String? = nil, rememberedPorts: [String: Int] = [:], imageRegistry: String? = nil,
    originalImages: [String: String] = [:]
  ) {
    self.namespace = namespace
    self.rememberedPorts = rememberedPorts
    self.imageRegistry = imageRegistry
    self.originalImages = originalImages
  }
}

package enum Publisher {
  /// Plans `project` as `up` would and writes the target's files: the image registry override is found
  /// by planning a second time without it, so the header can name the images it replaced.
  package static func files(
    _ target: PublishTarget, project: Project, environment: [String: String], outputDirectory: String,
    namespace: String? = nil
  ) throws(AppHostError) -> [PublishedFile] {
    let plan = try project.plan(environment: environment, publishing: true)
    var options = PublishOptions(namespace: namespace, rememberedPorts: PortMemory(state: project.state).load())
    if let registry = environment[PlanContext.imageRegistryVariable], !registry.isEmpty {
      options.imageRegistry = registry
      var usual = environment
      usual[PlanContext.imageRegistryVariable] = nil
      let original = try project.plan(environment: usual, publishing: true)
      for container in plan.containers {
        if let before = original.container(container.resource)?.image, before != container.image {
          options.originalImages[container.resource] = before
        }
      }
    }
    return try files(
      target, plan: plan, manifest: project.loaded.manifest, outputDirectory: outputDirectory, options: options)
  }

  package static func files(
    _ target: PublishTarget, plan: Plan, manifest: Manifest, outputDirectory: String,
    options: PublishOptions = PublishOptions()
  ) throws(AppHostError) -> [PublishedFile] {
    let secrets = PublishedSecrets(plan: plan, manifest: manifest)
    var programs: [PublishedProgram] = []
    for executable in plan.executables {
      if let program = try plan.published(executable, manifest: manifest) { programs.append(program) }
    }
    var files: [PublishedFile]
    switch target {
    case .compose:
      files = try ComposeWriter(
        plan: plan, manifest: manifest, secrets: secrets, outputDirectory: outputDirectory, options: options,
        programs: programs
      ).files()
    case .kubernetes:
      files = try KubernetesWriter(
        plan: plan, manifest: manifest, secrets: secrets, options: options, programs: programs
      ).files()
    }
    let ignored = files.filter(\.secret).map(\.name)
    if !ignored.isEmpty {
      files.append(
        PublishedFile(
          name: ".gitignore",
          text: "# Written by apphost publish: these files hold passwords.\n" + ignored.joined(separator: "\n") + "\n"))
    }
    return files
  }

  /// Header lines every output carries: the images `APPHOST_IMAGE_REGISTRY` replaced, and the programs
  /// that could not be carried (no image).
  static func notes(plan: Plan, options: PublishOptions, target: PublishTarget) -> [String] {
    var lines: [String] = []
    if let registry = options.imageRegistry, !options.originalImages.isEmpty {
      lines.append(
        "Images: APPHOST_IMAGE_REGISTRY=\(registry) replaced the registry of these images; unset it and publish "
          + "again for the usual ones:")
      for container in plan.containers {
        guard let original = options.originalImages[container.resource] else { continue }
        lines.append("  \(container.resource): \(container.image) (instead of \(original))")
      }
    }
    for container in plan.containers {
      if case .commands(let source, _, _) = container.seed {
        lines.append(
          "\(container.resource): its seed \(source) (commands apphost sends once it starts) is not carried: send "
            + "them yourself once it runs (redis-cli reads them from its standard input).")
      }
    }
    let missing = plan.executables.filter { $0.image == nil }
    if !missing.isEmpty {
      let made = target == .compose ? "a service" : "a Deployment"
      lines.append("Not carried (programs without an \"image\", which apphost runs as processes of this machine):")
      for executable in missing {
        let command = shellCommandLine([executable.command] + executable.arguments.map { $0.masked() })
        lines.append(
          "  \(executable.resource) (\(command)): give it an \"image\" in apphost.json to make it \(made), or "
            + "run it beside these with the variables of `apphost env \(executable.resource)`.")
      }
    }
    return lines
  }

  /// Writes the files into `directory` (created if needed), secret ones with mode 0600, and removes the
  /// files an earlier publish wrote there that this one does not (a resource taken out of the manifest
  /// must not be applied again, nor its passwords stay behind). Only files that begin with publish's own
  /// header are removed. Returns their names.
  @discardableResult
  package static func write(_ files: [PublishedFile], to directory: String) throws(AppHostError) -> [String] {
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw .stateUnwritable(path: directory, reason: "the folder cannot be created")
    }
    for file in files {
      let path = (directory as NSString).appendingPathComponent(file.name)
      if file.name.contains("/") {
        // tls/: the certificates a compose output mounts.
        let folder = (path as NSString).deletingLastPathComponent
        guard (try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)) != nil
        else { throw .stateUnwritable(path: folder, reason: "the folder cannot be created") }
      }
      try writeFileAtomically(path, contents: Array(file.text.utf8), mode: file.secret ? 0o600 : 0o644)
    }
    let names = Set(files.map(\.name))
    var removed: [String] = []
    let present = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    for name in present.sorted() where !names.contains(name) {
      let path = (directory as NSString).appendingPathComponent(name)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        continue
      }
      guard let handle = FileHandle(forReadingAtPath: path) else { continue }
      let start = String(decoding: handle.readData(ofLength: 64), as: UTF8.self)
      try? handle.close()
      guard start.hasPrefix("# Written by `apphost publish") || start.hasPrefix("# Written by apphost publish")
      else { continue }
      if Log.attempt("remove \(path)", { try FileManager.default.removeItem(atPath: path) }) != nil {
        removed.append(name)
      }
    }
    // The certificates of an earlier publish with TLS caches: no longer mounted, and one is a key.
    for name in ProjectCertificates.publishedFiles.map({ "tls/" + $0 }) where !names.contains(name) {
      let path = (directory as NSString).appendingPathComponent(name)
      guard FileManager.default.fileExists(atPath: path) else { continue }
      if Log.attempt("remove \(path)", { try FileManager.default.removeItem(atPath: path) }) != nil {
        removed.append(name)
      }
    }
    return removed
  }
}

extension Value {
  /// True when the value differs between replicas (`{replica}`).
  var usesReplica: Bool { parts.contains { $0 == .replica } }
}

/// A path as seen from `base`: relative when both share a parent folder, else absolute.
package func relativePath(_ path: String, from base: String) -> String {
  let target = path.split(separator: "/")
  let origin = base.split(separator: "/")
  var common = 0
  while common < min(target.count, origin.count) && target[common] == origin[common] { common += 1 }
  if common == 0 { return path }
  let up = Array(repeating: "..", count: origin.count - common)
  let rest = target[common...].map(String.init)
  let parts = up + rest
  return parts.isEmpty ? "." : (parts.first == ".." ? "" : "./") + parts.joined(separator: "/")
}

extension ClusterPlan {
  /// What forms a published cluster `cache` once its nodes run: compose's one-shot service, Kubernetes' Job.
  static func formingService(of cache: String) -> String { "\(cache)-cluster" }

  var formingService: String { Self.formingService(of: resource) }
}
