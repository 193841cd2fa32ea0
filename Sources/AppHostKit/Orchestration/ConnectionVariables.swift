/// `apphost env` and `apphost run`: connection variables with real values, for running caches.
package enum ConnectionVariables {
  /// The variables of `name` (an executable: its environment; a cache or connection string: what a
  /// reference to it gives) or, for nil, of every cache. `ports` are the host ports of running caches.
  package static func resolve(name: String?, plan: Plan, ports: [String: Int]) throws(AppHostError)
    -> [(name: String, value: String)]
  {
    let variables: [EnvironmentVariable]
    if let name {
      if let executable = plan.executable(name) {
        variables = executable.environment
      } else if let endpoint = plan.endpoint(name) {
        variables = ConnectionEnvironment.variables(for: [endpoint])
      } else {
        let choices = plan.executables.map(\.resource) + plan.endpoints.map(\.resource)
        throw .unknownResource(name: name, known: choices)
      }
    } else {
      variables = ConnectionEnvironment.variables(for: plan.endpoints.filter(\.isManaged))
    }
    return try reveal(variables, ports: ports)
  }

  /// The variables for `references` (all caches when empty), as `apphost run` injects them.
  package static func forReferences(_ references: [String], plan: Plan, ports: [String: Int]) throws(AppHostError)
    -> [(name: String, value: String)]
  {
    var endpoints: [Endpoint] = []
    for reference in references {
      guard let endpoint = plan.endpoint(reference) else {
        throw .unknownResource(name: reference, known: plan.endpoints.map(\.resource))
      }
      endpoints.append(endpoint)
    }
    if references.isEmpty { endpoints = plan.endpoints.filter(\.isManaged) }
    return try reveal(ConnectionEnvironment.variables(for: endpoints), ports: ports)
  }

  package static func reveal(_ variables: [EnvironmentVariable], ports: [String: Int], replica: Int = 0)
    throws(AppHostError) -> [(name: String, value: String)]
  {
    let missing = Set(variables.flatMap(\.value.portsNeeded)).filter { ports[$0] == nil }.sorted()
    if !missing.isEmpty { throw .notRunning(resources: missing) }
    return variables.map { ($0.name, $0.value.revealed(ports: ports, replica: replica) ?? "") }
  }
}
