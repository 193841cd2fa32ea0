/// Stopping a cache with read replicas without losing what the cache itself does not hold. The next `up`
/// starts the cache as the primary and its replicas copy it, so data held only by a replica (one the
/// sentinels promoted, or any replica while the cache was stopped) would be lost then. Before the servers
/// are saved and stopped, sentinels go (no failover may start while the servers stop), and a cache that
/// is not the one with the newest data is made a replica of the one that is, waited for until it has
/// every write, and saved with the rest.
extension Teardown {
  /// How long the cache may take to copy the newest data before it is stopped anyway.
  static let failBackTimeout: Duration = .seconds(30)
  /// How long a server may take to answer here: a replica whose primary's container is gone looks the
  /// primary's name up again and again, and its server is frozen while each lookup waits on the engine's
  /// DNS (seen on podman: seconds at a time).
  static let answerTimeout: Duration = .seconds(15)

  /// Removes the sentinels among `records`, hands the cache of each replication group its data back, and
  /// returns the other records, as they are now (a group's as inspected: with their environment).
  func removeSentinelsAndFailBack(_ records: [ContainerRecord], save: Bool) async throws(AppHostError)
    -> [ContainerRecord]
  {
    let sentinels = records.filter { $0.labels[LabelKey.sentinelOf] != nil }
    if !sentinels.isEmpty {
      try await engine.remove(sentinels.map(\.name), grace: nil)
      for record in sentinels { events(.removed(resource: record.resource ?? record.name, container: record.name)) }
    }
    var rest = records.filter { $0.labels[LabelKey.sentinelOf] == nil }
    guard save else { return rest }
    var groups: [String] = []
    for record in rest {
      if let group = record.labels[LabelKey.replicationGroup], !groups.contains(group) { groups.append(group) }
    }
    for group in groups {
      let names = rest.filter { $0.labels[LabelKey.replicationGroup] == group }.map(\.name)
      // A listing does not carry the containers' environment, where their passwords are: inspect them.
      let inspected = await Log.quietly("inspect the servers of \(group)") { () async throws(AppHostError) in
        try await engine.inspect(names)
      }
      guard let nodes = inspected, let cache = nodes.first(where: { $0.resource == group }) else { continue }
      let updated = await failBack(cache, nodes: nodes)
      rest = rest.map { record in
        if let updated, updated.name == record.name { return updated }
        return nodes.first { $0.name == record.name } ?? record
      }
    }
    return rest
  }

  /// Where the newest data of `cache`'s group is when that is not the cache: the replica that is a primary
  /// now, or, when the cache does not answer, a replica that runs.
  private func newestData(_ cache: ContainerRecord, answering: Bool, nodes: [ContainerRecord]) async
    -> (record: ContainerRecord, port: Int, promoted: Bool)?
  {
    var replica: (record: ContainerRecord, port: Int, promoted: Bool)?
    for node in nodes where node.name != cache.name && node.isRunning {
      guard let port = node.serverPort else { continue }
      switch await Probe.role(port: port, password: node.cachePassword, timeout: Self.answerTimeout) {
      case "primary": return (node, port, true)
      case "replica" where replica == nil: replica = (node, port, false)
      default: break
      }
    }
    return answering ? nil : replica
  }

  /// Makes `cache` a copy of the server with the newest data, when that is another one; returns its record
  /// when it had to be started for that. Says what it did, and what it could not.
  private func failBack(_ cache: ContainerRecord, nodes: [ContainerRecord]) async -> ContainerRecord? {
    var answering = false
    if cache.isRunning, let port = cache.serverPort {
      answering = await Probe.role(port: port, password: cache.cachePassword) != nil
    }
    guard let source = await newestData(cache, answering: answering, nodes: nodes) else { return nil }
    let resource = cache.resource ?? cache.name
    let other = source.record.resource ?? source.record.name
    let situation =
      source.promoted ? "\(other) had taken over as primary" : "\(resource) had stopped while \(other) ran on"
    var started: ContainerRecord?
    do throws(AppHostError) {
      if !source.promoted {
        // A replica whose primary is gone serves no copy of its own (it answers NOMASTERLINK): it stops
        // following the cache first, keeping its data.
        let answer = await Probe.command(
          ["REPLICAOF", "NO", "ONE"], port: source.port, password: cache.cachePassword, timeout: Self.answerTimeout)
        guard answer?.text == "OK" else {
          throw .engineFailed(
            command: "REPLICAOF NO ONE (\(other))", reason: answer.map(RESP.render) ?? "it did not answer")
        }
      }
      if !answering {
        // A container killed a moment ago may be listed as running still.
        var record = cache
        let deadline = ContinuousClock.now + .seconds(5)
        while record.isRunning && ContinuousClock.now < deadline {
          try? await Task.sleep(for: .milliseconds(100))
          record = try await engine.inspect([cache.name]).first ?? record
        }
        if !record.isRunning { try await engine.start(cache.name) }
        started = try await engine.inspect([cache.name]).first
      }
      // Started again, a container may be published on another port.
      guard let port = (started ?? cache).serverPort else {
        throw .engineOutput(command: "inspect \(cache.name)", reason: "it lists no port for the server")
      }
      // Natively and on the host's network every server is at 127.0.0.1; other containers reach each other by
      // name on the project network.
      let byName = engine.flavor.isContainerEngine && source.record.labels[LabelKey.hostNetworkPort] == nil
      let reason = await Probe.copy(
        port: port, from: byName ? other : Planner.host, primaryPort: byName ? Planner.cachePort : source.port,
        checkedAt: source.port, password: cache.cachePassword, deadline: .now + Self.failBackTimeout)
      if let reason {
        events(
          .note(
            "\(resource): \(situation), and \(resource) could not copy its data before stopping (\(reason)); "
              + "the next up starts \(resource) with what it had"))
      } else {
        events(
          .note(
            "\(resource): \(situation); \(resource) copied its data before stopping, so the next up starts "
              + "\(resource) as the primary with every write"))
      }
    } catch {
      events(
        .note(
          "\(resource): \(situation), and \(resource) could not copy its data before stopping "
            + "(\(error.errorDescription ?? "")); the next up starts \(resource) with what it had"))
    }
    return started
  }
}

extension Probe {
  /// Makes the server on `port` a replica of `host:primaryPort` and waits until it has the primary's every
  /// write (its replication offset reaches the one the primary, checked on `checkedAt`, had when the copy was
  /// complete). Returns nil once it has, else why not.
  package static func copy(
    port: Int, from host: String, primaryPort: Int, checkedAt: Int, password: String?,
    deadline: ContinuousClock.Instant
  ) async -> String? {
    var answered = false
    while !answered && ContinuousClock.now < deadline {
      answered = await resp(port: port, password: password) == .ready
      if !answered { try? await Task.sleep(for: .milliseconds(50)) }
    }
    guard answered else { return "it did not answer" }
    var last = "it had not copied every write yet"
    // Its link authenticates as its clients do (a server apphost started as a primary may not have it set).
    if let password {
      guard await command(["CONFIG", "SET", "masterauth", password], port: port, password: password)?.text == "OK"
      else { return "CONFIG SET masterauth was not accepted" }
    }
    guard let reply = await command(["REPLICAOF", host, "\(primaryPort)"], port: port, password: password),
      reply.text == "OK"
    else { return "REPLICAOF \(host) \(primaryPort) was not accepted" }
    var target: Int?
    while ContinuousClock.now < deadline {
      let outcome = await replica(port: port, password: password)
      if outcome == .ready {
        if target == nil {
          guard let info = await command(["INFO", "replication"], port: checkedAt, password: password)?.text,
            let offset = RESP.infoFields(info)["master_repl_offset"].flatMap({ Int($0) })
          else { return "the primary did not say how far its writes go" }
          target = offset
        }
        if let info = await command(["INFO", "replication"], port: port, password: password)?.text,
          let offset = RESP.infoFields(info)["slave_repl_offset"].flatMap({ Int($0) }), let target, offset >= target
        {
          return nil
        }
        last = "it had not copied every write yet"
      } else if case .notReady(let reason) = outcome {
        last = reason
      } else if case .failed(let reason) = outcome {
        return reason
      }
      try? await Task.sleep(for: .milliseconds(50))
    }
    return "not done in \(Int(Teardown.failBackTimeout.seconds)) s: \(last)"
  }
}
