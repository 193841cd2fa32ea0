/// What `apphost ps` shows for a resource; never a secret.
package struct ResourceStatus: Encodable, Sendable, Equatable {
  package var name: String
  package var type: String
  /// `running`, `exited`, `created`, `not created`, ... (executables: `running`, `exited`, `not started`).
  package var state: String
  /// `healthy` or `unhealthy` for running containers.
  package var health: String?
  /// `127.0.0.1:PORT` of a cache.
  package var endpoint: String?
  /// `http://127.0.0.1:PORT` of a UI.
  package var url: String?
  package var container: String?
  package var lifetime: String?
  package var image: String?
  package var pid: Int32?
  /// Of a cache with read replicas and of each replica: `primary` or `replica`.
  package var role: String?
  /// Of a read replica: the cache (the primary) it copies.
  package var replicaOf: String?
  /// Something the user should know: out of date, not in the manifest, why unhealthy.
  package var note: String?

  package init(name: String, type: String, state: String) {
    self.name = name
    self.type = type
    self.state = state
  }
}

package enum StatusReport {
  /// The status of every resource of the plan, plus containers of the project the plan no longer has.
  package static func collect(plan: Plan, containers: [ContainerRecord], programs: ExecutableState? = nil) async
    -> [ResourceStatus]
  {
    let records = Dictionary(
      containers.filter { $0.projectDirectory == plan.projectDirectory }.map { ($0.name, $0) },
      uniquingKeysWith: { first, _ in first })
    var rows: [ResourceStatus] = []
    for name in plan.resourceNames {
      if let container = plan.container(name) {
        var row = ResourceStatus(name: name, type: container.kind.rawValue, state: "not created")
        row.container = container.containerName
        row.lifetime = container.lifetime.rawValue
        row.image = container.image
        if let primary = container.replicaOf {
          row.role = "replica"
          row.replicaOf = primary
        } else if plan.containers.contains(where: { $0.replicaOf == name }) {
          row.role = "primary"
        } else if let cache = container.sentinelOf {
          row.role = "sentinel"
          row.replicaOf = cache
        }
        if let record = records[container.containerName] {
          row.state = record.state.rawValue
          if record.state == .exited { row.state = "exited (\(record.exitCode))" }
          if let port = record.ports[container.containerPort] {
            if container.kind.isCache {
              row.endpoint = "\(Planner.host):\(port)"
            } else {
              row.url = container.url(hostPort: port)
            }
          }
          if record.configHash != container.configHash {
            row.note = "apphost.json changed since it started; `apphost up` recreates it"
          } else if record.isLeftover {
            row.note = "left over from an apphost up that is gone; `apphost up` or `apphost down` removes it"
          }
        }
        rows.append(row)
      } else if let skipped = plan.skipped.first(where: { $0.name == name }) {
        rows.append(ResourceStatus(name: name, type: skipped.kind.rawValue, state: "skipped (needs docker or podman)"))
      } else if plan.executable(name) != nil {
        let processes = programs?.processes.filter { $0.resource == name } ?? []
        if processes.isEmpty {
          let type = plan.executable(name)?.isTask == true ? ResourceType.task : .executable
          rows.append(ResourceStatus(name: name, type: type.rawValue, state: "not started"))
        }
        for process in processes {
          var row = ResourceStatus(
            name: process.name, type: ResourceType.executable.rawValue, state: process.state.rawValue)
          let live = process.liveIdentity != nil
          let ownerAlive = programs?.owner.isAlive == true
          if (process.state == .running || process.state == .starting) && !live {
            row.state = "exited"
            row.note = "ended while no apphost watched it"
          } else if process.state == .exited {
            row.state = "exited (\(process.exitCode.map(String.init) ?? "?"))"
            if process.task == true, process.exitCode == 0 { row.state = "completed (0)" }
          } else if process.state == .stopped {
            // Stopped by request (`apphost stop`): kept stopped until `apphost start`.
            row.state = "stopped"
          }
          if process.task == true { row.type = ResourceType.task.rawValue }
          if live, process.state == .running, process.task != true, let ready = process.ready {
            row.health = ready ? "ready" : "not ready"
          } else if live, process.state == .running, process.task != true {
            row.health = "not ready"
          }
          if let executable = plan.executable(name), let first = executable.endpoints.first,
            let port = process.ports?[first.name]
          {
            row.url = "\(first.scheme)://\(Planner.host):\(port)"
          }
          if live {
            row.pid = process.pid
            if !ownerAlive { row.note = "the apphost that started it is gone; `apphost down` stops it" }
          }
          if process.restarts > 0 {
            row.note = (row.note.map { $0 + "; " } ?? "") + "restarted \(process.restarts) times"
          }
          rows.append(row)
        }
      }
    }
    let planned = Set(plan.containers.map(\.containerName))
    for record in records.values.sorted(by: { $0.name < $1.name }) where !planned.contains(record.name) {
      var row = ResourceStatus(name: record.resource ?? record.name, type: "container", state: record.state.rawValue)
      row.container = record.name
      row.image = record.image
      row.note = "no longer in apphost.json; `apphost up` or `apphost down` removes it"
      rows.append(row)
    }
    // Health of the running containers, checked at once. Sentinels move the primary role: a server they
    // watch is healthy when it answers, in whichever role it has now.
    let watched = Set(plan.sentinelCaches)
    let isWatched = { (container: ContainerPlan) in
      watched.contains(container.replicaOf ?? container.resource) && container.sentinelOf == nil
    }
    let checks: [(Int, HealthCheck, Int)] = rows.enumerated().compactMap { index, row in
      guard row.state == "running", let container = plan.container(row.name),
        let port = records[container.containerName]?.ports[container.containerPort]
      else { return nil }
      if isWatched(container) {
        return (index, .resp(password: container.health.password, tls: container.health.tls), port)
      }
      return (index, container.health, port)
    }
    let results = await withTaskGroup(of: (Int, Probe.Outcome).self) { group in
      for (index, health, port) in checks {
        group.addTask { (index, await Probe.check(health, port: port)) }
      }
      var results: [(Int, Probe.Outcome)] = []
      for await result in group { results.append(result) }
      return results
    }
    // The roles of cluster nodes and of servers sentinels watch, as they are now (a replica takes over from a
    // primary that stops).
    let roles = await withTaskGroup(of: (Int, String?, Bool).self) { group in
      for (index, health, port) in checks {
        let isCluster = if case .clusterNode = health { true } else { false }
        guard isCluster || plan.container(rows[index].name).map(isWatched) == true else { continue }
        let password = health.password?.revealed()
        let tls = health.tls
        group.addTask { (index, await Probe.role(port: port, password: password, tls: tls), isCluster) }
      }
      var roles: [(Int, String?, Bool)] = []
      for await role in group { roles.append(role) }
      return roles
    }
    // A server sentinels watch has the role it says it has; one that does not run, none.
    for index in rows.indices where plan.container(rows[index].name).map(isWatched) == true {
      rows[index].role = nil
      rows[index].replicaOf = nil
    }
    for (index, role, isCluster) in roles {
      if isCluster {
        rows[index].role = role.map { "cluster \($0)" }
      } else {
        rows[index].role = role
      }
    }
    for (index, outcome) in results {
      switch outcome {
      case .ready:
        rows[index].health = "healthy"
      case .notReady(let reason), .failed(let reason):
        rows[index].health = "unhealthy"
        rows[index].note = rows[index].note ?? reason
      }
    }
    return rows
  }

  /// The host ports of the plan's containers that are running.
  package static func ports(plan: Plan, containers: [ContainerRecord]) -> [String: Int] {
    var ports: [String: Int] = [:]
    for container in plan.containers {
      guard
        let record = containers.first(where: {
          $0.name == container.containerName && $0.projectDirectory == plan.projectDirectory && $0.isRunning
        }),
        let port = record.ports[container.containerPort]
      else { continue }
      ports[container.resource] = port
    }
    return ports
  }
}

extension Plan {
  /// The port a client here reaches the primary of `cache` at: for a cache sentinels watch, where the first
  /// sentinel that answers says the primary is now (a failover moves it); else the endpoint's own port. Nil
  /// when it does not run.
  package func primaryPort(of cache: String, ports: [String: Int]) async -> Int? {
    guard let endpoint = endpoint(cache) else { return nil }
    let planned = endpoint.port.revealed(ports: ports).flatMap { Int($0) }
    guard let master = endpoint.sentinelMaster else { return planned }
    for sentinel in containers where sentinel.sentinelOf == cache {
      guard let port = ports[sentinel.resource] else { continue }
      let reply = await Probe.command(
        ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", master], port: port, password: endpoint.password?.revealed())
      if case .array(let parts?) = reply, parts.count == 2, parts[0].text == Planner.host,
        let found = parts[1].text.flatMap({ Int($0) })
      {
        return found
      }
    }
    return planned
  }
}
