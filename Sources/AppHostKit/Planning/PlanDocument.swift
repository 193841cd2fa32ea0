/// The plan as `apphost config --json` prints it: plain strings, secrets masked, every argv complete
/// for both engines.
package struct PlanDocument: Encodable, Sendable {
  package struct Command: Encodable, Sendable {
    package var docker: [String]
    package var podman: [String]
  }

  package struct Network: Encodable, Sendable {
    package var name: String
    package var argv: Command
  }

  package struct Volume: Encodable, Sendable {
    package var name: String
    package var resource: String
    package var argv: Command
  }

  package struct Health: Encodable, Sendable {
    /// `resp` (PING, after AUTH when `auth`) or `http` (GET `path`).
    package var kind: String
    package var auth: Bool?
    package var path: String?
  }

  package struct Resource: Encodable, Sendable {
    package var name: String
    package var type: String
    // Containers
    package var container: String?
    package var image: String?
    package var lifetime: String?
    package var hostPort: Int?
    package var containerPort: Int?
    package var endpoint: String?
    package var url: String?
    package var caches: [String]?
    package var health: Health?
    package var configHash: String?
    package var argv: Command?
    // Executables
    package var command: String?
    package var resolvedCommand: String?
    package var args: [String]?
    package var workingDirectory: String?
    package var replicas: Int?
    package var restart: String?
    package var references: [String]?
    package var waitFor: [String]?
    /// Endpoint name -> its port (`{api.http.port}` until apphost picks it), and the variable telling it.
    package var endpoints: [String: ProgramEndpointDocument]?
    package var readiness: String?
    // Containers and executables: the variables set, values masked.
    package var environment: [String: String]?
    // Connection strings
    package var connectionString: String?
  }

  package var project: String
  package var manifest: String
  package var projectDirectory: String
  package var engine: String
  package var network: Network?
  package var volumes: [Volume]
  package var resources: [Resource]
  /// Resources grouped by start stage.
  package var stages: [[String]]

  package init(plan: Plan, engine: EngineFlavor, owner: Owner) {
    func both(_ arguments: [String]) -> Command {
      Command(docker: ["docker"] + arguments, podman: ["podman"] + arguments)
    }
    project = plan.project
    manifest = plan.manifestPath
    projectDirectory = plan.projectDirectory
    self.engine = engine.rawValue
    network = plan.network.map { Network(name: $0.name, argv: both($0.createArguments())) }
    volumes = plan.volumes.map { Volume(name: $0.name, resource: $0.resource, argv: both($0.createArguments())) }
    var resources: [Resource] = []
    for name in plan.stages.flatMap({ $0 }) + plan.endpoints.filter({ !$0.isManaged }).map(\.resource) {
      if let container = plan.container(name) {
        var resource = Resource(name: name, type: container.kind.rawValue)
        resource.container = container.containerName
        resource.image = container.image
        resource.lifetime = container.lifetime.rawValue
        resource.hostPort = container.hostPort
        resource.containerPort = container.containerPort
        if container.kind.isCache {
          resource.endpoint = "\(Planner.host):\(container.hostPort.map(String.init) ?? "{\(name).port}")"
        } else {
          resource.url = container.url(hostPort: nil) ?? "http://\(Planner.host):{\(name).port}"
          resource.caches = container.caches
        }
        switch container.health {
        case .resp(let password, _): resource.health = Health(kind: "resp", auth: password != nil)
        case .http(let path): resource.health = Health(kind: "http", path: path)
        case .replica(let password, _): resource.health = Health(kind: "replica", auth: password != nil)
        case .clusterNode(let password, _): resource.health = Health(kind: "cluster", auth: password != nil)
        case .sentinel(let password, _, _, _, _): resource.health = Health(kind: "sentinel", auth: password != nil)
        }
        resource.configHash = container.configHash
        resource.argv = Command(
          docker: ["docker"] + container.runArguments(flavor: .docker, owner: owner),
          podman: ["podman"] + container.runArguments(flavor: .podman, owner: owner))
        resource.environment = Self.masked(container.environment)
        resources.append(resource)
      } else if let executable = plan.executable(name) {
        var resource = Resource(
          name: name, type: (executable.isTask ? ResourceType.task : ResourceType.executable).rawValue)
        if !executable.endpoints.isEmpty {
          resource.endpoints = Dictionary(
            executable.endpoints.map { endpoint in
              (
                endpoint.name,
                ProgramEndpointDocument(port: endpoint.fixedPort, env: endpoint.variable, url: endpoint.url.masked())
              )
            }, uniquingKeysWith: { first, _ in first })
        }
        if !executable.isTask { resource.readiness = executable.readiness.summary }
        resource.command = executable.command
        resource.resolvedCommand = executable.resolvedCommand
        resource.args = executable.arguments.map { $0.masked() }
        resource.workingDirectory = executable.workingDirectory
        resource.replicas = executable.replicas
        resource.restart = executable.restart.rawValue
        resource.references = executable.references
        resource.waitFor = executable.waitFor
        resource.environment = Self.masked(executable.environment)
        resources.append(resource)
      } else if let endpoint = plan.endpoint(name) {
        var resource = Resource(name: name, type: ResourceType.connectionString.rawValue)
        resource.connectionString = endpoint.connectionString.masked()
        resource.endpoint = "\(endpoint.host):\(endpoint.port.masked())"
        resources.append(resource)
      }
    }
    self.resources = resources
    stages = plan.stages
  }

  private static func masked(_ variables: [EnvironmentVariable]) -> [String: String] {
    Dictionary(variables.map { ($0.name, $0.value.masked()) }, uniquingKeysWith: { _, last in last })
  }
}

package struct ProgramEndpointDocument: Encodable, Sendable {
  /// The fixed port; nil: apphost picks one (and keeps it).
  package var port: Int?
  package var env: String?
  package var url: String
}
