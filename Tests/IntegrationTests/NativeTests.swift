import Foundation
import TestSupport
import Testing

/// The native engine, for real: Debian's redis-server (and a `valkey-server` link to it, as the images
/// have), with a PATH on which no container engine can be found. Runs wherever redis-server is installed
/// (scripts/test installs it); with `APPHOST_TEST_ENGINES` naming engines but not `native`, it is skipped.
@Suite(.enabled(if: NativeProject.wanted), .serialized)
struct NativeTests {
  @Test func cachesRunWithoutAnyContainerEngine() async throws {
    try await NativeProject.run("plain") { project in
      project.manifest(
        #""cache": {"type": "redis"}, "sessions": {"type": "valkey"}, "insight": {"type": "redisinsight"}"#)
      let up = try await project.succeed("up", "-d")
      #expect(up.errors.contains("neither docker nor podman"), "\(up)")
      #expect(up.errors.contains("the native engine"), "\(up)")
      #expect(up.errors.contains("insight skipped"), "\(up)")
      #expect(up.output.contains("cache") && up.output.contains("ready at 127.0.0.1:"), "\(up)")

      let rows = try await project.ps()
      #expect(rows["cache"]?["state"] == "running" && rows["cache"]?["health"] == "healthy", "\(rows)")
      #expect(rows["insight"]?["state"] == "skipped (needs docker or podman)", "\(rows)")

      let variables = try await project.environment()
      let port = try #require(variables["CACHE_PORT"])
      let password = try #require(variables["CACHE_PASSWORD"])
      #expect(try await project.redis(port: port, password: password, "PING") == "PONG")
      #expect(try await project.redis(port: port, password: nil, "GET", "x").contains("NOAUTH"))
      #expect(try await project.redis(port: port, password: "wrong", "PING").contains("WRONGPASS"))
      let valkey = try #require(variables["SESSIONS_PORT"])
      #expect(try await project.redis(port: valkey, password: variables["SESSIONS_PASSWORD"], "PING") == "PONG")

      // 127.0.0.1 only, and no password in any process's argument list.
      let listeners = try await execute("ss", ["-Hltn", "sport", "= :\(port)"]).output
      #expect(listeners.contains("127.0.0.1:\(port)"), "\(listeners)")
      #expect(!listeners.contains("0.0.0.0:\(port)") && !listeners.contains("*:\(port)"), "\(listeners)")
      let commandLines = try ProcessScan.commandLines()
      #expect(commandLines.count > 10, "/proc must be readable")
      #expect(commandLines.allSatisfy { !$0.contains(password) })

      let cli = try await project.succeed("cli", "cache", "--", "SET", "greeting", "hello")
      #expect(cli.output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK")
      let logs = try await project.succeed("logs", "cache")
      #expect(logs.output.contains("Ready to accept connections"), "\(logs)")

      let servers = try project.serverPIDs()
      #expect(servers.count == 2)
      try await project.succeed("down")
      #expect(servers.allSatisfy { !ProcessScan.isAlive($0) }, "servers left running after down")
    }
  }

  @Test(arguments: ["volume", "bind"])
  func dataSurvivesDownAndUp(storage: String) async throws {
    try await NativeProject.run("data-\(storage)") { project in
      let store = storage == "volume" ? #""dataVolume": true"# : #""dataBindMount": {"source": "./data"}"#
      project.manifest(#""cache": {"type": "redis", \#(store)}"#)
      try await project.succeed("up", "-d")
      var variables = try await project.environment()
      let fill = try await project.redis(
        port: variables["CACHE_PORT"], password: variables["CACHE_PASSWORD"], "EVAL",
        "for i=1,10000 do redis.call('SET', 'key:' .. i, i) end return redis.call('DBSIZE')", "0")
      #expect(fill == "(integer) 10000" || fill == "10000", "\(fill)")
      try await project.succeed("down")
      let folder = storage == "volume" ? ".apphost/volumes/\(project.name)-cache-data" : "data"
      #expect(FileManager.default.fileExists(atPath: "\(project.path)/\(folder)/dump.rdb"))
      try await project.succeed("up", "-d")
      variables = try await project.environment()
      let size = try await project.redis(port: variables["CACHE_PORT"], password: variables["CACHE_PASSWORD"], "DBSIZE")
      #expect(size.hasSuffix("10000"), "\(size)")
      try await project.succeed("down", "--volumes")
      #expect(
        FileManager.default.fileExists(atPath: "\(project.path)/.apphost/volumes/\(project.name)-cache-data") == false)
      // A bind-mounted folder is the user's: `down -v` never deletes it.
      if storage == "bind" { #expect(FileManager.default.fileExists(atPath: "\(project.path)/data/dump.rdb")) }
    }
  }

  @Test func aPersistentServerOutlivesUpAndIsReusedUntilItsConfigurationChanges() async throws {
    try await NativeProject.run("persistent") { project in
      project.manifest(
        #""cache": {"type": "redis", "lifetime": "persistent"}, "once": {"type": "executable", "command": "sh", "args": ["-c", "echo ran"], "references": ["cache"]}"#
      )
      // A foreground up ends when its program has: the persistent server stays.
      let up = try await project.apphost("up")
      #expect(up.status == 0, "\(up)")
      let first = try project.serverPIDs()
      #expect(first.count == 1 && first.allSatisfy(ProcessScan.isAlive))
      let again = try await project.succeed("up", "-d", "cache")
      #expect(again.output.contains("unchanged") || again.output.contains("nothing changed"), "\(again)")
      #expect(try project.serverPIDs() == first)
      project.manifest(#""cache": {"type": "redis", "lifetime": "persistent", "args": ["--maxmemory", "64mb"]}"#)
      let changed = try await project.succeed("up", "-d")
      #expect(changed.output.contains("recreating"), "\(changed)")
      let second = try project.serverPIDs()
      #expect(second.count == 1 && second != first)
      #expect(first.allSatisfy { !ProcessScan.isAlive($0) })
    }
  }

  @Test func runGivesTheConnectionAndDownRemovesWhatItStarted() async throws {
    try await NativeProject.run("run") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      let run = try await project.apphost(
        "run", "--down", "--", "sh", "-c",
        #"redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -a "$REDIS_PASSWORD" --no-auth-warning PING; exit 7"#)
      #expect(run.status == 7, "\(run)")
      #expect(run.output.contains("PONG"), "\(run)")
      #expect(try project.serverPIDs().isEmpty, "run --down left a server")
    }
  }

  @Test func aMissingServerExits69NamingItAndStartsNothing() async throws {
    try await NativeProject.run("missing") { project in
      project.manifest(#""cache": {"type": "redis"}, "g": {"type": "garnet"}"#)
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 69, "\(up)")
      #expect(up.errors.contains("garnet-server"), "\(up)")
      #expect(up.errors.contains("dotnet tool install"), "\(up)")
      #expect(try project.serverPIDs().allSatisfy { !ProcessScan.isAlive($0) })
      #expect(ProcessScan.marked(project.mark, folder: project.path).isEmpty, "a server was left running")
    }
  }

  @Test func theEnginesAreNamedAndTheManifestCanChooseNative() async throws {
    try await NativeProject.run("chosen") { project in
      project.folder.write(
        "apphost.json", #"{"name": "\#(project.name)", "engine": "native", "resources": {"cache": {"type": "redis"}}}"#)
      // With the machine's own PATH (docker and podman may answer there): the manifest's choice wins.
      let up = try await project.apphost("up", "-d", path: nil)
      #expect(up.status == 0, "\(up)")
      #expect(up.output.contains("engine native"), "\(up)")
      let wrong = try await project.apphost("ps", environment: ["APPHOST_ENGINE": "nativ"])
      #expect(wrong.status == 64 && wrong.errors.contains("docker, podman or native"), "\(wrong)")
    }
  }

  /// A killed `up` leaves servers; the next `up` or `down` finds and stops them (by pid and start time),
  /// and never a process that is not apphost's.
  @Test func killedUpsLeaveNoServerBehind() async throws {
    try await NativeProject.run("kill") { project in
      project.manifest(
        #""cache": {"type": "redis"}, "other": {"type": "valkey", "dataVolume": true}, "app": {"type": "executable", "command": "sleep", "args": ["600"], "references": ["cache"]}"#
      )
      // A bystander: a redis-server apphost did not start, on the same machine.
      let bystander = try ProcessScan.spawnBystander()
      defer { kill(bystander, SIGKILL) }
      var phases: [String: Int] = [:]
      for round in 0..<20 {
        let delay = [0, 20, 60, 150, 400, 900][round % 6]
        let process = try project.launch("up")
        try await Task.sleep(for: .milliseconds(delay))
        let phase = ((try? project.serverPIDs()) ?? []).isEmpty ? "before any server" : "servers started"
        phases[phase, default: 0] += 1
        kill(process, SIGKILL)
        var status: Int32 = 0
        waitpid(process, &status, 0)
        let next = round % 2 == 0 ? try await project.apphost("up", "-d") : try await project.apphost("down")
        #expect(next.status == 0, "round \(round): \(next)")
        if round % 2 == 0 {
          // Exactly one server per cache, never a second copy.
          let servers = ProcessScan.marked(project.mark, folder: project.path).filter { $0.command.contains("-server") }
          #expect(servers.count == 2, "round \(round): \(servers)")
        }
      }
      try await project.succeed("down")
      #expect(
        ProcessScan.marked(project.mark, folder: project.path).isEmpty,
        "left behind: \(ProcessScan.marked(project.mark, folder: project.path))")
      #expect(ProcessScan.isAlive(bystander), "apphost stopped a server it did not start")
      #expect(phases.values.reduce(0, +) == 20)
      #expect(phases["servers started", default: 0] >= 5, "\(phases)")
    }
  }

  @Test func theSampleRunsHereWithoutAnEngine() async throws {
    try await NativeProject.run("sample") { project in
      try writeSample(into: project.folder, name: project.name)
      let up = try await project.succeed("up", "-d")
      #expect(up.errors.contains("insight, commander skipped"), "\(up)")
      var logs = ""
      for _ in 0..<100 where !logs.contains("visit number") {
        logs = try await project.succeed("logs", "app").output
        try await Task.sleep(for: .milliseconds(50))
      }
      #expect(logs.contains("visit number 1"), "\(logs)")
    }
  }
}

/// A project folder for one native test, run with a PATH that has no container engine (and a
/// `valkey-server` link to redis-server), and a mark in apphost's environment that every server it
/// starts inherits, so that a test can find them all.
struct NativeProject {
  let folder: ProjectFolder
  let name: String
  let mark: String

  static var wanted: Bool {
    let engines = ProcessInfo.processInfo.environment["APPHOST_TEST_ENGINES"]
    guard engines == nil || engines!.split(separator: " ").contains("native") else { return false }
    return findExecutable("redis-server") != nil
  }

  /// A folder of links to everything on PATH but docker, podman and their helpers (scripts/no-engine-path).
  static let path: String = {
    let folder = NSTemporaryDirectory() + "apphost-no-engine-\(getpid())"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Binary.repository + "/scripts/no-engine-path")
    process.arguments = [folder]
    process.standardOutput = FileHandle.nullDevice
    try? process.run()
    process.waitUntilExit()
    if let server = findExecutable("redis-server") {
      try? FileManager.default.createSymbolicLink(atPath: folder + "/valkey-server", withDestinationPath: server)
    }
    return folder
  }()

  init(_ label: String) {
    folder = ProjectFolder("apphost-native-\(label)")
    name = "nt-\(label)-\(UUID().uuidString.prefix(6).lowercased())"
    mark = UUID().uuidString
  }

  var path: String { folder.path }

  func manifest(_ resources: String) {
    folder.write("apphost.json", #"{"name": "\#(name)", "resources": {\#(resources)}}"#)
  }

  var environment: [String: String?] {
    ["PATH": Self.path, "NO_COLOR": "1", "APPHOST_NATIVE_TEST_MARK": mark, "APPHOST_ENGINE": nil]
  }

  func apphost(_ arguments: String..., environment extra: [String: String?] = [:], path: String? = Self.path)
    async throws -> CommandResult
  {
    var environment = self.environment.merging(extra) { _, given in given }
    environment.updateValue(path ?? ProcessInfo.processInfo.environment["PATH"], forKey: "PATH")
    return try await execute(Binary.path, arguments, in: self.path, environment: environment)
  }

  @discardableResult
  func succeed(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult
  {
    let result = try await execute(Binary.path, arguments, in: path, environment: environment)
    try #require(
      result.status == 0, "apphost \(arguments.joined(separator: " ")): \(result)", sourceLocation: sourceLocation)
    return result
  }

  /// Starts apphost without waiting for it (to kill it), its output thrown away; returns its pid.
  func launch(_ arguments: String...) throws -> Int32 {
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in self.environment { environment[key] = value }
    environment["APPHOST_ENGINE"] = nil
    let script = "cd \(shellQuote(path)) && exec \(([Binary.path] + arguments).map(shellQuote).joined(separator: " "))"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    let words: [String] = ["/bin/sh", "-c", script]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    let result = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp)
    guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
    return pid
  }

  func environment() async throws -> [String: String] {
    let result = try await succeed("env", "--format", "json")
    return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String]) ?? [:]
  }

  func ps() async throws -> [String: [String: String]] {
    let result = try await succeed("ps", "--json")
    return rowsByName(psJSON: result.output)
  }

  func redis(port: String?, password: String?, _ command: String...) async throws -> String {
    var arguments = ["-h", "127.0.0.1", "-p", port ?? "0", "--no-auth-warning"]
    if let password { arguments += ["-a", password] }
    let result = try await execute("redis-cli", arguments + command)
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// The pids the native engine recorded for this project's servers.
  func serverPIDs() throws -> Set<Int32> {
    let folder = path + "/.apphost/native"
    let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return Set(
      files.filter { $0.hasSuffix(".json") }.compactMap { file -> Int32? in
        guard let data = FileManager.default.contents(atPath: "\(folder)/\(file)"),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["pid"] as? NSNumber)?.int32Value
      })
  }

  /// Runs `body`, then `down -v`, and checks that no process carrying the project's mark is left.
  static func run(_ label: String, _ body: (NativeProject) async throws -> Void) async throws {
    let project = NativeProject(label)
    var failure: (any Error)?
    do {
      try await body(project)
    } catch {
      failure = error
    }
    let down = try await project.apphost("down", "--volumes")
    #expect(down.status == 0, "cleanup: \(down)")
    let left = ProcessScan.marked(project.mark, folder: project.path)
    #expect(left.isEmpty, "left running: \(left)")
    for process in left { kill(process.pid, SIGKILL) }
    project.folder.remove()
    if let failure { throw failure }
  }
}

/// What runs on this machine, read from /proc.
enum ProcessScan {
  struct Found: CustomStringConvertible {
    var pid: Int32
    var command: String
    var description: String { "\(pid) \(command)" }
  }

  /// The command line of every process that has one (kernel threads have none). Throws when /proc
  /// cannot be read: a scan of nothing must not pass.
  static func commandLines() throws -> [String] {
    let entries = try FileManager.default.contentsOfDirectory(atPath: "/proc")
    return entries.compactMap { entry -> String? in
      guard Int32(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
        !data.isEmpty
      else { return nil }
      return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }
  }

  /// The live processes whose environment holds `APPHOST_NATIVE_TEST_MARK=mark`, or whose working
  /// folder is inside `folder` (redis-server writes its title over its environment, and works in its
  /// data folder).
  static func marked(_ mark: String, folder: String? = nil) -> [Found] {
    let needle = Array("APPHOST_NATIVE_TEST_MARK=\(mark)".utf8)
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Found? in
      guard let pid = Int32(entry), pid != getpid(), isAlive(pid) else { return nil }
      let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") ?? Data()
      let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd")
      let inFolder = folder.map { folder in cwd.map { $0 == folder || $0.hasPrefix(folder + "/") } ?? false } ?? false
      guard inFolder || environ.split(separator: 0).contains(where: { Array($0) == needle }) else { return nil }
      let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline").map {
        String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
      }
      return Found(pid: pid, command: command ?? "?")
    }
  }

  /// True while the process runs (not a zombie).
  static func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
  }

  /// A redis-server that apphost did not start, on a port of its own.
  static func spawnBystander() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: findExecutable("redis-server") ?? "/usr/bin/redis-server")
    process.arguments = [
      "--port", "0", "--save", "", "--unixsocket", NSTemporaryDirectory() + "bystander-\(getpid()).sock",
    ]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    return process.processIdentifier
  }
}

func shellQuote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// The path of `name` on this process's PATH.
func findExecutable(_ name: String) -> String? {
  for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
    let candidate = "\(folder)/\(name)"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return nil
}
