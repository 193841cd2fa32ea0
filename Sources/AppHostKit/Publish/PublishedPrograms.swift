/// Programs as the published outputs run them: in a container on compose's network or in a cluster, a
/// program is reached at its service name and listens on its endpoints' container ports (the fixed
/// `port`, else 8080), so `API_URL` is `http://api:8000` and its own `PORT` the container port.
struct PublishedProgram {
  var executable: ExecutablePlan
  var spec: ExecutableSpec
  var image: String
  /// Its variables (references' connection information, its endpoints' variables, envFile, env),
  /// inside the network.
  var environment: [EnvironmentVariable]
  var arguments: [Value]

  var resource: String { executable.resource }
}

extension Plan {
  /// The programs' endpoints as seen inside the network: at the program's name.
  var networkPrograms: [String: [ProgramEndpoint]] {
    var programs: [String: [ProgramEndpoint]] = [:]
    for executable in executables {
      programs[executable.resource] = executable.endpoints.map { endpoint in
        var inside = endpoint
        inside.host = executable.resource
        return inside
      }
    }
    return programs
  }

  /// The container port behind each endpoint key (`api.http`, and `api.http/N` for its replicas).
  var programContainerPorts: [String: Int] {
    var ports: [String: Int] = [:]
    for executable in executables {
      for endpoint in executable.endpoints {
        ports[endpoint.key] = endpoint.containerPort
        for replica in 0..<executable.replicas { ports[endpoint.replicaKey(replica)] = endpoint.containerPort }
      }
    }
    return ports
  }

  /// A program with an image, as published; nil when it has none (it is not carried).
  func published(_ executable: ExecutablePlan, manifest: Manifest) throws(AppHostError) -> PublishedProgram? {
    guard let image = executable.image, let spec = manifest[executable.resource]?.executable else { return nil }
    var fileEntries: [EnvironmentEntry] = []
    if let envFile = spec.envFile {
      switch DotEnv.parse(contentsOf: resolvePath(envFile, relativeTo: projectDirectory)) {
      case .success(let entries): fileEntries = entries.map { EnvironmentEntry($0.name, $0.value) }
      case .failure(let problem):
        throw .cannotPublish(resource: executable.resource, reason: "its envFile \(quoted(envFile)): \(problem)")
      }
    }
    let programs = networkPrograms
    let environment = Planner.executableEnvironment(
      spec, endpoints: networkEndpoints, programs: programs, own: programs[executable.resource] ?? [],
      envFile: fileEntries)
    let arguments = spec.args.map { Planner.resolveTemplate($0, endpoints: networkEndpoints, programs: programs) }
    return PublishedProgram(
      executable: executable, spec: spec, image: image, environment: environment, arguments: arguments)
  }

  /// The host port apphost uses for replica `replica` of `endpoint`: the fixed one (replica 0), else the
  /// remembered one.
  func hostPort(_ endpoint: ProgramEndpoint, replica: Int, remembered: [String: Int]) -> Int? {
    if replica == 0, let fixed = endpoint.fixedPort { return fixed }
    return remembered[endpoint.replicaKey(replica)]
  }
}

/// Readiness checks run inside a program's container (compose healthchecks), with whatever the user's
/// image has: wget, curl, or python3 for HTTP; nc, bash or python3 for TCP.
enum ProgramHealthScripts {
  static func http(port: Int, path: String) -> String {
    let url = shellQuoted("http://127.0.0.1:\(port)\(path)")
    return "wget -q -O /dev/null \(url) 2>/dev/null || curl -fsS -o /dev/null \(url) 2>/dev/null || "
      + "python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \(url)"
  }

  static func tcp(port: Int) -> String {
    "nc -z 127.0.0.1 \(port) 2>/dev/null || bash -c ': </dev/tcp/127.0.0.1/\(port)' 2>/dev/null || "
      + "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", \(port)), 2)'"
  }
}
