import Foundation

/// The control socket's conversation: a running `apphost up` (foreground, or the background supervisor
/// of `up -d`) listens on `.apphost/control.sock` (mode 0600; peers of another uid are refused). A
/// client writes one request a line, a JSON object, and reads one reply a line:
///
///     → {"command":"list"}
///     ← {"ok":true,"resources":[{"name":"api","resource":"api","kind":"program","state":"running",...}]}
///     → {"command":"restart","names":["web-1"]}
///     ← {"ok":true,"affected":["web-1"]}
///     → {"command":"env","name":"api"}
///     ← {"ok":true,"environment":{"REDIS_URL":"redis://...", ...}}
///     → {"command":"subscribe"}
///     ← {"ok":true}
///     ← {"event":{"time":"2026-12-02T10:00:00.000Z","type":"exited","resource":"api","process":"api","exitCode":3}}
///     ...                                  (one `event` line per state change until the client hangs up)
///
/// A failed request answers `{"ok":false,"error":"why"}`. Several requests may follow each other on one
/// connection (a `subscribe` ends the requests: the connection then carries events only). Field names
/// are stable: the web dashboard, the MCP server and `apphost` itself are clients.
package enum ControlCommand: String, Codable, Sendable, CaseIterable {
  /// Every resource with its state (`ControlReply.resources`).
  case list
  /// `names`: resources (every replica of a program) or single replicas (`web-1`).
  case restart, stop, start
  /// `names`: stop and forget the resources for this session (containers are removed, programs stopped).
  case down
  /// `name`: the environment the program (or a replica) runs with (`ControlReply.environment`).
  case env
  /// From now on, every state change as an `event` line.
  case subscribe
  /// Reads the manifest again and applies its changes to the session (a second `apphost up`): new
  /// resources are added, changed containers recreated (volumes stay), changed programs (and those that
  /// need a recreated container) restarted with their new plan, removed ones stopped and removed;
  /// `changes`: each as name, kind (`added`, `recreated`, `restarted`, `removed`, `failed`) and reason;
  /// `affected`: the names of those done.
  ///
  ///     → {"command":"apply"}
  ///     ← {"ok":true,"affected":["cache","web"],"changes":[{"kind":"recreated","name":"cache",
  ///        "reason":"its password changed"},{"kind":"restarted","name":"web","reason":"cache was recreated"}]}
  case apply
}

/// A request: one JSON object on one line.
package struct ControlRequest: Codable, Sendable, Equatable {
  package var command: ControlCommand
  /// For `restart`, `stop`, `start`, `down`.
  package var names: [String]?
  /// For `env`.
  package var name: String?

  package init(command: ControlCommand, names: [String]? = nil, name: String? = nil) {
    self.command = command
    self.names = names
    self.name = name
  }
}

/// A reply: one JSON object on one line (or, after `subscribe`, an `event` line).
package struct ControlReply: Codable, Sendable, Equatable {
  package var ok: Bool?
  package var error: String?
  package var resources: [ControlResource]?
  /// The processes or containers a `restart`/`stop`/`start`/`down` acted on.
  package var affected: [String]?
  package var environment: [String: String]?
  package var event: ControlEvent?
  /// What an `apply` changed, in the order it was done.
  package var changes: [ControlChange]?

  package init(
    ok: Bool? = true, error: String? = nil, resources: [ControlResource]? = nil, affected: [String]? = nil,
    environment: [String: String]? = nil, event: ControlEvent? = nil, changes: [ControlChange]? = nil
  ) {
    self.ok = ok
    self.error = error
    self.resources = resources
    self.affected = affected
    self.environment = environment
    self.event = event
    self.changes = changes
  }

  package static func failure(_ reason: String) -> ControlReply { ControlReply(ok: false, error: reason) }
}

/// A resource (a container or native server, or one process of a program) as the running `up` sees it.
package struct ControlResource: Codable, Sendable, Equatable {
  /// `cache`, `api`, or `web-0`, `web-1` for the replicas of a program.
  package var name: String
  /// The manifest's resource (`web` for `web-1`).
  package var resource: String
  /// The replica's number, for programs.
  package var replica: Int?
  /// `container` (also a native server) or `program`.
  package var kind: String
  /// The manifest's type: `redis`, `redisinsight`, `executable`, ...
  package var type: String
  /// `starting`, `ready`, `running`, `restarting`, `exited`, `stopped`, `removed`.
  package var state: String
  /// Whether it is ready: a container (or native server) answered its health check; a program started.
  package var ready: Bool
  package var pid: Int32?
  /// Restarts by its restart policy.
  package var restarts: Int?
  package var exitCode: Int32?
  /// `127.0.0.1:PORT` (caches) or `http://127.0.0.1:PORT` (UIs).
  package var endpoint: String?
  /// Why it is not ready, when it is not.
  package var reason: String?

  package init(name: String, resource: String, kind: String, type: String, state: String, ready: Bool) {
    self.name = name
    self.resource = resource
    self.kind = kind
    self.type = type
    self.state = state
    self.ready = ready
  }
}

/// A state change: one JSON object a line in `apphost events` and `apphost up --json`. Field names are
/// stable (documented in the README).
package struct ControlEvent: Codable, Sendable, Equatable {
  /// The kinds of change.
  package enum Kind: String, Codable, Sendable, CaseIterable {
    case starting, ready, exited, restarting, stopped
  }

  /// ISO 8601 with milliseconds, UTC.
  package var time: String
  package var type: Kind
  /// The manifest's resource.
  package var resource: String
  /// `api`, `web-1`, `cache`: the process (the resource itself for containers).
  package var process: String
  /// The replica's number, for programs.
  package var replica: Int?
  package var pid: Int32?
  /// For `exited` (and `stopped` when known): the exit code; 128 + N after signal N.
  package var exitCode: Int32?
  /// For `restarting`: the how-manieth restart this is (1, 2, ...), and the pause before it.
  package var attempt: Int?
  package var delaySeconds: Double?
  /// For `ready`: where it answers.
  package var endpoint: String?
  /// A few words on why, when there is something to say (a crash of a container, a failed check).
  package var reason: String?

  package init(type: Kind, resource: String, process: String, time: Date = Date()) {
    self.time = ControlEvent.timestamp(time)
    self.type = type
    self.resource = resource
    self.process = process
  }

  package static func timestamp(_ date: Date) -> String {
    Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
  }
}

extension ControlEvent.Kind {
  /// Whether a resource in this state counts as ready.
  package var isReady: Bool { self == .ready }
}

/// One line of the conversation: compact JSON, keys sorted, no newline inside.
package enum ControlCoding {
  package static func line<T: Encodable>(_ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var bytes = (try? encoder.encode(value)).map { [UInt8]($0) } ?? Array("{}".utf8)
    bytes.append(UInt8(ascii: "\n"))
    return bytes
  }

  package static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws(AppHostError) -> T {
    do {
      return try JSONDecoder().decode(type, from: Data(line))
    } catch {
      throw .controlFailed(
        reason: "not a valid control message (\(String(decoding: line.prefix(200), as: UTF8.self))): \(error)")
    }
  }
}
