import Foundation

/// The engine's command lines and the reading of their output: pure functions, with a docker/podman
/// switch where the two differ.
package enum EngineCommands {
  package static func projectFilter(_ project: String) -> [String] {
    ["--filter", "label=\(LabelKey.project)=\(project)"]
  }

  package static func listContainers(project: String) -> [String] {
    ["ps", "--all", "--quiet", "--no-trunc"] + projectFilter(project)
  }

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

  package static func logs(_ name: String, tail: Int?, follow: Bool, since: Date? = nil) -> [String] {
    ["logs"] + (follow ? ["--follow"] : []) + (since.map { ["--since", timestamp($0)] } ?? [])
      + (tail.map { ["--tail", String($0)] } ?? []) + [name]
  }

  /// A time as docker and podman take it for `--since`: RFC 3339 in UTC, whole seconds (rounded down,
  /// so that nothing written in the same second is missed).
  package static func timestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
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
      return ContainerRecord(
        id: item.id, name: name, labels: item.config?.labels ?? [:], environment: environment,
        state: ContainerState(engineWord: item.state?.status ?? "unknown"), exitCode: item.state?.exitCode ?? 0,
        ports: ports,
        image: item.imageName ?? item.config?.image ?? "",
        networks: (item.networkSettings?.networks ?? [:]).keys.sorted())
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

    struct Attachment: Decodable {}

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
