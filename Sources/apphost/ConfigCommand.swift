import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "config",
      abstract: "Check the manifest and print what apphost would do, without running anything.",
      discussion: """
        Prints, for each resource, the exact engine command that creates it and the environment each \
        executable gets, with secrets masked. Ports the engine assigns at start are shown as {NAME.port}. \
        Exits 65 with every problem found when the manifest is invalid.
        """)

    @OptionGroup var options: ManifestOptions

    @Flag(help: "Print the plan as JSON (argv for docker and podman, environments, start stages).")
    var json = false

    func run() async throws {
      let console = Console()
      let environment = ProcessInfo.processInfo.environment
      let (plan, engine) = try reportingFailures(console) { () throws(AppHostError) in
        let project = try Project.load(file: options.file)
        let engine = try EngineSelection.preferred(
          flag: options.engine, environment: environment, manifest: project.loaded.manifest.engine)
        console.warnings(project.loaded)
        // Podman's rootlessness is known without asking it; docker is taken as rootful here.
        let rootless = engine == .podman && geteuid() != 0
        return (
          try project.plan(environment: environment, rootlessEngine: rootless, nativeEngine: engine == .native), engine
        )
      }
      if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(PlanDocument(plan: plan, engine: engine, owner: .placeholder))
        console.output(String(decoding: data, as: UTF8.self))
      } else {
        console.output(PlanText.render(plan, engine: engine))
      }
    }
  }
}

/// `apphost config` for people: one block per resource, commands ready to paste.
enum PlanText {
  static func render(_ plan: Plan, engine: EngineFlavor) -> String {
    var lines: [String] = []
    func field(_ name: String, _ value: String) {
      lines.append("  " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + value)
    }
    func environment(_ variables: [EnvironmentVariable]) {
      for (index, variable) in variables.enumerated() {
        field(index == 0 ? "env" : "", "\(variable.name)=\(variable.value.masked())")
      }
    }
    lines.append("project    \(plan.project)")
    lines.append("manifest   \(plan.manifestPath)")
    lines.append("engine     \(engine.rawValue)")
    lines.append("")
    if let network = plan.network {
      lines.append("network \(network.name)")
      field("create", shellCommandLine([engine.rawValue] + network.createArguments()))
    }
    for volume in plan.volumes {
      lines.append("volume \(volume.name)")
      field("create", shellCommandLine([engine.rawValue] + volume.createArguments()) + "   (if missing)")
    }
    for name in plan.resourceNames {
      lines.append("")
      if let container = plan.container(name) {
        lines.append("\(name) (\(container.kind.rawValue), \(container.lifetime.rawValue))")
        field("container", container.containerName)
        field("image", container.image)
        let port = container.hostPort.map(String.init) ?? "{\(name).port}, assigned by the engine"
        if container.kind.isCache {
          field("endpoint", "\(Planner.host):\(port)")
        } else {
          field("url", "http://\(Planner.host):\(port)")
          field("caches", container.caches.isEmpty ? "(none)" : container.caches.joined(separator: ", "))
        }
        switch container.health {
        case .resp(let password, let tls):
          field(
            "ready",
            (password == nil ? "when PING answers PONG" : "when AUTH + PING answers PONG")
              + (tls == nil ? "" : " over TLS (checked against \(tls?.caFile ?? "the CA"))"))
        case .http(let path): field("ready", "when GET \(path) answers 200")
        case .replica(let password, let tls):
          field(
            "ready",
            (password == nil ? "when PING answers PONG" : "when AUTH + PING answers PONG")
              + (tls == nil ? "" : " over TLS") + " and INFO replication says master_link_status:up")
        case .clusterNode(let password, let tls):
          field(
            "ready",
            (password == nil ? "when PING answers PONG" : "when AUTH + PING answers PONG")
              + (tls == nil ? "" : " over TLS") + ", and once apphost has formed the cluster, CLUSTER INFO says "
              + "cluster_state:ok")
        case .sentinel(let password, _, let master, let replicas, let sentinels):
          field(
            "ready",
            (password == nil ? "when" : "when, after AUTH,") + " SENTINEL MASTER \(master) says it sees the primary, "
              + "\(replicas) replica\(replicas == 1 ? "" : "s") and \(sentinels - 1) other sentinels")
        }
        if let cluster = container.clusterOf.flatMap(plan.cluster) {
          let index = cluster.nodes.firstIndex(of: name) ?? 0
          field(
            "node",
            "\(index + 1) of \(cluster.nodes.count) of the cluster \(cluster.resource): "
              + (cluster.primaryIndex(ofNode: index).map { "replica of \(cluster.nodes[$0])'s shard" }
                ?? "primary of slots \(cluster.slotRange(shard: index).lowerBound)-\(cluster.slotRange(shard: index).upperBound)")
          )
        }
        if let primary = container.replicaOf { field("replica of", primary) }
        if engine == .native, let server = container.server {
          field("run", NativeLaunch.described(server, resource: name))
        } else {
          field(
            "run", shellCommandLine([engine.rawValue] + container.runArguments(flavor: engine, owner: .placeholder)))
        }
        environment(container.environment)
      } else if let executable = plan.executable(name) {
        lines.append("\(name) (executable\(executable.replicas > 1 ? ", \(executable.replicas) replicas" : ""))")
        let program = executable.resolvedCommand ?? "\(executable.command) (not found on PATH)"
        field("command", shellCommandLine([program] + executable.arguments.map { $0.masked() }))
        field("folder", executable.workingDirectory)
        if !executable.waitFor.isEmpty { field("waits for", executable.waitFor.joined(separator: ", ")) }
        field("restart", executable.restart.rawValue)
        environment(executable.environment)
      }
    }
    for skipped in plan.skipped {
      lines.append("")
      lines.append("\(skipped.name) skipped (needs docker or podman)")
    }
    for endpoint in plan.endpoints where !endpoint.isManaged {
      lines.append("")
      lines.append("\(endpoint.resource) (connectionString)")
      field("value", endpoint.connectionString.masked())
    }
    lines.append("")
    let stages = plan.stages.enumerated().map { "\($0.offset + 1). \($0.element.joined(separator: ", "))" }
    lines.append("start order  " + stages.joined(separator: "  then  "))
    return lines.joined(separator: "\n")
  }
}
