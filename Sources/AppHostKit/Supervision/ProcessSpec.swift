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
          specs.append(
            ProcessSpec(
              resource: name, replica: replica, displayName: executable.displayName(replica: replica),
              program: program, arguments: arguments, workingDirectory: executable.workingDirectory,
              environment: values, restart: executable.restart, stage: stage,
              projectDirectory: plan.projectDirectory))
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
      hasher.combine(spec.arguments)
      hasher.combine(spec.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }
    return hasher.hex
  }
}
