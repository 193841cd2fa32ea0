import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `.apphost/ports.json`: the ports apphost or the engine picked for the project, by key (`cache`, `insight`,
/// `api.http` for a program's endpoint, `api.http/1` for its replica 1), so that the next `up` asks for the
/// same ones again while they are free: bookmarks, `.env` files and open clients keep working.
package struct PortMemory: Sendable {
  package var state: StateDirectory

  package init(state: StateDirectory) {
    self.state = state
  }

  package var path: String { (state.path as NSString).appendingPathComponent("ports.json") }

  package func load() -> [String: Int] {
    guard let data = FileManager.default.contents(atPath: path) else { return [:] }
    return Log.attempt("read \(path)") { try JSONDecoder().decode([String: Int].self, from: data) } ?? [:]
  }

  /// Adds `ports` to what is remembered (other keys stay: a resource not started this time keeps its port).
  package func remember(_ ports: [String: Int]) {
    var all = load()
    let before = all
    all.merge(ports) { _, new in new }
    guard all != before else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
      try state.create()
      guard let data = try? encoder.encode(all) else { return }
      try writeFileAtomically(path, contents: [UInt8](data), mode: 0o600, durable: false)
    } catch {
      Log.debug("could not remember the ports in \(path): \(error.errorDescription ?? "\(error)")")
    }
  }
}

/// Ports on 127.0.0.1: is one free, and a free one.
package enum LocalPorts {
  /// True when nothing listens on `port` (a bind with SO_REUSEADDR succeeds: connections in TIME_WAIT from
  /// the last run do not count).
  package static func isFree(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var yes: Int32 = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = loopback(port: port)
    return withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// A free port for apphost to choose and remember (a program's endpoint, a native server, a cluster
  /// node): one at random from `stableBand`, below the system's ephemeral range. Ports in that range are
  /// what the kernel gives every outgoing connection and what docker and podman publish containers on,
  /// so one remembered there is often taken by the next `up`; below it, only a listening server takes it.
  /// Never one of the dashboard's ports (`DashboardRecord.preferredPorts`); the system's pick when the
  /// band has none free.
  package static func pick() throws(AppHostError) -> Int {
    if let band = stableBand {
      var generator = SystemRandomNumberGenerator()
      for _ in 0..<64 {
        let port = Int.random(in: band, using: &generator)
        if !DashboardRecord.preferredPorts.contains(port) && isFree(port) { return port }
      }
    }
    return try pickEphemeral()
  }

  /// 10000–19999 while the ephemeral range starts above it (Linux: 32768, macOS and Windows: 49152); nil
  /// when the system lends ports that low too. Tests' fixed ports come from 20000–31999, between the two.
  package static let stableBand: ClosedRange<Int>? = band(ephemeralStart: ephemeralStart())

  package static func band(ephemeralStart: Int) -> ClosedRange<Int>? {
    ephemeralStart > 20000 ? 10000...19999 : nil
  }

  /// The first port of the kernel's ephemeral range.
  static func ephemeralStart() -> Int {
    #if os(Linux)
      let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
      return range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
    #else
      return 49152
    #endif
  }

  /// A port the system says is free now (from its ephemeral range).
  static func pickEphemeral() throws(AppHostError) -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw .engineFailed(command: "apphost", reason: "no socket for a free port") }
    defer { close(descriptor) }
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let found = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
      }
    }
    guard found else { throw .engineFailed(command: "apphost", reason: "no free port on 127.0.0.1") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// The highest port a cluster node may listen on: its cluster bus is the port + 10000.
  package static let highestClusterPort = 55535

  /// True when a cluster node can listen on `port` (on this machine: `busFree`, its bus port free too).
  package static func suitsClusterNode(_ port: Int, busFree: Bool) -> Bool {
    port <= highestClusterPort && isFree(port) && (!busFree || isFree(port + 10000))
  }

  /// A free port for a cluster node (`suitsClusterNode`), other than `taken`.
  package static func pickClusterPort(busFree: Bool, taken: Set<Int> = []) throws(AppHostError) -> Int {
    for _ in 0..<500 {
      let port = try pick()
      if !taken.contains(port) && suitsClusterNode(port, busFree: busFree) { return port }
    }
    throw .engineFailed(
      command: "apphost",
      reason: "no free port on 127.0.0.1 up to \(highestClusterPort) for a cluster node (its cluster bus is the port "
        + "+ 10000\(busFree ? ", which must be free too" : ""))")
  }

  static func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
  }
}

/// The ports of the programs' endpoints: fixed in the manifest, else the remembered one while it is free
/// (or held by this project's own running program), else a new one, said in one line.
package enum ProgramPorts {
  package struct Assignment: Sendable, Equatable {
    /// `api.http` (the endpoint's address) and `api.http/N` (replica N's own port).
    package var ports: [String: Int]
    /// One line for each remembered port that was taken, naming the new one.
    package var notices: [String]
  }

  /// Decides the ports; `isFree` and `pick` are the world (tests give their own).
  package static func assign(
    _ executables: [ExecutablePlan], remembered: [String: Int], isFree: (Int) -> Bool,
    pick: () throws(AppHostError) -> Int
  ) throws(AppHostError) -> Assignment {
    var ports: [String: Int] = [:]
    var notices: [String] = []
    var taken = Set(executables.flatMap(\.endpoints).compactMap(\.fixedPort))
    func choose(_ key: String, label: String) throws(AppHostError) -> Int {
      if let port = remembered[key], !taken.contains(port) {
        if isFree(port) {
          taken.insert(port)
          return port
        }
        var fresh = try pick()
        while taken.contains(fresh) { fresh = try pick() }
        taken.insert(fresh)
        notices.append("\(label): port \(port) is taken now, so it gets \(fresh) this time")
        return fresh
      }
      var fresh = try pick()
      while taken.contains(fresh) { fresh = try pick() }
      taken.insert(fresh)
      return fresh
    }
    for executable in executables {
      for endpoint in executable.endpoints {
        if executable.replicas == 1 {
          let port: Int
          if let fixed = endpoint.fixedPort {
            port = fixed
          } else {
            port = try choose(endpoint.replicaKey(0), label: endpoint.key)
          }
          ports[endpoint.replicaKey(0)] = port
          ports[endpoint.key] = port
          continue
        }
        // Replicas: each its own port; the endpoint's (fixed or picked) is apphost's, spread over them.
        if let fixed = endpoint.fixedPort {
          ports[endpoint.key] = fixed
        } else {
          ports[endpoint.key] = try choose(endpoint.key, label: endpoint.key)
        }
        for replica in 0..<executable.replicas {
          let label = "\(executable.displayName(replica: replica)) (\(endpoint.name))"
          ports[endpoint.replicaKey(replica)] = try choose(endpoint.replicaKey(replica), label: label)
        }
      }
    }
    return Assignment(ports: ports, notices: notices)
  }

  /// The ports for the selected programs of `plan`: decided, remembered in `.apphost/ports.json`, with the
  /// notices to show. Ports this project's running programs hold (`running`) count as free: they are theirs.
  package static func resolve(plan: Plan, selection: Set<String>, state: StateDirectory, running: Set<Int> = [])
    throws(AppHostError) -> Assignment
  {
    let memory = PortMemory(state: state)
    let executables = plan.executables.filter { selection.contains($0.resource) && !$0.endpoints.isEmpty }
    guard !executables.isEmpty else { return Assignment(ports: [:], notices: []) }
    let assignment = try assign(
      executables, remembered: memory.load(), isFree: { running.contains($0) || LocalPorts.isFree($0) },
      pick: LocalPorts.pick)
    memory.remember(assignment.ports)
    return assignment
  }
}

extension ProcessSpec {
  /// The processes of the selected programs, their endpoints' ports chosen (and remembered): what `up`
  /// and the background supervisor start. `containerPorts` are the host ports of the running containers.
  package static func specs(
    plan: Plan, containerPorts: [String: Int], selection: Set<String>, state: StateDirectory,
    notice: (String) -> Void
  ) throws(AppHostError) -> [ProcessSpec] {
    let assignment = try ProgramPorts.resolve(
      plan: plan, selection: selection, state: state, running: ExecutableState.livePorts(state))
    for line in assignment.notices { notice(line) }
    return try specs(
      plan: plan, ports: containerPorts.merging(assignment.ports) { container, _ in container }, selection: selection)
  }
}

extension ExecutableState {
  /// The ports the project's programs hold now (their supervisor is alive): theirs to keep.
  package static func livePorts(_ state: StateDirectory) -> Set<Int> {
    guard let recorded = load(state), recorded.owner.isAlive else { return [] }
    return Set(recorded.processes.flatMap { ($0.ports ?? [:]).values }).union((recorded.endpoints ?? [:]).values)
  }
}

extension ProgramPorts {
  /// The endpoints' ports as far as they are known without starting anything (fixed, else remembered):
  /// for `apphost env`, which prints what a program gets.
  package static func known(plan: Plan, state: StateDirectory) -> [String: Int] {
    let remembered = PortMemory(state: state).load()
    var ports: [String: Int] = [:]
    for executable in plan.executables {
      for endpoint in executable.endpoints {
        for replica in 0..<executable.replicas {
          let fixed = executable.replicas == 1 ? endpoint.fixedPort : nil
          if let port = fixed ?? remembered[endpoint.replicaKey(replica)] { ports[endpoint.replicaKey(replica)] = port }
        }
        let shared =
          executable.replicas == 1 ? ports[endpoint.replicaKey(0)] : endpoint.fixedPort ?? remembered[endpoint.key]
        if let shared { ports[endpoint.key] = shared }
      }
    }
    return ports
  }
}

extension PortMemory {
  /// On a container engine, the port of every server of `manifest` that listens where clients reach it:
  /// a cluster node (on the port it is published on) and the servers of a cache sentinels watch (on the
  /// host's network). The cache's `hostPort` for its first server, else the one remembered, else a free one
  /// (up to 55535: a cluster bus is the port + 10000), remembered at once so that every later command plans
  /// the same. Empty without clusters and sentinels.
  package func listeningPorts(_ manifest: Manifest) throws(AppHostError) -> [String: Int] {
    // Every command plans: one without clusters or sentinels reads no file for them.
    guard manifest.resources.contains(where: { $0.cache?.handsOutAddresses == true }) else { return [:] }
    let remembered = load()
    var ports: [String: Int] = [:]
    var picked: [String: Int] = [:]
    func choose(_ name: String, fixed: Int?) throws(AppHostError) {
      guard ports[name] == nil else { return }
      if let fixed {
        ports[name] = fixed
      } else if let port = remembered[name], port <= LocalPorts.highestClusterPort {
        ports[name] = port
      } else {
        let port = try LocalPorts.pickClusterPort(busFree: false, taken: Set(ports.values))
        ports[name] = port
        picked[name] = port
      }
    }
    for resource in manifest.resources {
      guard let cache = resource.cache, cache.handsOutAddresses else { continue }
      for node in Planner.serverNames(of: resource.name, cache) {
        try choose(node, fixed: node == resource.name ? cache.container.hostPort : nil)
      }
    }
    // A UI showing such a cache is on the host's network too, and reaches its other caches at the host
    // ports they are published on.
    for (ui, caches) in Planner.uisOnHostNetwork(manifest) {
      try choose(ui, fixed: manifest[ui]?.uiSettings?.hostPort)
      for cache in caches { try choose(cache, fixed: manifest[cache]?.cache?.container.hostPort) }
    }
    if !picked.isEmpty { remember(picked) }
    return ports
  }

  /// The plan with the remembered ports of containers without a `hostPort` (caches, UIs) as their preferred
  /// ports: each one that is free, or held by the project's own running container. A remembered port that
  /// is taken is said in one line, and the engine picks another.
  package func preferringRememberedPorts(
    _ plan: Plan, running: [ContainerRecord], notice: (String) -> Void
  ) -> Plan {
    let remembered = load()
    var plan = plan
    for index in plan.containers.indices {
      let container = plan.containers[index]
      guard container.hostPort == nil, let port = remembered[container.resource] else { continue }
      let ours = running.contains { record in
        record.name == container.containerName && record.projectDirectory == plan.projectDirectory
          && record.isRunning && record.ports[container.containerPort] == port
      }
      if ours || LocalPorts.isFree(port) {
        plan.containers[index].preferredPort = port
      } else if !running.contains(where: { $0.name == container.containerName && $0.isRunning }) {
        notice("\(container.resource): port \(port) (used last time) is taken now, so it gets another one")
      }
    }
    return plan
  }
}
