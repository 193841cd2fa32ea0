import Foundation

/// One copy of an executable, ready to start: every value resolved (ports known, replica numbered).
package struct ProcessSpec: Sendable, Equatable {
  package var resource: String
  package var replica: Int
  /// `api`, or `web-0`, `web-1`, ... with replicas: the output prefix and the log file's name.
  package var displayName: String
  package var program: String
  package var arguments: [String]
  package var workingDirectory: String
  /// Set on top of the inherited environment.
  package var environment: [String: String]
  package var restart: RestartPolicy
  /// The stage it starts in (after what it waits for).
  package var stage: Int
  /// The project's folder (marks its processes as the project's).
  package var projectDirectory: String = ""
  /// The programs (resource names) it starts after: each must be ready first (a task: exited with 0).
  package var waitFor: [String] = []
  package var isTask: Bool = false
  package var readiness: ProgramReadiness = .started
  package var readinessTimeout: Duration = .seconds(ReadinessSpec.defaultTimeoutSeconds)
  /// Its endpoints' ports (this replica's own), by endpoint name, in manifest order.
  package var ports: [(name: String, port: Int)] = []
  /// With replicas: the port apphost serves for each endpoint, spreading connections over the replicas.
  package var sharedPorts: [String: Int] = [:]

  package static func == (lhs: ProcessSpec, rhs: ProcessSpec) -> Bool {
    lhs.resource == rhs.resource && lhs.replica == rhs.replica && lhs.displayName == rhs.displayName
      && lhs.program == rhs.program && lhs.arguments == rhs.arguments && lhs.workingDirectory == rhs.workingDirectory
      && lhs.environment == rhs.environment && lhs.restart == rhs.restart && lhs.stage == rhs.stage
      && lhs.projectDirectory == rhs.projectDirectory && lhs.waitFor == rhs.waitFor && lhs.isTask == rhs.isTask
      && lhs.readiness == rhs.readiness && lhs.readinessTimeout == rhs.readinessTimeout
      && lhs.ports.map(\.name) == rhs.ports.map(\.name) && lhs.ports.map(\.port) == rhs.ports.map(\.port)
      && lhs.sharedPorts == rhs.sharedPorts
  }

  /// The port of an endpoint of this copy.
  package func port(of endpoint: String) -> Int? {
    ports.first { $0.name == endpoint }?.port
  }

  /// The processes of the selected executables, with the host ports of the running containers.
  package static func specs(plan: Plan, ports: [String: Int], selection: Set<String>) throws(AppHostError)
    -> [ProcessSpec]
  {
    var specs: [ProcessSpec] = []
    for (stage, names) in plan.stages.enumerated() {
      for name in names where selection.contains(name) {
        guard let executable = plan.executable(name) else { continue }
        guard let program = executable.resolvedCommand else {
          throw .commandNotFound(resource: name, command: executable.command)
        }
        for replica in 0..<executable.replicas {
          let environment = try ConnectionVariables.reveal(executable.environment, ports: ports, replica: replica)
          var arguments: [String] = []
          for argument in executable.arguments {
            guard let value = argument.revealed(ports: ports, replica: replica) else {
              throw .notRunning(resources: argument.portsNeeded.filter { ports[$0] == nil })
            }
            arguments.append(value)
          }
          var values = Dictionary(environment.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
          values["APPHOST_REPLICA"] = values["APPHOST_REPLICA"] ?? String(replica)
          var own: [(name: String, port: Int)] = []
          var sharedPorts: [String: Int] = [:]
          for endpoint in executable.endpoints {
            guard let port = ports[endpoint.replicaKey(replica)] ?? ports[endpoint.key] else {
              throw .notRunning(resources: [endpoint.key])
            }
            own.append((endpoint.name, port))
            if executable.replicas > 1, let shared = ports[endpoint.key], shared != port {
              sharedPorts[endpoint.name] = shared
            }
            // Each copy listens on its own port, unless the manifest's env says otherwise.
            if let variable = endpoint.variable, executable.environment[variable] == endpoint.port {
              values[variable] = String(port)
            }
          }
          var spec = ProcessSpec(
            resource: name, replica: replica, displayName: executable.displayName(replica: replica),
            program: program, arguments: arguments, workingDirectory: executable.workingDirectory,
            environment: values, restart: executable.restart, stage: stage,
            projectDirectory: plan.projectDirectory)
          spec.waitFor = executable.waitFor.filter { plan.executable($0) != nil && selection.contains($0) }
          spec.isTask = executable.isTask
          spec.readiness = executable.readiness
          spec.readinessTimeout = executable.readinessTimeout
          spec.ports = own
          spec.sharedPorts = sharedPorts
          specs.append(spec)
        }
      }
    }
    return specs
  }

  /// A fingerprint of everything that shapes the processes: a detached `up` run again restarts them
  /// only when it changes.
  package static func fingerprint(_ specs: [ProcessSpec]) -> String {
    var hasher = ConfigHasher()
    for spec in specs {
      hasher.combine([spec.displayName, spec.program, spec.workingDirectory, spec.restart.rawValue])
      hasher.combine(spec.waitFor + ["\(spec.isTask)", spec.readiness.summary, "\(spec.readinessTimeout)"])
      hasher.combine(spec.ports.map { "\($0.name)=\($0.port)" })
      hasher.combine(spec.sharedPorts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
      hasher.combine(spec.arguments)
      hasher.combine(spec.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }
    return hasher.hex
  }
}
