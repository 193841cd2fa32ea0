import Foundation

/// Joins the nodes of a cluster (`"cluster"`) into one, as `redis-cli --cluster create` does, and waits
/// until it serves every slot: the nodes meet, the primaries take equal runs of the hash slots, the others
/// replicate them. A cluster that is already formed (reused nodes, or nodes whose `nodes.conf` a volume
/// kept) is only checked; nodes that came back on other ports are met again at the new ones.
///
/// What to do is decided from what the nodes say (`decide`: data in, steps out, unit tested); `form`
/// asks them and carries the steps out until the cluster is ready or the deadline passes.
package enum ClusterForming {
  /// One line of `CLUSTER NODES`, as a node sees one of the cluster's nodes.
  package struct Entry: Sendable, Equatable {
    package var id: String
    /// The address the node is known at (`ip` of `ip:port@bus`); nil when it has none yet.
    package var host: String? = nil
    package var port: Int?
    package var flags: Set<String>
    /// For a replica: the id of its primary.
    package var primaryID: String?
    package var slots: [ClosedRange<Int>]

    package var isPrimary: Bool { flags.contains("master") }
    package var isReplica: Bool { flags.contains("slave") }
    /// Still being met, or without an address: not yet a member as far as this node knows.
    package var isPending: Bool { flags.contains("handshake") || flags.contains("noaddr") }
    package var slotCount: Int { slots.reduce(0) { $0 + $1.count } }

    package init(id: String, port: Int?, flags: Set<String>, primaryID: String?, slots: [ClosedRange<Int>]) {
      self.id = id
      self.port = port
      self.flags = flags
      self.primaryID = primaryID
      self.slots = slots
    }
  }

  /// What one node says: its id, `cluster_state`, the nodes it knows, and (a replica) its link.
  package struct NodeView: Sendable, Equatable {
    package var id: String
    package var stateOK: Bool
    package var entries: [Entry]
    /// `master_link_status:up` in `INFO replication` (nil: not asked, it is no replica).
    package var linkUp: Bool?
    /// Where a replica copies from and for how long its link has been down, as `INFO replication` says
    /// (`master_host:master_port`, `master_link_down_since_seconds`), for the reason of a wait.
    package var link: String?

    package init(id: String, stateOK: Bool, entries: [Entry], linkUp: Bool? = nil) {
      self.id = id
      self.stateOK = stateOK
      self.entries = entries
      self.linkUp = linkUp
    }

    package var myself: Entry? { entries.first { $0.flags.contains("myself") } }
  }

  package enum Action: Sendable, Equatable {
    /// Node `node` meets node `other` (at the address the nodes reach it at, and its port).
    case meet(node: Int, other: Int)
    /// Node `node` takes the slots.
    case addSlots(node: Int, slots: ClosedRange<Int>)
    /// Node `node` becomes a replica of the node with that id.
    case replicate(node: Int, primaryID: String)
  }

  package enum Decision: Sendable, Equatable {
    case ready(summary: String)
    /// Carry these out, then ask again.
    case act([Action])
    /// Nothing to do but wait (gossip spreads, a replica copies its primary).
    case wait(String)
    /// Waiting will not help.
    case failed(String)
  }

  /// The next steps for a cluster laid out as `layout`, whose nodes listen on `ports` at `hosts` (the
  /// addresses they reach each other at; in `layout.nodes` order) and said `views` (same order).
  package static func decide(_ layout: ClusterPlan, ports: [Int], hosts: [String]? = nil, views: [NodeView])
    -> Decision
  {
    let count = layout.nodes.count
    let hosts = hosts ?? Array(repeating: Planner.host, count: count)
    guard ports.count == count, views.count == count, hosts.count == count else {
      return .failed("apphost has \(ports.count) ports and \(views.count) answers for \(count) nodes")
    }
    // 1. Everyone knows everyone, each at the port it listens on now.
    var meets: [Action] = []
    var pending: [String] = []
    for (index, view) in views.enumerated() {
      for (other, otherView) in views.enumerated() where other != index {
        guard let entry = view.entries.first(where: { $0.id == otherView.id }) else {
          // Being met already (a handshake entry has an id of its own until it is done): wait. Else node 0
          // introduces every node, and a node that node 0 knows but that lacks node 0 (its state forgot it)
          // meets it; the rest spreads by gossip.
          let meeting = view.entries.contains { $0.isPending && $0.port == ports[other] }
          let knownByFirst = views[0].entries.contains { $0.id == view.id && !$0.isPending }
          if !meeting && (index == 0 || (other == 0 && knownByFirst)) {
            meets.append(.meet(node: index, other: other))
          }
          pending.append(layout.nodes[index])
          continue
        }
        if (entry.port != ports[other] || (entry.host != nil && entry.host != hosts[other])) && !entry.isPending {
          // A node that came back at another address (a new container) or port: met at the new one (the
          // cluster updates the address of a node it knows by id).
          meets.append(.meet(node: index, other: other))
        }
        if entry.isPending { pending.append(layout.nodes[index]) }
      }
    }
    if !meets.isEmpty { return .act(unique(meets)) }
    if !pending.isEmpty {
      return .wait("\(Set(pending).sorted().joined(separator: ", ")) still meeting the other nodes")
    }

    // 2. Every slot has a primary: a new cluster's primaries take equal runs. What each node serves is
    // what it says of itself (the others hear of it by gossip, a moment later).
    let owners = views.compactMap(\.myself).filter { $0.isPrimary && !$0.slots.isEmpty }
    let assigned = owners.reduce(0) { $0 + $1.slotCount }
    if assigned == 0 {
      return .act(
        (0..<layout.shards).map { .addSlots(node: $0, slots: layout.slotRange(shard: $0)) })
    }
    if assigned > ClusterPlan.slots {
      return .wait("two nodes claim the same slots (a failover settling)")
    }
    if assigned < ClusterPlan.slots {
      // A node that served slots is gone (a smaller "cluster"), or the nodes kept different states (one
      // node's data removed by hand): apphost neither reshards nor guesses whose data is the right one.
      return .failed(
        "only \(assigned) of the \(ClusterPlan.slots) hash slots have a node: a node that served the others is "
          + "gone or kept a different cluster state (a changed \"cluster\" size, or one node's data removed); "
          + "apphost does not move slots between nodes: put \"cluster\" back as it was, or `apphost down -v "
          + "\(layout.resource)` to remove the cluster's data and form it anew on the next `up`")
    }

    // 3. Every node without slots replicates the primary that now serves its shard.
    func owner(ofShard shard: Int) -> Entry? {
      let slot = layout.slotRange(shard: shard).lowerBound
      return owners.first { $0.slots.contains { $0.contains(slot) } }
    }
    var replicates: [Action] = []
    for (index, nodeView) in views.enumerated() {
      guard let myself = nodeView.myself, myself.isPrimary, myself.slots.isEmpty else { continue }
      let shard = layout.primaryIndex(ofNode: index) ?? index
      guard let primary = owner(ofShard: shard) else {
        return .failed("no node serves the slots of shard \(shard + 1) (\(layout.slotRange(shard: shard)))")
      }
      replicates.append(.replicate(node: index, primaryID: primary.id))
    }
    if !replicates.isEmpty { return .act(replicates) }

    // 4. Ready: every node says the cluster is ok, and every replica has its copy.
    let notOK = views.enumerated().filter { !$0.element.stateOK }.map { layout.nodes[$0.offset] }
    if !notOK.isEmpty { return .wait("\(notOK.joined(separator: ", ")) not yet cluster_state:ok") }
    let unheard = views.enumerated().filter { _, view in
      view.entries.filter { $0.isPrimary }.reduce(0) { $0 + $1.slotCount } != ClusterPlan.slots
    }.map { layout.nodes[$0.offset] }
    if !unheard.isEmpty { return .wait("\(unheard.joined(separator: ", ")) not yet told who serves every slot") }
    let copying = views.enumerated().filter { $0.element.linkUp == false }.map {
      (layout.nodes[$0.offset], $0.element.link)
    }
    if !copying.isEmpty {
      let links = copying.compactMap { node, link in link.map { copying.count == 1 ? $0 : "\(node) \($0)" } }
      return .wait(
        "\(copying.map(\.0).joined(separator: ", ")) still copying from its primary"
          + (links.isEmpty ? "" : " (\(links.joined(separator: "; ")))"))
    }
    let replicas = views.filter { $0.myself?.isReplica == true }.count
    return .ready(
      summary: "cluster_state:ok, \(owners.count) primar\(owners.count == 1 ? "y" : "ies") serving "
        + "\(ClusterPlan.slots) slots, \(replicas) replica\(replicas == 1 ? "" : "s")")
  }

  private static func unique(_ actions: [Action]) -> [Action] {
    var seen: [Action] = []
    for action in actions where !seen.contains(action) { seen.append(action) }
    return seen
  }

  /// Parses `CLUSTER NODES`: `<id> <ip:port@cport[,hostname]> <flags> <primary> <ping> <pong> <epoch>
  /// <link> <slot>...`, where a slot is `N` or `A-B` (`[N->-id]` marks a slot moving, left out).
  package static func parseNodes(_ text: String) -> [Entry] {
    text.split(whereSeparator: \.isNewline).compactMap { line in
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 8 else { return nil }
      let address = fields[1].split(separator: "@").first ?? ""
      let port = address.split(separator: ":").last.flatMap { Int($0) }
      let host = address.lastIndex(of: ":").map { String(address[..<$0]) }.flatMap { $0.isEmpty ? nil : $0 }
      let flags = Set(fields[2].split(separator: ",").map(String.init))
      let primary = fields[3] == "-" ? nil : String(fields[3])
      let slots = fields.dropFirst(8).compactMap { slot -> ClosedRange<Int>? in
        guard !slot.hasPrefix("[") else { return nil }
        let bounds = slot.split(separator: "-").compactMap { Int($0) }
        switch bounds.count {
        case 1: return bounds[0]...bounds[0]
        case 2 where bounds[0] <= bounds[1]: return bounds[0]...bounds[1]
        default: return nil
        }
      }
      var entry = Entry(
        id: String(fields[0]), port: port == 0 ? nil : port, flags: flags, primaryID: primary, slots: slots)
      entry.host = host
      return entry
    }
  }

  /// Forms the cluster and waits until it is ready, asking every `interval`. apphost reaches node i at
  /// 127.0.0.1:`ports[i]`; the nodes reach each other at `hosts[i]` (127.0.0.1 natively, the container's
  /// address on the project network otherwise) and the same port. Returns the summary of a ready cluster;
  /// throws why it is not when the deadline passes or waiting cannot help.
  package static func form(
    _ layout: ClusterPlan, ports: [Int], hosts: [String], password: String?, tls: TLSClient?,
    deadline: ContinuousClock.Instant,
    interval: Duration = .milliseconds(100), progress: @Sendable (String) -> Void = { _ in }
  ) async throws -> String {
    var last = "not asked yet"
    while ContinuousClock.now < deadline {
      try Task.checkCancellation()
      let views: [NodeView]
      do {
        views = try await Blocking.run { () throws(FormingFailure) -> [NodeView] in
          try ports.enumerated().map { index, port throws(FormingFailure) in
            try view(of: layout.nodes[index], port: port, password: password, tls: tls)
          }
        }
      } catch {
        last = error.reason
        try await Task.sleep(for: interval)
        continue
      }
      switch decide(layout, ports: ports, hosts: hosts, views: views) {
      case .ready(let summary): return summary
      case .failed(let reason): throw FormingFailure(reason: reason)
      case .wait(let reason): last = reason
      case .act(let actions):
        last = "carrying out \(actions.count) step\(actions.count == 1 ? "" : "s")"
        try await Blocking.run { () throws(FormingFailure) in
          for action in actions {
            try carryOut(action, layout: layout, ports: ports, hosts: hosts, password: password, tls: tls)
          }
        }
        let names = Dictionary(
          views.enumerated().map { ($1.id, layout.nodes[$0]) }, uniquingKeysWith: { first, _ in first })
        for action in actions { progress(describe(action, layout: layout, names: names)) }
      }
      try await Task.sleep(for: interval)
    }
    throw FormingFailure(reason: "the cluster was not ready in time (last: \(last))")
  }

  package struct FormingFailure: Error, Equatable {
    package var reason: String
  }

  /// A step as `up` says it; `names` are the nodes' ids.
  static func describe(_ action: Action, layout: ClusterPlan, names: [String: String]) -> String {
    switch action {
    case .meet(let node, let other):
      return "\(layout.nodes[node]) meets \(layout.nodes[other])"
    case .addSlots(let node, let slots):
      return "\(layout.nodes[node]) serves slots \(slots.lowerBound)-\(slots.upperBound)"
    case .replicate(let node, let primaryID):
      return "\(layout.nodes[node]) replicates \(names[primaryID] ?? "the node \(primaryID.prefix(8))")"
    }
  }

  private static func connect(_ node: String, port: Int, password: String?, tls: TLSClient?)
    throws(FormingFailure) -> Connection
  {
    try onNode(node, port: port) {
      let connection = try Connection.open(port: port, timeout: .seconds(2), tls: tls)
      if let message = try connection.authenticate(password: password, timeout: .seconds(2)) {
        connection.close()
        throw FormingFailure(reason: "\(node) refused the password: \(message)")
      }
      return connection
    }
  }

  /// `body`, a failure to reach the node said as the node's (its own failures as they are).
  private static func onNode<T>(_ node: String, port: Int, _ body: () throws -> T) throws(FormingFailure) -> T {
    do {
      return try body()
    } catch let failure as FormingFailure {
      throw failure
    } catch {
      throw FormingFailure(reason: "\(node) (127.0.0.1:\(port)): \(error)")
    }
  }

  private static func text(_ reply: RESPValue, node: String, command: String) throws(FormingFailure) -> String {
    switch reply {
    case .bulk(let bytes?): return String(decoding: bytes, as: UTF8.self)
    case .verbatim(let text), .simple(let text): return text
    case .error(let message): throw FormingFailure(reason: "\(node): \(command) answered \(message)")
    default: throw FormingFailure(reason: "\(node): \(command) answered \(RESP.render(reply))")
    }
  }

  private static func view(of node: String, port: Int, password: String?, tls: TLSClient?)
    throws(FormingFailure) -> NodeView
  {
    let connection = try connect(node, port: port, password: password, tls: tls)
    defer { connection.close() }
    return try onNode(node, port: port) {
      let info = RESP.infoFields(
        try text(connection.call(["CLUSTER", "INFO"], timeout: .seconds(2)), node: node, command: "CLUSTER INFO"))
      let nodes = parseNodes(
        try text(connection.call(["CLUSTER", "NODES"], timeout: .seconds(2)), node: node, command: "CLUSTER NODES"))
      guard let myself = nodes.first(where: { $0.flags.contains("myself") }) else {
        throw FormingFailure(reason: "\(node): CLUSTER NODES does not list the node itself")
      }
      var view = NodeView(id: myself.id, stateOK: info["cluster_state"] == "ok", entries: nodes)
      if myself.isReplica {
        let replication = RESP.infoFields(
          try text(connection.call(["INFO", "replication"], timeout: .seconds(2)), node: node, command: "INFO"))
        view.linkUp = replication["master_link_status"] == "up"
        if let host = replication["master_host"], let primaryPort = replication["master_port"] {
          let down = replication["master_link_down_since_seconds"].map { ", link down for \($0) s" } ?? ""
          view.link = "at \(host):\(primaryPort)\(down)"
        }
      }
      return view
    }
  }

  private static func carryOut(
    _ action: Action, layout: ClusterPlan, ports: [Int], hosts: [String], password: String?, tls: TLSClient?
  ) throws(FormingFailure) {
    let index: Int
    let words: [String]
    switch action {
    case .meet(let node, let other):
      index = node
      words = ["CLUSTER", "MEET", hosts[other], "\(ports[other])"]
    case .addSlots(let node, let slots):
      index = node
      words = ["CLUSTER", "ADDSLOTSRANGE", "\(slots.lowerBound)", "\(slots.upperBound)"]
    case .replicate(let node, let primaryID):
      index = node
      words = ["CLUSTER", "REPLICATE", primaryID]
    }
    let node = layout.nodes[index]
    let connection = try connect(node, port: ports[index], password: password, tls: tls)
    defer { connection.close() }
    try onNode(node, port: ports[index]) {
      var reply = try connection.call(words, timeout: .seconds(5))
      if case .error(let message) = reply, message.lowercased().contains("unknown subcommand"),
        case .addSlots(_, let slots) = action
      {
        // Before Redis 7.0: every slot by number.
        reply = try connection.call(["CLUSTER", "ADDSLOTS"] + slots.map(String.init), timeout: .seconds(5))
      }
      if case .error(let message) = reply, case .meet = action {
        // A meeting already under way (asked again before it showed): looked at again next round.
        Log.debug("\(node): CLUSTER MEET answered \(message)")
      } else if case .error(let message) = reply {
        throw FormingFailure(reason: "\(node): \(words.prefix(2).joined(separator: " ")) answered \(message)")
      }
    }
  }
}
