import Foundation
import TestSupport
import Testing

@testable import AppHostKit

/// Programs as resources: endpoints, the variables and placeholders they give, readiness, tasks, ports.
@Suite struct ProgramPlanTests {
  static let manifest = #"""
    {"resources": {
      "cache": {"type": "redis", "hostPort": 7000},
      "seed": {"type": "task", "command": "sh", "references": ["cache"]},
      "api": {"type": "executable", "command": "sh", "endpoints": {"http": {}, "admin": {"port": 9100, "env": "ADMIN_PORT"}},
              "waitFor": ["seed", "cache"], "references": ["cache"], "replicas": 2},
      "client": {"type": "executable", "command": "sh", "references": ["api"],
                 "args": ["{api.url}/x", "{api.admin.port}"],
                 "env": {"A": "{api.host}:{api.port}", "B": "{api.http.url}", "C": "{api.admin.url}", "D": "{cache.url}"}}
    }}
    """#

  func revealed(_ plan: Plan, _ name: String, ports: [String: Int]) -> [String: String] {
    var values: [String: String] = [:]
    for variable in plan.executable(name)?.environment ?? [] {
      values[variable.name] = variable.value.revealed(ports: ports)
    }
    return values
  }

  @Test func endpointsGiveTheProgramItsPortAndReferencesTheURL() throws {
    let plan = try plan(Self.manifest, passwords: ["cache": "pw"])
    let api = try #require(plan.executable("api"))
    #expect(api.endpoints.map(\.name) == ["http", "admin"])
    #expect(api.endpoints.map(\.variable) == ["PORT", "ADMIN_PORT"])
    #expect(api.endpoints.map(\.fixedPort) == [nil, 9100])
    let ports = ["api.http": 8123, "api.admin": 9100, "cache": 7000]
    #expect(revealed(plan, "api", ports: ports)["PORT"] == "8123")
    #expect(revealed(plan, "api", ports: ports)["ADMIN_PORT"] == "9100")
    let client = revealed(plan, "client", ports: ports)
    #expect(client["API_HOST"] == "127.0.0.1")
    #expect(client["API_PORT"] == "8123")
    #expect(client["API_URL"] == "http://127.0.0.1:8123")
    #expect(client["services__api__http__0"] == "http://127.0.0.1:8123")
    #expect(client["services__api__admin__0"] == "http://127.0.0.1:9100")
    #expect(client["A"] == "127.0.0.1:8123")
    #expect(client["B"] == "http://127.0.0.1:8123")
    #expect(client["C"] == "http://127.0.0.1:9100")
    #expect(client["D"] == "redis://default:pw@127.0.0.1:7000/0")
    // A reference to a program is not a cache: no REDIS_* or ConnectionStrings__api.
    #expect(client["REDIS_URL"] == nil && client["ConnectionStrings__api"] == nil)
    let arguments = try #require(plan.executable("client")?.arguments.map { $0.revealed(ports: ports) })
    #expect(arguments == ["http://127.0.0.1:8123/x", "9100"])
    // What it references (or its placeholders name) it waits for, and so comes after it.
    #expect(plan.executable("client")?.waitFor == ["api", "cache"])
    #expect(plan.stages == [["cache"], ["seed"], ["api"], ["client"]])
  }

  @Test func readinessDefaultsToTCPOnTheFirstEndpointElseStarted() throws {
    let plan = try plan(
      #"""
      {"resources": {
        "a": {"type": "executable", "command": "sh", "endpoints": {"web": {}}},
        "b": {"type": "executable", "command": "sh"},
        "c": {"type": "executable", "command": "sh", "endpoints": {"web": {}}, "readiness": {"http": "/health", "timeout": 5}},
        "d": {"type": "executable", "command": "sh", "endpoints": {"web": {}}, "readiness": false},
        "e": {"type": "executable", "command": "sh", "readiness": {"log": "listening on \\d+"}},
        "f": {"type": "executable", "command": "sh", "readiness": {"command": ["sh", "-c", "true"]}},
        "g": {"type": "executable", "command": "sh", "endpoints": {"web": {}, "grpc": {}}, "readiness": {"tcp": "grpc"}}
      }}
      """#)
    #expect(plan.executable("a")?.readiness == .tcp(endpoint: "web"))
    #expect(plan.executable("b")?.readiness == .started)
    #expect(plan.executable("c")?.readiness == .http(path: "/health", endpoint: "web"))
    #expect(plan.executable("c")?.readinessTimeout == .seconds(5))
    #expect(plan.executable("a")?.readinessTimeout == .seconds(60))
    #expect(plan.executable("d")?.readiness == .started)
    #expect(plan.executable("e")?.readiness == .log(pattern: #"listening on \d+"#))
    #expect(plan.executable("f")?.readiness == .command(["sh", "-c", "true"]))
    #expect(plan.executable("g")?.readiness == .tcp(endpoint: "grpc"))
  }

  @Test func aTaskRunsOnceAndWhatWaitsForItComesAfter() throws {
    let plan = try plan(Self.manifest, passwords: ["cache": "pw"])
    let seed = try #require(plan.executable("seed"))
    #expect(seed.isTask && seed.replicas == 1 && seed.restart == .no && seed.readiness == .started)
    let specs = try ProcessSpec.specs(
      plan: plan,
      ports: [
        "cache": 7000, "api.http": 8000, "api.http/0": 8000, "api.http/1": 8001, "api.admin": 9100,
        "api.admin/0": 9100, "api.admin/1": 9101,
      ],
      selection: Set(plan.resourceNames))
    #expect(specs.first { $0.resource == "seed" }?.isTask == true)
    #expect(specs.filter { $0.resource == "api" }.map(\.waitFor) == [["seed"], ["seed"]])
    #expect(specs.first { $0.resource == "client" }?.waitFor == ["api"])
    // Each replica gets its own ports.
    let replicas = specs.filter { $0.resource == "api" }
    #expect(replicas.map { $0.environment["PORT"] } == ["8000", "8001"])
    #expect(replicas.map { $0.environment["ADMIN_PORT"] } == ["9100", "9101"])
    #expect(replicas.map { $0.port(of: "http") } == [8000, 8001])
  }

  @Test func theDotEnvBesideTheManifestGivesEnvValuesAfterTheEnvironment() throws {
    let text = #"{"resources": {"cache": {"type": "redis", "password": {"env": "CACHE_PW"}}}}"#
    let loaded = try load(text)
    var context = PlanContext(environment: [:])
    context.dotEnv = ["CACHE_PW": "from-dotenv"]
    #expect(try Planner.plan(loaded, context: context).endpoint("cache")?.password?.revealed() == "from-dotenv")
    context.environment = ["CACHE_PW": "from-environment"]
    #expect(try Planner.plan(loaded, context: context).endpoint("cache")?.password?.revealed() == "from-environment")
  }

  @Test func anEnvFileComesAfterTheInjectedValuesAndBeforeEnv() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    folder.write(".env.api", "# comment\nexport FROM_FILE=one\nPORT=1\nOVERRIDDEN='file'\nQUOTED=\"a\\nb\" \n")
    let plan = try plan(
      #"""
      {"resources": {"api": {"type": "executable", "command": "sh", "endpoints": {"http": {}}, "envFile": ".env.api",
                             "env": {"OVERRIDDEN": "env"}}}}
      """#, folder: folder.path)
    let values = revealed(plan, "api", ports: ["api.http": 5000])
    #expect(values["FROM_FILE"] == "one")
    #expect(values["PORT"] == "1", "the file wins over the injected PORT, as env would")
    #expect(values["OVERRIDDEN"] == "env")
    #expect(values["QUOTED"] == "a\nb")
  }
}

@Suite struct DotEnvTests {
  @Test func readsTheComposeFormat() throws {
    let entries = try DotEnv.parse("A=1\n\n# c\nexport B = two words # note\nC='x # y'\nA=3\r\nD=\n").get()
    #expect(entries.map(\.name) == ["B", "C", "A", "D"])
    #expect(entries.map(\.value) == ["two words", "x # y", "3", ""])
  }

  @Test func saysWhichLineIsWrong() {
    guard case .failure(let problem) = DotEnv.parse("A=1\nnot a line\n") else {
      Issue.record("accepted")
      return
    }
    #expect(problem.description == "line 2: expected KEY=value")
    guard case .failure(let unclosed) = DotEnv.parse("A=\"open\n") else {
      Issue.record("accepted")
      return
    }
    #expect(unclosed.line == 1)
  }
}

@Suite struct ProgramManifestTests {
  func errors(_ text: String, folder: String = "/projects/shop") -> [String] {
    do {
      _ = try load(text, folder: folder)
      return []
    } catch {
      guard case .invalidManifest(_, let diagnostics) = error else { return ["\(error)"] }
      return diagnostics.filter { $0.severity == .error }.map { "\($0.path) | \($0.message)" }
    }
  }

  @Test func mistakesAboutProgramsAreCollected() {
    let found = errors(
      #"""
      {"resources": {
        "cache": {"type": "redis", "hostPort": 9000},
        "worker": {"type": "executable", "command": "sh"},
        "api": {"type": "executable", "command": "sh",
                "endpoints": {"http": {"port": 9000}, "Bad": {}, "grpc": {"env": "PORT"}},
                "readiness": {"tcp": "htp"}},
        "job": {"type": "task", "command": "sh", "replicas": 2},
        "client": {"type": "executable", "command": "sh", "references": ["worker"],
                   "env": {"A": "{api.grpcc.port}", "B": "{api.password}", "C": "{api.http.uri}"}},
        "r": {"type": "executable", "command": "sh", "readiness": {"http": "/h", "tcp": "x"}}
      }}
      """#)
    let expected = [
      "resources.api.endpoints.Bad | the endpoint name \"Bad\" is not valid",
      "resources.job.replicas | unknown key \"replicas\"",
      "resources.client.env.C | {api.http.uri} is not a placeholder",
      "resources.client.references[0] | \"worker\" is an executable, but this must name a cache or a connectionString, or a program with endpoints",
      "resources.client.env.A | {api.grpcc.port}: api has no endpoint \"grpcc\" (did you mean \"grpc\"?)",
      "resources.client.env.B | {api.password}: api is a program; its endpoints have",
      "resources.api.endpoints.grpc.env | \"PORT\" already tells the program the port of the endpoint \"http\"",
      "resources.api.readiness.tcp | there is no endpoint \"htp\" (did you mean \"http\"?)",
      "resources.r.readiness | readiness takes one check",
      "resources.api.endpoints.http.port | port 9000 is already used by resources.cache.hostPort",
    ]
    for line in expected {
      #expect(
        found.contains { $0.hasPrefix(line) || $0.contains(line) },
        "missing: \(line)\nfound:\n\(found.joined(separator: "\n"))")
    }
    #expect(found.count == expected.count, "\(found.joined(separator: "\n"))")
  }

  @Test func aCommandOnlyTheImageHasIsAcceptedForPublishing() {
    #expect(
      errors(#"{"resources": {"w": {"type": "executable", "command": "zz-only-in-image", "image": "x/w:1"}}}"#).isEmpty)
    #expect(errors(#"{"resources": {"w": {"type": "executable", "command": "zz-only-in-image"}}}"#).count == 1)
  }

  @Test func aReadinessCheckOnAnEndpointNeedsOne() {
    let found = errors(
      #"{"resources": {"a": {"type": "executable", "command": "sh", "readiness": {"http": "/health"}}}}"#)
    #expect(found.count == 1)
    #expect(found.first?.hasPrefix("resources.a.readiness.http | an http readiness check needs an endpoint") == true)
  }
}

@Suite struct ProgramPortTests {
  func executables() throws -> [ExecutablePlan] {
    try plan(
      #"""
      {"resources": {
        "api": {"type": "executable", "command": "sh", "endpoints": {"http": {}, "admin": {"port": 9100}}},
        "web": {"type": "executable", "command": "sh", "endpoints": {"http": {}}, "replicas": 2}
      }}
      """#
    ).executables
  }

  final class Picker: @unchecked Sendable {
    var next: Int
    init(_ first: Int) { next = first }
    func pick() -> Int {
      defer { next += 1 }
      return next
    }
  }

  @Test func rememberedPortsAreAskedForAgainWhileFree() throws {
    let picker = Picker(40000)
    let first = try ProgramPorts.assign(
      try executables(), remembered: [:], isFree: { _ in true }, pick: { picker.pick() })
    // With replicas, each has its own port and the endpoint's port is apphost's (its proxy).
    #expect(
      first.ports == [
        "api.http": 40000, "api.http/0": 40000, "api.admin": 9100, "api.admin/0": 9100, "web.http": 40001,
        "web.http/0": 40002, "web.http/1": 40003,
      ])
    #expect(first.notices.isEmpty)
    let again = try ProgramPorts.assign(
      try executables(), remembered: first.ports, isFree: { _ in true }, pick: { picker.pick() })
    #expect(again.ports == first.ports)
    // A remembered port someone else holds now: a new one, said in one line.
    let taken = try ProgramPorts.assign(
      try executables(), remembered: first.ports, isFree: { $0 != 40003 }, pick: { picker.pick() })
    #expect(taken.ports["web.http/1"] == 40004)
    #expect(taken.ports["api.http"] == 40000 && taken.ports["web.http"] == 40001)
    #expect(taken.notices == ["web-1 (http): port 40003 is taken now, so it gets 40004 this time"])
  }

  @Test func aPickedPortNeverCollidesWithAFixedOrChosenOne() throws {
    let ports = [9100, 9100, 41000, 41000, 41001, 41002, 41003]
    var index = 0
    let assignment = try ProgramPorts.assign(
      try executables(), remembered: [:], isFree: { _ in true },
      pick: {
        defer { index += 1 }
        return ports[index]
      })
    #expect(
      Set(["api.http/0", "api.admin/0", "web.http", "web.http/0", "web.http/1"].compactMap { assignment.ports[$0] })
        .count == 5)
  }

  @Test func apphostChoosesPortsBelowTheEphemeralRange() throws {
    // The kernel lends ports from its ephemeral range to every outgoing connection, and docker publishes
    // containers there: a port apphost remembers must not be one of those.
    #expect(LocalPorts.band(ephemeralStart: 32768) == 10000...19999)
    #expect(LocalPorts.band(ephemeralStart: 49152) == 10000...19999)
    #expect(LocalPorts.band(ephemeralStart: 15000) == nil, "a system that lends ports that low: its own pick")
    let band = try #require(LocalPorts.stableBand, "this machine's range starts at 32768")
    let held = try (0..<20).map { _ in try LocalPorts.pick() }
    #expect(held.allSatisfy { band.contains($0) && LocalPorts.isFree($0) }, "\(held)")
    #expect(Set(held).count > 1, "chosen at random, not always the same: \(held)")
    let node = try LocalPorts.pickClusterPort(busFree: true)
    #expect(band.contains(node) && LocalPorts.isFree(node + 10000))
  }

  @Test func containersAskForTheirRememberedPortWithoutBeingRecreated() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let planned = try plan(
      #"{"resources": {"cache": {"type": "redis"}, "fixed": {"type": "valkey", "hostPort": 7001}, "ui": {"type": "redisinsight"}}}"#,
      folder: folder.path)
    let memory = PortMemory(state: StateDirectory(projectDirectory: folder.path))
    let free = try LocalPorts.pick()
    let held = try TCPListener()
    defer { held.close() }
    memory.remember(["cache": free, "fixed": 7999, "ui": held.port])
    var notices: [String] = []
    let preferred = memory.preferringRememberedPorts(planned, running: [], notice: { notices.append($0) })
    let cache = try #require(preferred.container("cache"))
    #expect(cache.preferredPort == free)
    #expect(cache.runArguments(flavor: .docker, owner: nil).contains("127.0.0.1:\(free):6379"))
    #expect(cache.configHash == planned.container("cache")?.configHash, "a moved port does not recreate it")
    #expect(preferred.container("fixed")?.preferredPort == nil, "a hostPort is never replaced")
    #expect(preferred.container("ui")?.preferredPort == nil)
    #expect(notices == ["ui: port \(held.port) (used last time) is taken now, so it gets another one"])
  }

  @Test func thePortFileKeepsOtherProjectsResources() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let memory = PortMemory(state: StateDirectory(projectDirectory: folder.path))
    memory.remember(["a.http/0": 1234])
    memory.remember(["b.http/0": 2345])
    #expect(memory.load() == ["a.http/0": 1234, "b.http/0": 2345])
    let mode = try FileManager.default.attributesOfItem(atPath: memory.path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
  }
}

/// The supervisor with real processes (/bin/sh): what waits for a program starts once it is ready, tasks
/// gate what waits for them, and a program that cannot get ready ends the run.
@Suite struct ProgramSupervisionTests {
  final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []
    func add(_ event: RunEvent) {
      let line: String?
      switch event {
      case .started(let resource, _): line = "\(resource) started"
      case .ready(let resource, _, _): line = "\(resource) ready"
      case .exited(let resource, let code): line = "\(resource) exited \(code)"
      case .failed(let failure): line = "\(failure.resource) failed: \(failure.reason)"
      case .logLines(let resource, let lines): line = lines.map { "\(resource) | \($0)" }.joined(separator: "\n")
      default: line = nil
      }
      guard let line else { return }
      lock.lock()
      events.append(line)
      lock.unlock()
    }
    var all: [String] {
      lock.lock()
      defer { lock.unlock() }
      return events
    }
    func index(_ text: String) -> Int? { all.firstIndex { $0.hasPrefix(text) } }
  }

  func spec(
    _ name: String, _ script: String, waitFor: [String] = [], task: Bool = false,
    readiness: ProgramReadiness = .started, timeout: Duration = .seconds(20), ports: [(String, Int)] = []
  ) -> ProcessSpec {
    var spec = ProcessSpec(
      resource: name, replica: 0, displayName: name, program: "/bin/sh", arguments: ["-c", script],
      workingDirectory: "/tmp", environment: [:], restart: .no, stage: 1)
    spec.waitFor = waitFor
    spec.isTask = task
    spec.readiness = readiness
    spec.readinessTimeout = timeout
    spec.ports = ports.map { (name: $0.0, port: $0.1) }
    return spec
  }

  func run(_ specs: [ProcessSpec], state: StateDirectory? = nil) async -> (Int32?, Recorder) {
    let recorder = Recorder()
    let supervisor = Supervisor(
      specs: specs, events: { recorder.add($0) }, logDirectory: nil, state: state, owner: .current, detached: false)
    let code = await supervisor.run()
    return (code, recorder)
  }

  @Test func whatWaitsForAProgramStartsOnceItsLogSaysItIsReady() async throws {
    let (code, events) = await run([
      spec("server", "sleep 0.3; echo listening now; sleep 0.3", readiness: .log(pattern: "listening \\w+")),
      spec("client", "echo hi", waitFor: ["server"]),
    ])
    #expect(code == nil)
    let ready = try #require(events.index("server ready"), "\(events.all)")
    let started = try #require(events.index("client started"))
    #expect(ready < started, "\(events.all)")
    #expect(try #require(events.index("server | listening now")) < ready)
  }

  @Test func aTaskGatesWhatWaitsForItAndItsFailureEndsTheRun() async throws {
    let (ok, passed) = await run([
      spec("seed", "echo seeding", task: true), spec("app", "echo app", waitFor: ["seed"]),
    ])
    #expect(ok == nil)
    #expect(try #require(passed.index("seed exited 0")) < (try #require(passed.index("app started"))))

    let began = ContinuousClock.now
    let (code, failed) = await run([
      spec("migrate", "echo migrating; exit 3", task: true), spec("app", "echo app", waitFor: ["migrate"]),
      spec("other", "sleep 30"),
    ])
    #expect(code == 3)
    #expect(ContinuousClock.now - began < .seconds(15), "the rest (a 30 s sleep) was stopped")
    #expect(failed.index("app started") == nil, "nothing that waits for a failed task starts: \(failed.all)")
    #expect(failed.index("migrate failed: the task exited with code 3") != nil, "\(failed.all)")
  }

  @Test func aProgramThatEndsBeforeItIsReadyIsRecordedWithItsReason() async throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let state = StateDirectory(projectDirectory: folder.path)
    let port = try LocalPorts.pick()
    let (code, events) = await run(
      [spec("api", "echo cannot bind; exit 7", readiness: .tcp(endpoint: "http"), ports: [("http", port)])],
      state: state)
    #expect(code == 7)
    #expect(events.index("api failed: it exited with code 7 before it was ready") != nil, "\(events.all)")
    let recorded = try #require(ExecutableState.load(state))
    #expect(
      recorded.failure
        == ExecutableState.Failure(name: "api", reason: "it exited with code 7 before it was ready", exitCode: 7))
    #expect(!recorded.ready)
  }

  @Test func readinessOverHTTPAndTCPAndACommand() async throws {
    let listener = try TCPListener()
    defer { listener.close() }
    let port = listener.port
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let done = folder.path + "/after-ran"
    // Both programs run until the one that waits for them has started (it leaves a file), at most 120 s: a
    // program that ends first was never ready, and a loaded CI run took over 15 s to get to a check.
    let untilAfterRan = "i=0; until [ -e '\(done)' ] || [ $i -ge 1200 ]; do sleep 0.1; i=$((i+1)); done"
    let (code, events) = await run([
      spec("tcp", untilAfterRan, readiness: .tcp(endpoint: "http"), ports: [("http", port)]),
      spec("cmd", untilAfterRan, readiness: .command(["sh", "-c", "test -n \"$HOME\""])),
      spec("after", "touch '\(done)'", waitFor: ["tcp", "cmd"]),
    ])
    #expect(code == nil, "\(events.all)")
    #expect(events.index("tcp ready") != nil && events.index("cmd ready") != nil, "\(events.all)")
    #expect(events.index("after started") != nil)
  }

  @Test func notReadyInTimeEndsTheRunNamingTheCheck() async throws {
    let port = try LocalPorts.pick()
    let (code, events) = await run([
      spec(
        "slow", "sleep 20", readiness: .http(path: "/health", endpoint: "http"), timeout: .milliseconds(600),
        ports: [("http", port)])
    ])
    #expect(code == 1)
    #expect(events.index("slow failed: not ready after 0.6 s (GET /health on http") != nil, "\(events.all)")
  }
}

@Suite struct WatchTests {
  @Test func aTemporaryFileRenamedOverTheRealOneIsNotAChangeOfItsOwn() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    folder.write("src/app.py", "v2\n")
    let pending = PendingChange()
    #expect(pending.note("src/.app.py.tmp123", created: true))
    #expect(!pending.note("src/app.py", created: true))
    let taken = try #require(pending.take(base: folder.path))
    #expect(taken.0 == "src/app.py" && taken.1 == 1)
    #expect(pending.note("src/gone.tmp", created: true), "a new batch")
    #expect(pending.take(base: folder.path) == nil, "nothing real changed")
  }

  @Test(arguments: [
    ("src/__pycache__/app.cpython-311.pyc", true), ("src/app.py", false), ("src/x.pyc", true),
    (".apphost/logs/app.log", true), ("node_modules/a/b.js", true), ("src/.git/HEAD", true), ("src/app.pyc.txt", false),
  ])
  func ignoreRulesMatchLikeGitignore(path: String, ignored: Bool) {
    let rules = IgnoreRules(["**/__pycache__/**", "*.pyc", "node_modules/**"])
    #expect(rules.ignores(path) == ignored)
  }

  final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String] = []
    func add(_ path: String) {
      lock.lock()
      paths.append(path)
      lock.unlock()
    }
    var all: [String] {
      lock.lock()
      defer { lock.unlock() }
      return paths
    }
  }

  @Test func inotifySeesChangesInNewFoldersAndLeavesOutIgnoredOnes() async throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    folder.write("src/app.py", "v1\n")
    let seen = Seen()
    let watch = FileWatch(base: folder.path, ignore: IgnoreRules(["**/cache/**"])) { path, _ in seen.add(path) }
    #expect(watch.start([folder.path + "/src"]) == nil)
    defer { watch.stop() }
    try FileManager.default.createDirectory(atPath: folder.path + "/src/cache", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: folder.path + "/src/new", withIntermediateDirectories: true)
    try await Task.sleep(for: .milliseconds(200))
    folder.write("src/cache/x", "ignored\n")
    folder.write("src/new/mod.py", "new\n")
    folder.write("src/app.py", "v2\n")
    folder.write("outside.txt", "not watched\n")
    let paths = try await eventuallyValue(timeout: .seconds(5)) {
      Set(seen.all)
    } until: {
      $0.isSuperset(of: ["src/app.py", "src/new/mod.py"])
    }
    #expect(paths.isSuperset(of: ["src/app.py", "src/new/mod.py"]), "\(paths)")
    #expect(!paths.contains("src/cache/x") && !paths.contains("outside.txt"), "\(paths)")
  }

  /// `stop` used to close the inotify descriptor under the thread's blocked `read`: the number went to the
  /// next file opened, and the thread read its bytes as events (a CI run crashed on such garbage). The
  /// thread now ends first and closes it itself: garbage written to the files opened right after a stop
  /// is never seen as a change.
  @Test func aStoppedWatchReadsNoOtherFile() async throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let seen = Seen()
    for _ in 0..<50 {
      let watch = FileWatch(base: folder.path, ignore: IgnoreRules([])) { path, _ in seen.add(path) }
      #expect(watch.start([folder.path]) == nil)
      watch.stop()
      var ends: [Int32] = [-1, -1]
      try #require(pipe(&ends) == 0)
      // Events that would name a file "AAAA..." in watch 1 (the first watch of an inotify descriptor).
      var garbage = [UInt8](repeating: 0x41, count: 4096)
      garbage.replaceSubrange(0..<16, with: [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0])
      _ = garbage.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
      try await Task.sleep(for: .milliseconds(2))
      close(ends[0])
      close(ends[1])
    }
    try await Task.sleep(for: .milliseconds(100))
    #expect(seen.all.isEmpty, "\(seen.all)")
  }
}

/// Polls `attempt` until `done` holds or `timeout` passes; returns the last value.
func eventuallyValue<T>(timeout: Duration, _ attempt: () async throws -> T, until done: (T) -> Bool) async throws -> T {
  let deadline = ContinuousClock.now + timeout
  var value = try await attempt()
  while !done(value) && ContinuousClock.now < deadline {
    try await Task.sleep(for: .milliseconds(50))
    value = try await attempt()
  }
  return value
}
