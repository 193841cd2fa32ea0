import Foundation
import TestSupport
import Testing

/// The engines the integration tests run against: `APPHOST_TEST_ENGINES` (set by scripts/test, which
/// starts them and builds the stand-in images). Without it the engine tests do not run, except in CI
/// (`CI=true`), where every engine is required: there a missing engine fails the tests (see
/// `TestEngineTests`) instead of skipping them.
enum TestEngines {
  /// Every engine apphost drives; "native" runs the servers as processes of this machine.
  static let known = ["docker", "podman", "native"]
  static let required = ["docker", "podman"]

  /// The container engines named (the native engine has suites of its own: NativeTests).
  static let all: [String] = named.filter { $0 != "native" }

  /// Every engine named, "native" included.
  static let named: [String] = {
    let environment = ProcessInfo.processInfo.environment
    if let named = environment["APPHOST_TEST_ENGINES"], !named.trimmingCharacters(in: .whitespaces).isEmpty {
      return named.split(separator: " ").map(String.init)
    }
    return inCI ? required : []
  }()

  /// Whether a missing engine must fail rather than skip: in CI, or when engines were named.
  static var mandatory: Bool {
    inCI || !(ProcessInfo.processInfo.environment["APPHOST_TEST_ENGINES"] ?? "").isEmpty
  }

  static var inCI: Bool {
    ["true", "1", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "")
  }

  static var available: Bool { !all.isEmpty }
}

/// A project folder for one test on one engine, with a unique project name; `run` removes everything the
/// test made (containers, network, volumes, files) and checks that nothing of the project is left.
struct EngineProject {
  let engine: String
  let folder: ProjectFolder
  let name: String

  init(engine: String, _ label: String) {
    self.engine = engine
    folder = ProjectFolder("apphost-\(label)")
    name = "it-\(label)-\(UUID().uuidString.prefix(6).lowercased())"
  }

  var path: String { folder.path }

  /// Writes apphost.json with `resources` (a JSON object's inside) under this project's name.
  func manifest(_ resources: String) {
    folder.write("apphost.json", #"{"name": "\#(name)", "resources": {\#(resources)}}"#)
  }

  func apphost(_ arguments: String..., environment: [String: String?] = [:]) async throws -> CommandResult {
    try await execute(
      Binary.path, arguments, in: path,
      environment: environment.merging(["APPHOST_ENGINE": engine, "NO_COLOR": "1"]) { given, _ in given })
  }

  /// Runs apphost and requires success, showing its output otherwise.
  @discardableResult
  func succeed(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult
  {
    let result = try await execute(
      Binary.path, arguments, in: path, environment: ["APPHOST_ENGINE": engine, "NO_COLOR": "1"])
    try #require(
      result.status == 0, "apphost \(arguments.joined(separator: " ")): \(result)", sourceLocation: sourceLocation)
    return result
  }

  /// The engine's own CLI (to check what apphost did).
  func cli(_ arguments: String...) async throws -> CommandResult {
    try await execute(engine, arguments)
  }

  /// The connection variables of every cache, from `apphost env --format json`.
  func environment(_ name: String? = nil) async throws -> [String: String] {
    let result: CommandResult
    if let name {
      result = try await apphost("env", name, "--format", "json")
    } else {
      result = try await apphost("env", "--format", "json")
    }
    #expect(result.status == 0, "\(result)")
    return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String]) ?? [:]
  }

  /// `redis-cli` against a published port; the password goes in its environment (REDISCLI_AUTH), not
  /// in its arguments, where the secrets watch would rightly find it.
  func redis(port: String?, password: String?, _ command: String...) async throws -> String {
    let arguments = ["-h", "127.0.0.1", "-p", port ?? "0", "--no-auth-warning"]
    let result = try await execute("redis-cli", arguments + command, environment: ["REDISCLI_AUTH": password])
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Containers, networks and volumes of this project that the engine still has.
  func leftovers() async throws -> [String] {
    // The native engine has no containers to list; its servers are checked by NativeTests.
    if engine == "native" { return [] }
    let filter = "label=apphost.project=\(name)"
    let containers = try await cli("ps", "-a", "--filter", filter, "--format", "{{.Names}}").output
    let networks = try await cli("network", "ls", "--filter", filter, "--format", "{{.Name}}").output
    let volumes = try await cli("volume", "ls", "--filter", filter, "--format", "{{.Name}}").output
    return (containers + networks + volumes).split(separator: "\n").map(String.init)
  }

  /// Runs `body`, then removes everything and checks that nothing is left. At most a few tests use an
  /// engine at once: podman serialises much of its work, and twenty projects starting together would
  /// measure its queue instead of apphost.
  /// A project inside another one's test (two projects at once) shares that test's turn.
  static func run(engine: String, _ label: String, _ body: (EngineProject) async throws -> Void) async throws {
    if EngineGate.held.contains(engine) {
      try await runHolding(engine: engine, label, body)
      return
    }
    await EngineGate.shared.enter(engine)
    defer { Task { await EngineGate.shared.leave(engine) } }
    try await EngineGate.$held.withValue(EngineGate.held.union([engine])) {
      try await runHolding(engine: engine, label, body)
    }
  }

  private static func runHolding(
    engine: String, _ label: String, _ body: (EngineProject) async throws -> Void
  ) async throws {
    let project = EngineProject(engine: engine, label)
    var failure: (any Error)?
    do {
      try await body(project)
    } catch {
      failure = error
    }
    // A cleanup that fails is recorded; it never replaces the test's own failure.
    do {
      let down = try await project.apphost("down", "--volumes")
      #expect(down.status == 0, "cleanup: \(down)")
      let left = try await project.leftovers()
      #expect(left.isEmpty, "left behind: \(left)")
    } catch {
      Issue.record(error, "cleanup of \(project.name)")
    }
    project.folder.remove()
    if let failure { throw failure }
  }
}

/// A counting semaphore per engine: how many tests use it at once. Podman 4.3 (Debian 12) runs one at
/// a time: with several projects changing networks at once on a loaded machine, a UI's published port
/// once stayed refused for 60 s (netavark's firewall rules), which apphost cannot repair; taking turns
/// costs the suite about 40 s.
actor EngineGate {
  static let shared = EngineGate()
  /// The engines whose turn the current task holds.
  @TaskLocal static var held: Set<String> = []
  static let width = ["docker": 4, "podman": 1]

  private var inUse: [String: Int] = [:]
  private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

  func enter(_ engine: String) async {
    if inUse[engine, default: 0] < Self.width[engine, default: 2] {
      inUse[engine, default: 0] += 1
      return
    }
    await withCheckedContinuation { waiting[engine, default: []].append($0) }
  }

  func leave(_ engine: String) {
    if var queue = waiting[engine], !queue.isEmpty {
      let next = queue.removeFirst()
      waiting[engine] = queue
      next.resume()
    } else {
      inUse[engine, default: 1] -= 1
    }
  }
}
