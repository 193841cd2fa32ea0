import Foundation

/// Is a resource ready? A cache when `PING` (after `AUTH`) answers `+PONG` — a bare TCP connect is not
/// enough, since the engines' port proxies accept before the server listens; a UI when its health URL
/// answers 200.
package enum Probe {
  package enum Outcome: Sendable, Equatable {
    case ready
    case notReady(String)
    /// Will not get better by waiting (a refused password).
    case failed(String)
  }

  package static let connectTimeout: Duration = .milliseconds(250)
  package static let replyTimeout: Duration = .seconds(2)

  /// Why a check failed when its connect got no answer at all: neither accepted nor refused. A server
  /// that is still starting refuses (its container's kernel answers); silence means the packets go
  /// nowhere, such as an engine's forwarding rule for the port that leads to a container that is gone.
  package static let unansweredReason = "nothing answers on the port (the connect timed out)"

  /// A port whose every connect went unanswered from the first check on, for `after`: waiting longer
  /// does not help, a container with another port may.
  package struct Unreachable: Error, Equatable {
    package var port: Int
    package var after: Duration
  }

  package static func check(_ health: HealthCheck, port: Int) async -> Outcome {
    switch health {
    case .resp(let password, let tls): await resp(port: port, password: password?.revealed(), tls: tls)
    case .http(let path): await http(port: port, path: path)
    case .replica(let password, let tls): await replica(port: port, password: password?.revealed(), tls: tls)
    case .clusterNode(let password, let tls): await clusterNode(port: port, password: password?.revealed(), tls: tls)
    case .sentinel(let password, let tls, let master, let replicas, let sentinels):
      await sentinel(
        port: port, password: password?.revealed(), tls: tls, master: master, replicas: replicas, sentinels: sentinels)
    }
  }

  /// A sentinel is ready when `SENTINEL MASTER name` says it watches the primary, sees its `replicas` and the
  /// `sentinels - 1` others: from then on, a primary that stops is replaced.
  package static func sentinel(
    port: Int, password: String?, tls: TLSClient? = nil, master: String, replicas: Int, sentinels: Int
  ) async -> Outcome {
    await answeringThen(["SENTINEL", "MASTER", master], port: port, password: password, tls: tls) { reply in
      guard let fields = RESP.fieldPairs(reply) else {
        return .notReady("SENTINEL MASTER \(master) answered \(RESP.render(reply))")
      }
      return sentinelOutcome(fields, replicas: replicas, sentinels: sentinels)
    }
  }

  /// What `SENTINEL MASTER` (its fields) says about a sentinel's readiness.
  package static func sentinelOutcome(_ fields: [String: String], replicas: Int, sentinels: Int) -> Outcome {
    let flags = (fields["flags"] ?? "").split(separator: ",")
    guard flags.contains("master"), !flags.contains("s_down"), !flags.contains("o_down") else {
      return .notReady("it sees the primary as \(fields["flags"] ?? "?")")
    }
    let seenReplicas = Int(fields["num-slaves"] ?? "") ?? 0
    if seenReplicas < replicas {
      return .notReady("it sees \(seenReplicas) of the \(replicas) replicas")
    }
    let others = Int(fields["num-other-sentinels"] ?? "") ?? 0
    if others < sentinels - 1 {
      return .notReady("it knows \(others) of the \(sentinels - 1) other sentinels")
    }
    return .ready
  }

  /// A cluster node is healthy when it answers `PING` and says `cluster_state:ok` (it serves its slots, and
  /// the cluster serves all of them).
  package static func clusterNode(port: Int, password: String?, tls: TLSClient? = nil) async -> Outcome {
    await answeringThen(["CLUSTER", "INFO"], port: port, password: password, tls: tls) { text in
      let state = RESP.infoFields(text)["cluster_state"] ?? "?"
      return state == "ok" ? .ready : .notReady("CLUSTER INFO says cluster_state:\(state)")
    }
  }

  /// When the server answers `PING` (after `AUTH`): what `judge` makes of its text reply to `command`.
  private static func answeringThen(
    _ command: [String], port: Int, password: String?, tls: TLSClient?,
    judge: @escaping @Sendable (String) -> Outcome
  ) async -> Outcome {
    await answeringThen(command, port: port, password: password, tls: tls) { (reply: RESPValue) -> Outcome in
      switch reply {
      case .bulk(let bytes?): return judge(String(decoding: bytes, as: UTF8.self))
      case .verbatim(let text): return judge(text)
      default: return .notReady("\(command.joined(separator: " ")) answered \(RESP.render(reply))")
      }
    }
  }

  /// When the server answers `PING` (after `AUTH`): what `judge` makes of its reply to `command` (an error
  /// reply is not ready, for the reason it gives).
  private static func answeringThen(
    _ command: [String], port: Int, password: String?, tls: TLSClient?,
    judge: @escaping @Sendable (RESPValue) -> Outcome
  ) async -> Outcome {
    let answered = await resp(port: port, password: password, tls: tls)
    guard answered == .ready else { return answered }
    return await Blocking.run { () -> Outcome in
      do throws(Connection.Failure) {
        let connection = try open(port: port, tls: tls)
        defer { connection.close() }
        if let message = try connection.authenticate(password: password, timeout: replyTimeout) {
          return .notReady("AUTH answered \(message)")
        }
        let reply = try connection.call(command, timeout: replyTimeout)
        if case .error(let message) = reply { return .notReady(transientReason(message) ?? message) }
        return judge(reply)
      } catch {
        return .notReady(error.description)
      }
    }
  }

  /// One command's reply (after `AUTH`), nil when the server does not answer.
  package static func command(
    _ words: [String], port: Int, password: String?, tls: TLSClient? = nil, timeout: Duration = replyTimeout
  ) async -> RESPValue? {
    await Blocking.run { () -> RESPValue? in
      do throws(Connection.Failure) {
        let connection = try open(port: port, tls: tls)
        defer { connection.close() }
        if try connection.authenticate(password: password, timeout: timeout) != nil { return nil }
        return try connection.call(words, timeout: timeout)
      } catch {
        return nil
      }
    }
  }

  /// What a server says it is now (`ROLE`): `primary` or `replica`; nil when it does not answer. A cluster's
  /// roles change when a replica takes over from a primary that stopped.
  /// `timeout`: how long a reply may take (a replica whose primary is gone can block for seconds while it
  /// looks the primary's name up).
  package static func role(port: Int, password: String?, tls: TLSClient? = nil, timeout: Duration = replyTimeout)
    async -> String?
  {
    guard case .array(let parts?) = await command(["ROLE"], port: port, password: password, tls: tls, timeout: timeout)
    else { return nil }
    switch parts.first?.text {
    case "master": return "primary"
    case "slave": return "replica"
    case "sentinel": return "sentinel"
    default: return nil
    }
  }

  /// A read replica is ready when it answers `PING` and `INFO replication` says its link to the primary
  /// is up (it has its copy of the dataset).
  package static func replica(port: Int, password: String?, tls: TLSClient? = nil) async -> Outcome {
    await answeringThen(["INFO", "replication"], port: port, password: password, tls: tls, judge: replicationOutcome)
  }

  /// What `INFO replication` of a replica says about its readiness.
  package static func replicationOutcome(_ info: String) -> Outcome {
    let fields = RESP.infoFields(info)
    guard fields["role"] == "slave" else {
      return .failed("it is not a replica (INFO replication says role:\(fields["role"] ?? "?"))")
    }
    guard fields["master_link_status"] == "up" else {
      let status = fields["master_link_status"] ?? "?"
      let sync = fields["master_sync_in_progress"] == "1" ? ", copying the dataset" : ""
      return .notReady(
        "its link to the primary \(fields["master_host"] ?? "?"):\(fields["master_port"] ?? "?") is \(status)\(sync)")
    }
    return .ready
  }

  package static func resp(port: Int, password: String?, tls: TLSClient? = nil) async -> Outcome {
    await Blocking.run { () -> Outcome in
      do throws(Connection.Failure) {
        let connection = try open(port: port, tls: tls)
        defer { connection.close() }
        // AUTH and PING in one write: one round trip.
        var request: [UInt8] = []
        if let password { request += RESP.encode(["AUTH", password]) }
        request += RESP.encode(["PING"])
        try connection.send(request, timeout: replyTimeout)
        if password != nil {
          guard let auth = try connection.readValue(timeout: replyTimeout) else {
            return .notReady("no answer to AUTH")
          }
          if case .error(let message) = auth {
            if let reason = transientReason(message) { return .notReady(reason) }
            return .failed("the server refused the password: \(message)")
          }
        }
        guard let pong = try connection.readValue(timeout: replyTimeout) else { return .notReady("no answer to PING") }
        switch pong {
        case .simple("PONG"): return .ready
        case .error(let message) where message.hasPrefix("NOAUTH"):
          return .failed("the server wants a password, and apphost has none for it: \(message)")
        case .error(let message): return .notReady(transientReason(message) ?? message)
        default: return .notReady("PING answered \(RESP.render(pong))")
        }
      } catch {
        return .notReady(error.description)
      }
    }
  }

  /// The errors of a server that will answer once it is done with something: loading its dataset
  /// (`-LOADING`), running a long script or function (`-BUSY`), or a replica whose master is unreachable
  /// while `replica-serve-stale-data` is off (`-MASTERDOWN`). Waited for, whatever command they answer;
  /// nil for any other error.
  package static func transientReason(_ message: String) -> String? {
    let code = message.prefix { $0 != " " }
    switch code {
    case "LOADING": return "still loading its dataset (\(message))"
    case "BUSY": return "busy running a script or function (\(message))"
    case "MASTERDOWN": return "a replica without its master yet (\(message))"
    default: return nil
    }
  }

  /// Connects, telling a connect that got no answer (`unansweredReason`) from the other failures.
  private static func open(port: Int, tls: TLSClient? = nil) throws(Connection.Failure) -> Connection {
    do {
      // A handshake takes a round trip or two more than a connect.
      return try Connection.open(port: port, timeout: tls == nil ? connectTimeout : replyTimeout, tls: tls)
    } catch .timedOut {
      throw .system(unansweredReason)
    }
  }

  package static func http(port: Int, path: String) async -> Outcome {
    await Blocking.run { () -> Outcome in
      do throws(Connection.Failure) {
        let connection = try open(port: port)
        defer { connection.close() }
        let request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
        try connection.send(Array(request.utf8), timeout: replyTimeout)
        let status = try connection.readHTTPStatus(timeout: replyTimeout)
        return status == 200 ? .ready : .notReady("GET \(path) answered \(status)")
      } catch {
        return .notReady(error.description)
      }
    }
  }

  /// Asks a cache to write its data to disk now (`SAVE`; a checkpoint for Garnet). Returns nil on
  /// success, else why it did not.
  package static func save(port: Int, password: String?, tls: TLSClient? = nil, timeout: Duration = .seconds(120))
    async -> String?
  {
    await Blocking.run { () -> String? in
      let deadline = ContinuousClock.now + timeout
      do throws(Connection.Failure) {
        let connection = try Connection.open(port: port, timeout: .seconds(tls == nil ? 1 : 3), tls: tls)
        defer { connection.close() }
        if let message = try connection.authenticate(password: password, timeout: replyTimeout) {
          return "AUTH failed: \(message)"
        }
        while true {
          let reply = try connection.call(["SAVE"], timeout: deadline - .now)
          switch reply {
          case .simple("OK"): return nil
          case .error(let message) where message.contains("in progress") && ContinuousClock.now < deadline:
            // A background save is running; SAVE again once it is done.
            Thread.sleep(forTimeInterval: 0.1)
          case .error(let message): return message
          default: return "SAVE answered \(RESP.render(reply))"
          }
        }
      } catch {
        return error.description
      }
    }
  }

  /// Polls until `check` answers, every `interval` (every 2 ms in the first 50 ms: a native server answers
  /// about 10 ms after it starts, and polled every 10 ms it was seen up to 10 ms late), until `deadline`.
  /// `stillRunning` is asked from time to time and stops the wait early with its answer when the container
  /// has died. With `unreachableAfter`, a port that has left every connect unanswered for that long, from
  /// the first check on, throws `Unreachable`.
  package static func waitUntilReady(
    _ health: HealthCheck, port: Int, deadline: ContinuousClock.Instant, interval: Duration = .milliseconds(10),
    unreachableAfter: Duration? = nil, stillRunning: @Sendable () async -> String? = { nil }
  ) async throws -> Outcome {
    var last = Outcome.notReady("not checked yet")
    let began = ContinuousClock.now
    var unanswered = true
    // Asking the engine costs it time while it starts the other containers: not in the first 1.5 s.
    var nextLivenessCheck = ContinuousClock.now + .milliseconds(1500)
    while ContinuousClock.now < deadline {
      try Task.checkCancellation()
      last = await check(health, port: port)
      switch last {
      case .ready, .failed: return last
      case .notReady: break
      }
      unanswered = unanswered && last == .notReady(unansweredReason)
      if unanswered, let unreachableAfter, ContinuousClock.now - began >= unreachableAfter {
        throw Unreachable(port: port, after: unreachableAfter)
      }
      if ContinuousClock.now >= nextLivenessCheck {
        if let death = await stillRunning() { return .failed(death) }
        nextLivenessCheck = .now + .seconds(1)
      }
      try await Task.sleep(
        for: ContinuousClock.now - began < .milliseconds(50) ? min(interval, .milliseconds(2)) : interval)
    }
    if last == .notReady("not checked yet") {
      return .notReady("not ready in time: the time allowed ran out before its first check")
    }
    if case .notReady(let reason) = last { return .notReady("not ready in time (last check: \(reason))") }
    return last
  }
}
