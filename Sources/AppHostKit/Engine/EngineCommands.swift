import Foundation

/// The engine's command lines and the reading of their output: pure functions, with a docker/podman
/// switch where the two differ.
package enum EngineCommands {
  package static func projectFilter(_ project: String) -> [String] {
    ["--filter", "label=\(LabelKey.project)=\(project)"]
  }

  /// One `ps` that says everything apphost reads of the project's containers (what `container inspect`
  /// would, but in one engine call instead of two): podman prints JSON, docker a line per container
  /// from a template that names apphost's labels one by one (its `.Labels` is one comma-joined string).
  package static func listContainers(_ flavor: EngineFlavor, project: String) -> [String] {
    ["ps", "--all", "--no-trunc"] + projectFilter(project) + ["--format", listFormat(flavor)]
  }

  static func listFormat(_ flavor: EngineFlavor) -> String {
    switch flavor {
    case .podman: return "json"
    case .docker, .native:
      let fields = dockerListFields.map { "{{json \($0)}}" } + LabelKey.all.map { "{{json (.Label \"\($0)\")}}" }
      return "[" + fields.joined(separator: ",") + "]"
    }
  }

  private static let dockerListFields = [".ID", ".Names", ".State", ".Status", ".Image", ".Ports", ".Networks"]

  package static func inspect(_ names: [String]) -> [String] {
    ["container", "inspect"] + names
  }

  package static func listNetworks(project: String, directory: String) -> [String] {
    ["network", "ls", "--format", "{{.Name}}"] + projectFilter(project)
      + ["--filter", "label=\(LabelKey.projectDirectory)=\(directory)"]
  }

  package static func listVolumes(project: String, directory: String) -> [String] {
    ["volume", "ls", "--quiet"] + projectFilter(project)
      + ["--filter", "label=\(LabelKey.projectDirectory)=\(directory)"]
  }

  package static func rootless(_ flavor: EngineFlavor) -> [String] {
    switch flavor {
    case .docker: ["info", "--format", "{{json .SecurityOptions}}"]
    case .podman, .native: ["info", "--format", "{{.Host.Security.Rootless}}"]
    }
  }

  package static func connect(_ container: String, to network: String, alias: String) -> [String] {
    ["network", "connect", "--alias", alias, network, container]
  }

  package static func port(_ name: String, containerPort: Int) -> [String] {
    ["port", name, "\(containerPort)/tcp"]
  }

  package static func remove(_ names: [String]) -> [String] {
    ["rm", "--force", "--volumes"] + names
  }

  package static func stop(_ names: [String], grace: Duration) -> [String] {
    ["stop", "--time", String(max(0, grace.components.seconds))] + names
  }

  /// Exits 0 when the image is on this machine (both engines).
  package static func imageInspect(_ image: String) -> [String] {
    ["image", "inspect", "--format", "{{.Id}}", image]
  }

  package static func pull(_ image: String) -> [String] {
    ["pull", image]
  }

  package static func logs(_ name: String, tail: Int?, follow: Bool, since: Date? = nil, timestamps: Bool = false)
    -> [String]
  {
    ["logs"] + (follow ? ["--follow"] : []) + (tail.map { ["--tail", String($0)] } ?? [])
      + (since.map { ["--since", String(Int($0.timeIntervalSince1970.rounded(.down)))] } ?? [])
      + (timestamps ? ["--timestamps"] : []) + [name]
  }

  // MARK: Output

  package static func parseRootless(_ flavor: EngineFlavor, _ output: String) -> Bool {
    switch flavor {
    case .docker: output.contains("name=rootless")
    case .podman: output.trimmingCharacters(in: .whitespacesAndNewlines) == "true"
    case .native: false
    }
  }

  /// `127.0.0.1:49153` (one line per address); the port bound on 127.0.0.1.
  package static func parsePort(_ output: String) -> Int? {
    let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    let line = lines.first { $0.hasPrefix("127.0.0.1:") } ?? lines.first
    return line.flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
  }

  /// The output of `listContainers`.
  package static func parseList(_ flavor: EngineFlavor, _ output: String) throws(AppHostError) -> [ContainerRecord] {
    let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty { return [] }
    do {
      switch flavor {
      case .podman:
        return try JSONDecoder().decode([PodmanListed].self, from: Data(trimmed.utf8)).map(\.record)
      case .docker, .native:
        return try trimmed.split(whereSeparator: \.isNewline).map { line in
          try dockerRecord(JSONDecoder().decode([String].self, from: Data(line.utf8)))
        }
      }
    } catch let error as AppHostError {
      throw error
    } catch {
      throw .engineOutput(command: "ps", reason: "\(error)")
    }
  }

  /// A line of docker's `ps` template: the fields of `dockerListFields`, then `LabelKey.all`'s values.
  private static func dockerRecord(_ fields: [String]) throws -> ContainerRecord {
    guard fields.count == dockerListFields.count + LabelKey.all.count else {
      throw AppHostError.engineOutput(
        command: "ps", reason: "expected \(dockerListFields.count + LabelKey.all.count) fields, got \(fields.count)")
    }
    var labels: [String: String] = [:]
    for (key, value) in zip(LabelKey.all, fields.dropFirst(dockerListFields.count)) where !value.isEmpty {
      labels[key] = value
    }
    let state = ContainerState(engineWord: fields[2])
    return ContainerRecord(
      id: fields[0], name: fields[1].split(separator: ",").first.map(String.init) ?? fields[1], labels: labels,
      environment: [:], state: state, exitCode: state == .exited ? exitCode(status: fields[3]) : 0,
      ports: dockerPorts(fields[5]), image: fields[4],
      networks: fields[6].split(separator: ",").map(String.init).sorted())
  }

  /// `Exited (137) 2 seconds ago` -> 137.
  static func exitCode(status: String) -> Int {
    guard let open = status.firstIndex(of: "("), let close = status[open...].firstIndex(of: ")") else { return 0 }
    return Int(status[status.index(after: open)..<close]) ?? 0
  }

  /// `127.0.0.1:32771->6379/tcp, [::1]:32771->6379/tcp, 8080/tcp` -> [6379: 32771], 127.0.0.1 first.
  static func dockerPorts(_ text: String) -> [Int: Int] {
    var ports: [Int: Int] = [:]
    var loopback: Set<Int> = []
    for entry in text.split(separator: ",") {
      let parts = entry.trimmingCharacters(in: .whitespaces).components(separatedBy: "->")
      guard parts.count == 2, let containerPort = Int(parts[1].split(separator: "/").first ?? ""),
        let colon = parts[0].lastIndex(of: ":"), let hostPort = Int(parts[0][parts[0].index(after: colon)...])
      else { continue }
      let isLoopback = parts[0].hasPrefix("127.0.0.1:")
      if isLoopback || (ports[containerPort] == nil && !loopback.contains(containerPort)) {
        ports[containerPort] = hostPort
        if isLoopback { loopback.insert(containerPort) }
      }
    }
    return ports
  }

  /// An element of podman's `ps --format json`.
  private struct PodmanListed: Decodable {
    var id: String
    var names: [String]
    var state: String
    var exitCode: Int?
    var image: String?
    var labels: [String: String]?
    var ports: [Port]?
    var networks: [String]?

    enum CodingKeys: String, CodingKey {
      case id = "Id", names = "Names", state = "State", exitCode = "ExitCode", image = "Image", labels = "Labels"
      case ports = "Ports", networks = "Networks"
    }

    struct Port: Decodable {
      var hostIP: String?
      var containerPort: Int
      var hostPort: Int

      enum CodingKeys: String, CodingKey {
        case hostIP = "host_ip", containerPort = "container_port", hostPort = "host_port"
      }
    }

    var record: ContainerRecord {
      var mapped: [Int: Int] = [:]
      for port in (ports ?? []).sorted(by: { ($0.hostIP == "127.0.0.1" ? 0 : 1) < ($1.hostIP == "127.0.0.1" ? 0 : 1) })
      where mapped[port.containerPort] == nil {
        mapped[port.containerPort] = port.hostPort
      }
      return ContainerRecord(
        id: id, name: names.first ?? id, labels: labels ?? [:], environment: [:],
        state: ContainerState(engineWord: state), exitCode: exitCode ?? 0, ports: mapped, image: image ?? "",
        networks: (networks ?? []).sorted())
    }
  }

  /// `docker/podman container inspect` JSON: an array of containers.
  package static func parseInspect(_ output: String) throws(AppHostError) -> [ContainerRecord] {
    let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty { return [] }
    let decoded: [Inspected]
    do {
      decoded = try JSONDecoder().decode([Inspected].self, from: Data(trimmed.utf8))
    } catch {
      throw .engineOutput(command: "container inspect", reason: "\(error)")
    }
    return decoded.map { item in
      var environment: [String: String] = [:]
      for entry in item.config?.env ?? [] {
        if let equals = entry.firstIndex(of: "=") {
          environment[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
      }
      var ports: [Int: Int] = [:]
      for (key, bindings) in item.networkSettings?.ports ?? [:] {
        guard let containerPort = Int(key.split(separator: "/").first ?? ""), let bindings else { continue }
        let binding = bindings.first { $0.hostIP == "127.0.0.1" } ?? bindings.first
        if let hostPort = binding.flatMap({ Int($0.hostPort ?? "") }) { ports[containerPort] = hostPort }
      }
      let name = item.name.hasPrefix("/") ? String(item.name.dropFirst()) : item.name
      var record = ContainerRecord(
        id: item.id, name: name, labels: item.config?.labels ?? [:], environment: environment,
        state: ContainerState(engineWord: item.state?.status ?? "unknown"), exitCode: item.state?.exitCode ?? 0,
        ports: ports,
        image: item.imageName ?? item.config?.image ?? "",
        networks: (item.networkSettings?.networks ?? [:]).keys.sorted())
      record.addresses = (item.networkSettings?.networks ?? [:]).compactMapValues {
        $0.ipAddress.flatMap { $0.isEmpty ? nil : $0 }
      }
      return record
    }
  }

  /// The parts of `container inspect` apphost reads; docker and podman agree on these.
  private struct Inspected: Decodable {
    var id: String
    var name: String
    var imageName: String?
    var config: ConfigPart?
    var state: StatePart?
    var networkSettings: NetworkPart?

    enum CodingKeys: String, CodingKey {
      case id = "Id", name = "Name", imageName = "ImageName", config = "Config", state = "State"
      case networkSettings = "NetworkSettings"
    }

    struct ConfigPart: Decodable {
      var labels: [String: String]?
      var env: [String]?
      var image: String?

      enum CodingKeys: String, CodingKey {
        case labels = "Labels", env = "Env", image = "Image"
      }
    }

    struct StatePart: Decodable {
      var status: String?
      var exitCode: Int?

      enum CodingKeys: String, CodingKey {
        case status = "Status", exitCode = "ExitCode"
      }
    }

    struct NetworkPart: Decodable {
      var ports: [String: [Binding]?]?
      var networks: [String: Attachment]?

      enum CodingKeys: String, CodingKey {
        case ports = "Ports", networks = "Networks"
      }
    }

    struct Attachment: Decodable {
      var ipAddress: String?

      enum CodingKeys: String, CodingKey {
        case ipAddress = "IPAddress"
      }
    }

    struct Binding: Decodable {
      var hostIP: String?
      var hostPort: String?

      enum CodingKeys: String, CodingKey {
        case hostIP = "HostIp", hostPort = "HostPort"
      }
    }
  }

  // MARK: Errors

  /// The engine's complaint, without the noise around it (usage hints, podman's syslog warnings).
  package static func essentialError(_ text: String) -> String {
    let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { line in
      !line.isEmpty && !line.hasPrefix("Run '") && !line.contains("failed to connect to syslog")
        && !line.hasPrefix("See '") && !line.contains("level=warning")
    }
    return lines.joined(separator: "\n")
  }

  /// True when the message says the engine itself cannot be reached.
  package static func isUnavailable(_ text: String) -> Bool {
    let lowered = text.lowercased()
    return lowered.contains("cannot connect to the docker daemon") || lowered.contains("is the docker daemon running")
      || lowered.contains("error during connect") || lowered.contains("cannot connect to podman")
      || (lowered.contains("permission denied") && lowered.contains(".sock"))
      || lowered.contains("unable to connect to podman socket")
  }

  package static func isAlreadyExists(_ text: String) -> Bool {
    text.lowercased().contains("already exists")
  }

  package static func isNoSuchObject(_ text: String) -> Bool {
    let lowered = text.lowercased()
    return lowered.contains("no such") || lowered.contains("no container with name")
  }

  /// A port the engine could not publish, from its message.
  package static func portInUse(_ text: String) -> Bool {
    let lowered = text.lowercased()
    return lowered.contains("port is already allocated") || lowered.contains("address already in use")
  }

  package static func imageUnavailable(_ text: String) -> Bool {
    let lowered = text.lowercased()
    return lowered.contains("unable to find image") || lowered.contains("pull access denied")
      || lowered.contains("manifest unknown") || lowered.contains("initializing source")
      || lowered.contains("repository does not exist") || lowered.contains("image not known")
      || lowered.contains("error pulling image")
  }
}
