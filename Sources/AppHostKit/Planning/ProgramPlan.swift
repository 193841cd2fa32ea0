/// A port a program listens on, as planned. Its port is a `Value` with the part `.hostPort(resource: key)`,
/// known once apphost has picked it (`ProgramPorts`): `ports[key]` is the endpoint's address, and
/// `ports[replicaKey(r)]` the port of replica `r` (the same one without replicas).
///
/// For `apphost publish`: `name` is the port's name, `fixedPort` the port to publish (nil: any), and
/// `containerPort` what the program listens on inside a container (its `variable` tells it).
package struct ProgramEndpoint: Sendable, Equatable {
  package var resource: String
  package var name: String
  /// The `port` of the manifest; nil: apphost picks one and remembers it.
  package var fixedPort: Int?
  /// The variable that tells the program its port (`PORT` for the first endpoint by default).
  package var variable: String?
  package var scheme: String = "http"

  /// The key of its port in the port table: `api.http`.
  package var key: String { "\(resource).\(name)" }
  package func replicaKey(_ replica: Int) -> String { "\(key)/\(replica)" }

  package var host: String { Planner.host }
  package var port: Value { Value([.hostPort(resource: key)]) }
  package var url: Value { .text("\(scheme)://\(Planner.host):") + port }
  /// A container's port when published: the fixed port, else a conventional one.
  package var containerPort: Int { fixedPort ?? 8080 }
}

/// What a program's `watch` watches: absolute paths, and globs relative to the project folder to ignore.
package struct ProgramWatch: Sendable, Equatable {
  package var paths: [String]
  package var ignore: [String]
}

/// How apphost knows a program is ready (a task: when it exited with 0).
package enum ProgramReadiness: Sendable, Equatable {
  /// Ready once started.
  case started
  /// `GET path` on the endpoint answers 2xx or 3xx.
  case http(path: String, endpoint: String)
  case tcp(endpoint: String)
  case log(pattern: String)
  case command([String])

  /// As `config` and messages say it.
  package var summary: String {
    switch self {
    case .started: "once started"
    case .http(let path, let endpoint): "GET \(path) on \(endpoint)"
    case .tcp(let endpoint): "tcp on \(endpoint)"
    case .log(let pattern): "a log line matching /\(pattern)/"
    case .command(let words): "the command \(words.joined(separator: " ")) exits with 0"
    }
  }
}

extension Planner {
  /// The endpoints of a program as planned.
  package static func programEndpoints(_ resource: String, _ spec: ExecutableSpec) -> [ProgramEndpoint] {
    spec.endpoints.enumerated().map { index, endpoint in
      ProgramEndpoint(
        resource: resource, name: endpoint.name, fixedPort: endpoint.port,
        variable: endpoint.env ?? (index == 0 ? "PORT" : nil))
    }
  }

  /// The readiness in effect: the manifest's, else tcp on the first endpoint, else once started.
  package static func programReadiness(_ spec: ExecutableSpec) -> ProgramReadiness {
    let first = spec.endpoints.first?.name
    guard let written = spec.readiness else {
      return first.map { .tcp(endpoint: $0) } ?? .started
    }
    switch written.check {
    case nil: return .started
    case .http(let path, let endpoint): return .http(path: path, endpoint: endpoint ?? first ?? "")
    case .tcp(let endpoint): return .tcp(endpoint: endpoint)
    case .log(let pattern): return .log(pattern: pattern)
    case .command(let words): return .command(words)
    }
  }

  /// What a program that references `endpoints`' program gets: `API_HOST`, `API_PORT`, `API_URL` (the first
  /// endpoint), and Aspire's `services__api__NAME__0` for each endpoint.
  package static func programReferenceVariables(_ resource: String, endpoints: [ProgramEndpoint])
    -> [EnvironmentVariable]
  {
    guard let first = endpoints.first else { return [] }
    let prefix = ConnectionEnvironment.environmentName(resource)
    var variables = [
      EnvironmentVariable("\(prefix)_HOST", .text(first.host)), EnvironmentVariable("\(prefix)_PORT", first.port),
      EnvironmentVariable("\(prefix)_URL", first.url),
    ]
    for endpoint in endpoints {
      variables.append(EnvironmentVariable("services__\(resource)__\(endpoint.name)__0", endpoint.url))
    }
    return variables
  }
}
