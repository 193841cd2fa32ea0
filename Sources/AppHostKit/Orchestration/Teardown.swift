/// Removing containers without losing data: a cache that writes snapshots is asked to `SAVE` first
/// (Garnet only commits its append-only file once per interval), then containers go with their
/// anonymous volumes. Named volumes stay unless `down --volumes` asks for them.
package struct Teardown: Sendable {
  package var engine: any ContainerEngine
  package var events: EventSink

  package init(engine: any ContainerEngine, events: @escaping EventSink) {
    self.engine = engine
    self.events = events
  }

  /// Grace period for a server that could not be asked to save: SIGTERM makes redis save on its way out.
  package static let stopGrace: Duration = .seconds(10)

  package func remove(_ records: [ContainerRecord], save: Bool = true) async throws(AppHostError) {
    guard !records.isEmpty else { return }
    let records = try await removeSentinelsAndFailBack(records, save: save)
    var unsaved: [String] = []
    if save {
      let savers = records.filter { $0.isRunning && $0.labels[LabelKey.savesBeforeStop] == "true" }
      // A listing does not carry the containers' environment, where their passwords are: inspect those (a
      // replication group's were inspected for its failback already).
      let listed = savers.filter { $0.environment.isEmpty }
      let inspected = listed.isEmpty ? [] : ((try? await engine.inspect(listed.map(\.name))) ?? listed)
      let needSaving = savers.filter { !$0.environment.isEmpty } + inspected
      let events = self.events
      unsaved = await withTaskGroup(of: String?.self) { group in
        for record in needSaving {
          group.addTask {
            let resource = record.resource ?? record.name
            guard let port = record.serverPort else { return record.name }
            events(.saving(resource: resource))
            // A TLS-only cache is one of this project's: its certificate is signed by the project's CA.
            let tls =
              record.labels[LabelKey.tls] == "true"
              ? record.projectDirectory.map {
                TLSClient.project(StateDirectory(projectDirectory: $0))
              } : nil
            if let problem = await Probe.save(port: port, password: record.cachePassword, tls: tls) {
              events(.saveFailed(resource: resource, reason: problem))
              return record.name
            }
            return nil
          }
        }
        var unsaved: [String] = []
        for await name in group {
          if let name { unsaved.append(name) }
        }
        return unsaved
      }
    }
    // What could not save is stopped gracefully instead; the rest goes at once.
    if !unsaved.isEmpty {
      try await engine.remove(unsaved, grace: Self.stopGrace)
    }
    let rest = records.map(\.name).filter { !unsaved.contains($0) }
    try await engine.remove(rest, grace: nil)
    for record in records {
      events(.removed(resource: record.resource ?? record.name, container: record.name))
    }
  }

  /// `apphost down`: every container of the project, its network and, with `volumes`, its volumes.
  package func down(project: String, directory: String, containers: [ContainerRecord], volumes: Bool)
    async throws(AppHostError)
  {
    let ours = containers.filter { $0.projectDirectory == directory }
    try await remove(ours)
    let networks = try await engine.networks(project: project, directory: directory)
    do {
      try await engine.removeNetworks(networks)
      for network in networks { events(.removedNetwork(network)) }
    } catch {
      // Another container (not apphost's) still uses it: leave it, say so.
      events(
        .note(
          "the network \(networks.joined(separator: ", ")) is still in use and was kept: \(error.errorDescription ?? "")"
        ))
    }
    if volumes {
      let names = try await engine.volumes(project: project, directory: directory)
      try await engine.removeVolumes(names)
      for name in names { events(.removedVolume(name)) }
    }
  }
}
