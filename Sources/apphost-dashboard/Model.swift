import AppHostKit
import Foundation

/// What the page is sent: rows from the control socket, with what the plan knows about each resource.
struct ResourceView: Codable, Sendable {
  var row: ControlResource
  /// For UIs: the caches they show; for caches: the UIs showing them.
  var shows: [String]?
  var shownBy: [String]?
  /// For caches: `redis://127.0.0.1:PORT` (without the password).
  var connection: String?
}

/// One line of output.
struct LogLine: Codable, Sendable {
  var n: String  // process
  var t: Double  // arrival, ms since 1970
  var l: String
}

/// One INFO sample of a cache.
struct StatsSample: Codable, Sendable {
  var t: Double
  var facts: CacheFacts
}

/// The dashboard's memory and its live subscribers: resources, the last lines of each process, the last
/// minutes of INFO; every change goes to each open event stream as a server-sent event.
actor Hub {
  private(set) var resources: [ResourceView] = []
  private var logs: [String: [LogLine]] = [:]
  private var stats: [String: [StatsSample]] = [:]
  private var streams: [Int: AsyncStream<[UInt8]>.Continuation] = [:]
  private var nextID = 0
  static let linesKept = 2000
  static let samplesKept = 150  // 5 minutes at one sample every 2 s

  func setResources(_ views: [ResourceView]) {
    resources = views
    broadcast("resources", views)
  }

  func event(_ event: ControlEvent) {
    broadcast("event", event)
  }

  func append(_ lines: [LogLine]) {
    guard !lines.isEmpty else { return }
    for line in lines {
      logs[line.n, default: []].append(line)
      if logs[line.n]!.count > Self.linesKept + 200 { logs[line.n]!.removeFirst(200) }
    }
    broadcast("logs", lines)
  }

  func sample(_ name: String, _ sample: StatsSample) {
    stats[name, default: []].append(sample)
    if stats[name]!.count > Self.samplesKept { stats[name]!.removeFirst() }
    broadcast("stats", [name: [sample]])
  }

  /// A new event stream: first everything known, then each change.
  func subscribe() -> AsyncStream<[UInt8]> {
    let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(2000))
    nextID += 1
    let id = nextID
    streams[id] = continuation
    continuation.onTermination = { _ in Task { await self.drop(id) } }
    continuation.yield(Self.frame("resources", resources))
    let backlog = logs.values.flatMap { $0 }.sorted { $0.t < $1.t }
    for start in stride(from: 0, to: backlog.count, by: 500) {
      continuation.yield(Self.frame("logs", Array(backlog[start..<min(start + 500, backlog.count)])))
    }
    continuation.yield(Self.frame("stats", stats))
    return stream
  }

  private func drop(_ id: Int) { streams[id] = nil }

  /// A comment line every 15 s keeps proxies and the browser from thinking the stream died.
  func keepAlive() {
    for continuation in streams.values { continuation.yield(Array(": keep-alive\n\n".utf8)) }
  }

  func finishAll() {
    for continuation in streams.values { continuation.finish() }
    streams = [:]
  }

  private func broadcast<T: Encodable>(_ name: String, _ value: T) {
    let frame = Self.frame(name, value)
    for continuation in streams.values { continuation.yield(frame) }
  }

  static func frame<T: Encodable>(_ name: String, _ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let json = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    return Array("event: \(name)\ndata: \(json)\n\n".utf8)
  }
}
