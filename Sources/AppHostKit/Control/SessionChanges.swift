/// One change a second `apphost up` made to a running session (the `changes` of the `apply` reply).
package struct ControlChange: Codable, Sendable, Equatable {
  package enum Kind: String, Codable, Sendable, CaseIterable {
    /// New in apphost.json (or not running in the session yet): started.
    case added
    /// A cache or UI whose configuration changed: removed and made again (its volumes stay).
    case recreated
    /// A program whose plan changed, or that needs a recreated container: stopped and started again.
    case restarted
    /// Gone from apphost.json: stopped (a container is removed, its named volumes stay).
    case removed
    /// What should have been done could not be: `reason` says why.
    case failed
  }

  /// The manifest's resource.
  package var name: String
  package var kind: Kind
  /// Why, in a few words (`its password changed`); nil for `added` and `removed`.
  package var reason: String?

  package init(name: String, kind: Kind, reason: String? = nil) {
    self.name = name
    self.kind = kind
    self.reason = reason
  }

  /// `recreated (its password changed)`: what `up` prints after `name |`.
  package var summary: String {
    kind.rawValue + (reason.map { " (\($0))" } ?? "")
  }
}

/// What a second `apphost up` must do to a running session to turn what it runs (the old plan) into what
/// apphost.json now says (the new plan), as data: computing it touches nothing (like `Reconciliation`);
/// `SessionController.apply` carries it out.
package struct SessionChanges: Sendable, Equatable {
  /// In the order they are carried out: removed programs, then containers (recreated, added), removed
  /// containers, then programs (restarted, added).
  package var changes: [ControlChange]

  package var isEmpty: Bool { changes.isEmpty }

  package func names(_ kind: ControlChange.Kind) -> [String] {
    changes.filter { $0.kind == kind }.map(\.name)
  }

  /// Decides. `running`: the resources the session has now (containers the engine has, programs the
  /// supervisor runs); a resource of the new plan that it has not is added, one of the old plan that is
  /// gone from the new one is removed (when it runs). `flavor` words the reasons (a native server has no
  /// image).
  package static func between(_ old: Plan, _ new: Plan, running: Set<String>, flavor: EngineFlavor)
    -> SessionChanges
  {
    let skipped = Set(new.skipped.map(\.name))
    var recreated: [ControlChange] = []
    var addedContainers: [ControlChange] = []
    var restarted: [ControlChange] = []
    var addedPrograms: [ControlChange] = []
    for container in new.containers where !skipped.contains(container.resource) {
      let name = container.resource
      guard running.contains(name) else {
        addedContainers.append(ControlChange(name: name, kind: .added))
        continue
      }
      if let before = old.container(name), before.configHash != container.configHash {
        recreated.append(
          ControlChange(name: name, kind: .recreated, reason: changeReason(before, container, flavor: flavor)))
      }
    }
    // Containers made again (recreated, or added back after `down NAME`) give their users new connections.
    let remade = recreated.map(\.name) + addedContainers.map(\.name).filter { old.container($0) != nil }
    for executable in new.executables {
      let name = executable.resource
      guard running.contains(name) else {
        addedPrograms.append(ControlChange(name: name, kind: .added))
        continue
      }
      let changed = old.executable(name).map { changeReason($0, executable) } ?? "it was not a program"
      let needed = executable.needs.filter { remade.contains($0) }
      if changed == nil && needed.isEmpty { continue }
      var reasons: [String] = []
      if !needed.isEmpty {
        reasons.append("\(listed(needed)) \(needed.count == 1 ? "was" : "were") recreated")
      }
      if let changed, !(needed.isEmpty == false && changed == "its environment changed") {
        reasons.append(changed)
      }
      restarted.append(ControlChange(name: name, kind: .restarted, reason: reasons.joined(separator: "; ")))
    }
    let gone = old.resourceNames.filter { !new.resourceNames.contains($0) && running.contains($0) }
    let removedPrograms = gone.filter { old.executable($0) != nil }.map { ControlChange(name: $0, kind: .removed) }
    let removedContainers = gone.filter { old.executable($0) == nil }.map { ControlChange(name: $0, kind: .removed) }
    return SessionChanges(
      changes: removedPrograms + recreated + addedContainers + removedContainers + restarted + addedPrograms)
  }

  /// Why a container must be made again, from its two plans: the image (the server program on the
  /// native engine, which runs no images), then the settings that changed, by name.
  package static func changeReason(_ old: ContainerPlan, _ new: ContainerPlan, flavor: EngineFlavor) -> String {
    let before = old.madeFrom(on: flavor)
    let after = new.madeFrom(on: flavor)
    if before != after {
      return flavor == .native
        ? "its server changed: \(before) -> \(after)" : "its image changed: \(before) -> \(after)"
    }
    var aspects: [String] = []
    if let a = old.server, let b = new.server {
      if a.kind != b.kind { aspects.append("type") }
      if a.password != b.password { aspects.append("password") }
      if a.persistence != b.persistence { aspects.append("persistence") }
      if a.extraArguments != b.extraArguments { aspects.append("args") }
      if a.configFile != b.configFile { aspects.append("config file") }
      if a.seedRDB != b.seedRDB { aspects.append("seed") }
    } else if old.health != new.health {
      aspects.append("password")
    }
    if old.seed != new.seed && !aspects.contains("seed") { aspects.append("seed") }
    if old.hostPort != new.hostPort {
      aspects.append("hostPort")
    }
    if old.lifetime != new.lifetime { aspects.append("lifetime") }
    if old.caches != new.caches { aspects.append("caches") }
    if old.mounts != new.mounts && !aspects.contains("persistence") { aspects.append("volumes") }
    if aspects.isEmpty && old.environment != new.environment { aspects.append("environment") }
    if aspects.isEmpty && old.image != new.image {
      // The native engine runs the same server program whatever the image says.
      return "its image changed: \(old.image) -> \(new.image) (natively \(after) runs still)"
    }
    guard !aspects.isEmpty else { return "its configuration changed" }
    return "its \(listed(aspects)) changed"
  }

  /// Why a program must be started again with its new plan; nil when its plan is the same.
  package static func changeReason(_ old: ExecutablePlan, _ new: ExecutablePlan) -> String? {
    guard old != new else { return nil }
    var aspects: [String] = []
    if old.command != new.command || old.resolvedCommand != new.resolvedCommand { aspects.append("command") }
    if old.arguments != new.arguments { aspects.append("args") }
    if old.environment != new.environment { aspects.append("environment") }
    if old.workingDirectory != new.workingDirectory { aspects.append("working directory") }
    if old.replicas != new.replicas { aspects.append("replicas (\(old.replicas) -> \(new.replicas))") }
    if old.restart != new.restart { aspects.append("restart policy") }
    if old.references != new.references { aspects.append("references") }
    if old.waitFor != new.waitFor { aspects.append("waitFor") }
    if old.endpoints != new.endpoints { aspects.append("endpoints") }
    if old.readiness != new.readiness || old.readinessTimeout != new.readinessTimeout { aspects.append("readiness") }
    if old.isTask != new.isTask { aspects.append("type") }
    guard !aspects.isEmpty else { return "its configuration changed" }
    return "its \(listed(aspects)) changed"
  }

  /// `a`, `a and b`, `a, b and c`.
  static func listed(_ items: [String]) -> String {
    guard items.count > 1 else { return items.first ?? "" }
    return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
  }
}
