import Foundation
import Subprocess

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

/// What a copy of a program has written lately: whether a line matched its `{"log": "REGEX"}` readiness,
/// and the last lines (shown when it fails before it is ready). Fed from the output callback.
package final class LogWatch: @unchecked Sendable {
  private let lock = NSLock()
  private let pattern: String?
  private var matched = false
  private var lastLines: [String] = []
  package static let tailLength = 10

  package init(pattern: String?) {
    self.pattern = pattern
  }

  package convenience init(_ readiness: ProgramReadiness) {
    if case .log(let pattern) = readiness {
      self.init(pattern: pattern)
    } else {
      self.init(pattern: nil)
    }
  }

  package func feed(_ lines: [String]) {
    lock.lock()
    defer { lock.unlock() }
    lastLines = Array((lastLines + lines).suffix(Self.tailLength))
    guard let pattern, !matched, let regex = try? Regex(pattern) else { return }
    matched = lines.contains { $0.contains(regex) }
  }

  package var tail: [String] {
    lock.lock()
    defer { lock.unlock() }
    return lastLines
  }

  package var hasMatched: Bool {
    lock.lock()
    defer { lock.unlock() }
    return matched
  }

  /// A new run of the process: the old output does not count.
  package func reset() {
    lock.lock()
    matched = false
    lock.unlock()
  }
}

/// Is one copy of a program ready? By its `readiness`: an HTTP path answering 2xx or 3xx, a TCP connection
/// accepted, a log line, a command exiting with 0 — or at once (`started`).
package enum ProgramProbe {
  package enum Result: Sendable, Equatable {
    case ready
    /// The process ended before it was ready.
    case ended
    /// Not ready by the deadline; the last reason.
    case timedOut(String)
  }

  package static let interval: Duration = .milliseconds(100)

  /// One check now: nil when ready, else why not.
  package static func check(_ spec: ProcessSpec, log: LogWatch) async -> String? {
    switch spec.readiness {
    case .started:
      return nil
    case .log(let pattern):
      return log.hasMatched ? nil : "no line of its output matched /\(pattern)/ yet"
    case .tcp(let endpoint):
      guard let port = spec.port(of: endpoint) else { return "it has no endpoint \(endpoint)" }
      return await Blocking.run { () -> String? in
        do throws(Connection.Failure) {
          let connection = try Connection.open(port: port, timeout: Probe.connectTimeout)
          connection.close()
          return nil
        } catch {
          return "127.0.0.1:\(port): \(error.description)"
        }
      }
    case .http(let path, let endpoint):
      guard let port = spec.port(of: endpoint) else { return "it has no endpoint \(endpoint)" }
      return await Blocking.run { () -> String? in
        do throws(Connection.Failure) {
          let connection = try Connection.open(port: port, timeout: Probe.connectTimeout)
          defer { connection.close() }
          let request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
          try connection.send(Array(request.utf8), timeout: Probe.replyTimeout)
          let status = try connection.readHTTPStatus(timeout: Probe.replyTimeout)
          return (200..<400).contains(status) ? nil : "GET \(path) answered \(status)"
        } catch {
          return "GET http://127.0.0.1:\(port)\(path): \(error.description)"
        }
      }
    case .command(let words):
      return await command(words, spec: spec)
    }
  }

  /// Polls until the copy is ready, `ended()` says it ended, or `deadline`.
  package static func waitUntilReady(
    _ spec: ProcessSpec, log: LogWatch, deadline: ContinuousClock.Instant, ended: @Sendable () async -> Bool
  ) async -> Result {
    var last = "not checked yet"
    while ContinuousClock.now < deadline {
      if Task.isCancelled { return .ended }
      if await ended() { return .ended }
      guard let reason = await check(spec, log: log) else {
        // A check that passed as the process died (a port someone else holds) does not count.
        return await ended() ? .ended : .ready
      }
      last = reason
      try? await Task.sleep(for: interval)
    }
    return .timedOut(last)
  }

  /// Runs a readiness command in the program's folder with its environment, its output discarded; nil when
  /// it exits with 0. A command that runs longer than 10 s counts as a failed check.
  private static func command(_ words: [String], spec: ProcessSpec) async -> String? {
    guard let name = words.first else { return "the command is empty" }
    let environment = spec.environment
    let folder = spec.workingDirectory
    return await withTaskGroup(of: String?.self) { group in
      group.addTask {
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let executable: Executable = name.contains("/") ? .path(FilePath(name)) : .name(name)
        do {
          let result = try await Subprocess.run(
            executable, arguments: Arguments(Array(words.dropFirst())), environment: .inherit.updating(updates),
            workingDirectory: FilePath(folder), input: .none, output: .discarded, error: .discarded)
          switch result.terminationStatus {
          case .exited(0): return nil
          case .exited(let code): return "\(words.joined(separator: " ")) exited with \(code)"
          case .signaled(let signal): return "\(words.joined(separator: " ")) ended by signal \(signal)"
          }
        } catch {
          return "\(name) could not be run: \(error)"
        }
      }
      group.addTask {
        try? await Task.sleep(for: .seconds(10))
        return "\(words.joined(separator: " ")) did not finish in 10 s"
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      return first
    }
  }
}

/// The block a foreground `up` prints once everything is ready: each resource, its state and its address,
/// aligned, so that the URLs are not buried under the servers' start-up lines.
package enum ReadyBlock {
  package static func lines(plan: Plan, containerPorts: [String: Int], processes: [ExecutableState.Process])
    -> [String]
  {
    var rows: [(String, String, String)] = []
    for name in plan.resourceNames {
      if let container = plan.container(name) {
        guard let port = containerPorts[name] else { continue }
        var address = container.url(hostPort: port) ?? "\(Planner.host):\(port)"
        if !container.kind.isCache {
          address +=
            container.caches.isEmpty ? "  (no caches to show)" : "  (shows \(container.caches.joined(separator: ", ")))"
        }
        rows.append((name, container.kind.rawValue, address))
      } else if let skipped = plan.skipped.first(where: { $0.name == name }) {
        rows.append((name, skipped.kind.rawValue, "skipped (needs docker or podman)"))
      } else if let executable = plan.executable(name) {
        for process in processes where process.resource == name {
          let type = executable.isTask ? ResourceType.task.rawValue : ResourceType.executable.rawValue
          var state: String
          switch process.state {
          case .exited, .stopped:
            state =
              executable.isTask && process.exitCode == 0
              ? "completed (0)" : "exited (\(process.exitCode.map(String.init) ?? "?"))"
          default:
            state = process.state.rawValue
          }
          if let first = executable.endpoints.first, let port = process.ports?[first.name],
            process.state == .running
          {
            state = "\(first.scheme)://\(Planner.host):\(port)"
            let others = executable.endpoints.dropFirst().compactMap { endpoint in
              process.ports?[endpoint.name].map { "\(endpoint.name) \(Planner.host):\($0)" }
            }
            if !others.isEmpty { state += "  (" + others.joined(separator: ", ") + ")" }
          }
          rows.append((process.name, type, state))
        }
      }
    }
    let nameWidth = rows.map(\.0.count).max() ?? 0
    let typeWidth = rows.map(\.1.count).max() ?? 0
    return rows.map { name, type, address in
      "  " + name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
        + type.padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  " + address
    }
  }
}
