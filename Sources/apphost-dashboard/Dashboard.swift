import AppHostKit
import FlyingFox
import FlyingSocks
import Foundation

/// The dashboard's requests and its background work: the control socket's events and list, every
/// process's output, and INFO of every cache.
final class Dashboard: Sendable {
  let session: ProjectSession
  let hub: Hub
  let token: String
  let lines = LineBatch()

  init(session: ProjectSession, hub: Hub, token: String) {
    self.session = session
    self.hub = hub
    self.token = token
  }

  var plan: Plan { session.plan }
  var state: StateDirectory { session.project.state }

  /// The caches' passwords: what the environment view masks.
  var passwords: [String] {
    plan.endpoints.compactMap { $0.password?.revealed() }
  }

  // MARK: HTTP

  func handle(_ request: HTTPRequest) async -> HTTPResponse {
    let isAction = request.path.hasPrefix("/api/action") || request.path.hasPrefix("/api/reveal")
    let decision = DashboardAccess.decide(
      method: request.method.rawValue, path: request.path, queryToken: request.query["token"],
      cookie: request.headers[.cookie], actionHeader: request.headers[HTTPHeader(DashboardAccess.actionHeader)],
      expected: token, isAction: isAction)
    switch decision {
    case .unauthorized:
      return text(.unauthorized, "This dashboard needs its token: open the address `apphost dashboard` prints.\n")
    case .forbidden(let why):
      return text(.forbidden, why + "\n")
    case .setCookie(let path):
      return HTTPResponse(
        statusCode: .seeOther,
        headers: HTTPHeaders([.location: path, .setCookie: DashboardAccess.cookie(token), .cacheControl: "no-store"]))
    case .allow:
      break
    }
    switch (request.method.rawValue, request.path) {
    case ("GET", "/"):
      return HTTPResponse(
        statusCode: .ok,
        headers: [
          .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
          HTTPHeader("Content-Security-Policy"):
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
            + "img-src 'self' data:; frame-ancestors 'none'",
          HTTPHeader("X-Frame-Options"): "DENY", HTTPHeader("Referrer-Policy"): "no-referrer",
        ],
        body: Data(Page.html.replacingOccurrences(of: "__PROJECT__", with: escapeHTML(plan.project)).utf8))
    case ("GET", "/api/events"):
      let stream = await hub.subscribe()
      return HTTPResponse(
        statusCode: .ok,
        headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
        body: HTTPBodySequence(from: ByteStream(stream)))
    case ("GET", "/api/resources"):
      return json(await hub.resources)
    case ("GET", "/api/env"):
      return await environment(request.query["name"] ?? "")
    case ("POST", "/api/reveal"):
      return await reveal(request)
    case ("POST", "/api/action"):
      return await action(request)
    default:
      return text(.notFound, "not found\n")
    }
  }

  private func text(_ status: HTTPStatusCode, _ body: String) -> HTTPResponse {
    HTTPResponse(
      statusCode: status, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
      body: Data(body.utf8))
  }

  private func json<T: Encodable>(_ value: T, status: HTTPStatusCode = .ok) -> HTTPResponse {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return HTTPResponse(
      statusCode: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
      body: (try? encoder.encode(value)) ?? Data("null".utf8))
  }

  struct Failure: Encodable { var error: String }
  struct Variable: Encodable {
    var name: String
    var value: String
    var secret: Bool
  }

  private func environment(_ name: String) async -> HTTPResponse {
    do throws(AppHostError) {
      let variables = try await ControlClient.connect(state).environment(of: name)
      let passwords = self.passwords
      return json(
        variables.keys.sorted().map { key in
          let value = variables[key] ?? ""
          let secret = SecretMask.isSecret(name: key, value: value, passwords: passwords)
          return Variable(
            name: key, value: secret ? SecretMask.masked(value, name: key, passwords: passwords) : value, secret: secret
          )
        })
    } catch {
      return json(Failure(error: error.errorDescription ?? "\(error)"), status: .badRequest)
    }
  }

  struct RevealRequest: Decodable {
    var name: String
    var key: String
  }

  private func reveal(_ request: HTTPRequest) async -> HTTPResponse {
    guard let body = try? await request.bodyData, let asked = try? JSONDecoder().decode(RevealRequest.self, from: body)
    else { return json(Failure(error: "send {\"name\":..., \"key\":...}"), status: .badRequest) }
    do throws(AppHostError) {
      let variables = try await ControlClient.connect(state).environment(of: asked.name)
      guard let value = variables[asked.key] else {
        return json(Failure(error: "\(asked.name) has no variable \(asked.key)"), status: .badRequest)
      }
      return json(["value": value])
    } catch {
      return json(Failure(error: error.errorDescription ?? "\(error)"), status: .badRequest)
    }
  }

  struct ActionRequest: Decodable {
    var command: String
    var names: [String]
  }

  private func action(_ request: HTTPRequest) async -> HTTPResponse {
    guard let body = try? await request.bodyData, let asked = try? JSONDecoder().decode(ActionRequest.self, from: body),
      let command = ControlCommand(rawValue: asked.command), [.restart, .stop, .start].contains(command),
      !asked.names.isEmpty
    else {
      return json(Failure(error: "send {\"command\":\"restart|stop|start\",\"names\":[...]}"), status: .badRequest)
    }
    do throws(AppHostError) {
      let reply = try await ControlClient.connect(state).send(ControlRequest(command: command, names: asked.names))
      await refresh()
      return json(["affected": reply.affected ?? []])
    } catch {
      return json(Failure(error: error.errorDescription ?? "\(error)"), status: .badRequest)
    }
  }

  // MARK: Background

  /// Follows the session until its control socket hangs up. Until the socket opens, `ownerAlive` is asked
  /// whether the process that started the dashboard still runs: a killed `up` never opens it.
  func run(ownerAlive: () -> Bool) async {
    var events: AsyncStream<ControlEvent>?
    let deadline = ContinuousClock.now + .seconds(30)
    while events == nil && ContinuousClock.now < deadline && ownerAlive() {
      events = try? await ControlClient.connect(state).events()
      if events == nil { try? await Task.sleep(for: .milliseconds(100)) }
    }
    guard let events else {
      let why = ownerAlive() ? "no apphost up answers on the control socket" : "the apphost up that started it ended"
      FileHandle.standardError.write(Data("apphost-dashboard: \(why)\n".utf8))
      return
    }
    await refresh()
    let work = Task {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await self.refreshEvery(.seconds(3)) }
        group.addTask { await self.flushLines() }
        group.addTask { await self.keepAlive() }
        for container in self.plan.containers {
          group.addTask { await self.follow(container) }
          if container.kind.isCache { group.addTask { await self.poll(container) } }
        }
        for executable in self.plan.executables {
          for replica in 0..<executable.replicas {
            group.addTask { await self.follow(program: executable.displayName(replica: replica)) }
          }
        }
      }
    }
    for await event in events {
      await hub.event(event)
      await refresh()
    }
    work.cancel()
  }

  func refresh() async {
    guard let rows = try? await ControlClient.connect(state).list() else { return }
    let plan = self.plan
    let views = rows.map { row -> ResourceView in
      var view = ResourceView(row: row)
      if let container = plan.container(row.resource) {
        if container.kind.isCache {
          view.shownBy = plan.containers.filter { $0.caches.contains(row.resource) }.map(\.resource)
          if let endpoint = row.endpoint, let scheme = plan.endpoint(row.resource)?.scheme {
            view.connection = "\(scheme)://\(endpoint)"
          }
        } else {
          view.shows = container.caches
        }
      }
      return view
    }
    await hub.setResources(views)
  }

  private func refreshEvery(_ interval: Duration) async {
    while !Task.isCancelled {
      try? await Task.sleep(for: interval)
      await refresh()
    }
  }

  private func keepAlive() async {
    while !Task.isCancelled {
      try? await Task.sleep(for: .seconds(15))
      await hub.keepAlive()
    }
  }

  private func flushLines() async {
    while !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(150))
      await hub.append(lines.take())
    }
  }

  /// A container's output; followed again after it restarts.
  private func follow(_ container: ContainerPlan) async {
    var tail: Int? = 200
    var since: Date?
    let lines = self.lines
    let name = container.resource
    while !Task.isCancelled {
      let began = Date()
      _ = try? await session.engine.followLogs(container.containerName, tail: tail, since: since, timestamps: false) {
        line in lines.add(name, line)
      }
      // Stopped or restarted: followed again from the moment it ended (never the same line twice).
      tail = nil
      since = max(began, Date())
      try? await Task.sleep(for: .seconds(1))
    }
  }

  /// A program's log file (`.apphost/logs/NAME.log`), from its last 200 lines on.
  private func follow(program name: String) async {
    let path = (ExecutableState.logDirectory(state) as NSString).appendingPathComponent("\(name).log")
    // With the time each line arrived (the file keeps it), not the time the dashboard read it.
    let (existing, end) = ProgramLogs.read(path, tail: 200, timestamps: true)
    for line in existing { lines.add(name, stamped: line) }
    let lines = self.lines
    await ProgramLogs.follow(path, from: end, timestamps: true) { new in
      for line in new { lines.add(name, stamped: line) }
    }
  }

  /// INFO every 2 s while the cache answers.
  private func poll(_ container: ContainerPlan) async {
    let endpoint = plan.endpoint(container.resource)
    var shell: RedisShell?
    while !Task.isCancelled {
      if shell == nil,
        let address = await hub.resources.first(where: { $0.row.name == container.resource })?.row.endpoint,
        let port = address.split(separator: ":").last.flatMap({ Int($0) })
      {
        shell = try? await RedisShell.connect(
          host: "127.0.0.1", port: port, password: endpoint?.password?.revealed(), user: endpoint?.user,
          tls: endpoint?.tlsClient)
      }
      if let current = shell {
        let reply = try? await current.execute(["INFO"])
        if case .bulk(let bytes?) = reply {
          let facts = CacheFacts.parse(String(decoding: bytes, as: UTF8.self))
          await hub.sample(container.resource, StatsSample(t: Date().timeIntervalSince1970 * 1000, facts: facts))
        } else if case .verbatim(let text) = reply {
          await hub.sample(
            container.resource, StatsSample(t: Date().timeIntervalSince1970 * 1000, facts: CacheFacts.parse(text)))
        } else {
          current.close()
          shell = nil
        }
      }
      try? await Task.sleep(for: .seconds(2))
    }
    shell?.close()
  }
}

/// Lines gathered between two flushes.
final class LineBatch: @unchecked Sendable {
  private let lock = NSLock()
  private var pending: [LogLine] = []

  func add(_ name: String, _ line: String, time: Date = Date()) {
    lock.lock()
    pending.append(LogLine(n: name, t: time.timeIntervalSince1970 * 1000, l: line))
    lock.unlock()
  }

  /// A line that begins with its time (`ProgramLogs` with timestamps).
  func add(_ name: String, stamped line: String) {
    let (time, text) = LogTime.split(line)
    // A line the file keeps no time for comes as 24 dashes and a space.
    let unstamped = String(repeating: "-", count: 24) + " "
    add(name, time == nil && text.hasPrefix(unstamped) ? String(text.dropFirst(25)) : text, time: time ?? Date())
  }

  func take() -> [LogLine] {
    lock.lock()
    defer {
      pending = []
      lock.unlock()
    }
    return pending
  }
}

/// An event stream's bytes as FlyingFox's body (chunked: it has no length).
struct ByteStream: AsyncBufferedSequence, Sendable {
  typealias Element = UInt8
  let stream: AsyncStream<[UInt8]>

  init(_ stream: AsyncStream<[UInt8]>) { self.stream = stream }

  func makeAsyncIterator() -> Iterator { Iterator(base: stream.makeAsyncIterator()) }

  struct Iterator: AsyncBufferedIteratorProtocol {
    var base: AsyncStream<[UInt8]>.AsyncIterator
    var buffer: [UInt8] = []

    mutating func next() async -> UInt8? {
      if buffer.isEmpty {
        guard let chunk = await base.next() else { return nil }
        buffer = chunk
      }
      return buffer.isEmpty ? nil : buffer.removeFirst()
    }

    mutating func nextBuffer(suggested count: Int) async -> [UInt8]? {
      if buffer.isEmpty {
        guard let chunk = await base.next() else { return nil }
        buffer = chunk
      }
      let taken = Array(buffer.prefix(count))
      buffer.removeFirst(taken.count)
      return taken
    }
  }
}

func escapeHTML(_ text: String) -> String {
  text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
