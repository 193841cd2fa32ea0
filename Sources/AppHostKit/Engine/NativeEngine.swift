import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `ContainerEngine` without containers: each cache runs as a process of this machine (`redis-server`,
/// `valkey-server`, `garnet-server` from PATH, or the cache's `nativeCommand`), with the semantics the
/// container engines give it: the password never in an argument list (the servers read it from a 0600
/// settings file in `.apphost/native/`), 127.0.0.1 only, the same persistence flags,
/// data volumes as folders under `.apphost/volumes/NAME/`, bind mounts used as they are.
///
/// What a container engine remembers, this one keeps in `.apphost/native/NAME.json` (0600): the server's
/// pid and start time (so it never signals a process that is not its own), its port, labels and how to
/// start it again. Servers run in a session of their own, so they outlive the `up` that started them
/// exactly when a container would (persistent, or `up --detach`); the leftovers of a killed `up` carry
/// its identity in their labels and are removed by the next `up` or `down`, as containers are.
package struct NativeEngine: ContainerEngine {
  package var flavor: EngineFlavor { .native }
  package let state: StateDirectory
  /// apphost's PATH, where the servers are looked for.
  package let path: String?

  package init(state: StateDirectory, path: String?) {
    self.state = state
    self.path = path
  }

  var recordsFolder: String { (state.path as NSString).appendingPathComponent("native") }
  var volumesFolder: String { (state.path as NSString).appendingPathComponent("volumes") }
  var logsFolder: String { (state.path as NSString).appendingPathComponent("logs") }

  func recordPath(_ name: String) -> String { (recordsFolder as NSString).appendingPathComponent("\(name).json") }
  package func volumeFolder(_ name: String) -> String { (volumesFolder as NSString).appendingPathComponent(name) }

  // MARK: What runs

  package func isRootless() async throws(AppHostError) -> Bool { false }

  package func containers(project: String) async throws(AppHostError) -> [ContainerRecord] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: recordsFolder)) ?? [])
      .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    let records = try await inspect(names).filter { $0.labels[LabelKey.project] == project }
    Log.debug(
      "native: \(records.count) server\(records.count == 1 ? "" : "s") recorded in \(recordsFolder)"
        + (records.isEmpty ? "" : " (\(records.filter(\.isRunning).count) running)"))
    return records
  }

  package func inspect(_ names: [String]) async throws(AppHostError) -> [ContainerRecord] {
    names.compactMap { name in
      guard var record = loadAdopting(name) else { return nil }
      let alive = record.pid > 0 && record.identity.isAlive
      if !alive && record.exitCode == nil, let code = Self.reap(record.pid) {
        // Our own child that ended: its exit code is known.
        record.exitCode = code
        do { try save(record) } catch { Log.debug("could not record the exit of \(name): \(error)") }
      }
      return record.containerRecord(running: alive)
    }
  }

  // MARK: Networks and volumes

  /// Native servers share the machine's loopback: there is no network to make.
  package func createNetwork(_ network: NetworkPlan) async throws(AppHostError) -> Bool { false }
  package func networks(project: String, directory: String) async throws(AppHostError) -> [String] { [] }
  package func removeNetworks(_ names: [String]) async throws(AppHostError) {}
  package func connect(_ container: String, to network: String, alias: String) async throws(AppHostError) {}

  package func createVolume(_ volume: VolumePlan) async throws(AppHostError) -> Bool {
    let folder = volumeFolder(volume.name)
    if FileManager.default.fileExists(atPath: folder) { return false }
    try state.create()
    try Self.makeFolder(volumesFolder)
    try Self.makeFolder(folder)
    return true
  }

  package func volumes(project: String, directory: String) async throws(AppHostError) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: volumesFolder)) ?? []).sorted()
  }

  package func removeVolumes(_ names: [String]) async throws(AppHostError) {
    for name in names where !name.isEmpty && !name.contains("/") && name != "." && name != ".." {
      let folder = volumeFolder(name)
      guard FileManager.default.fileExists(atPath: folder) else { continue }
      do {
        try FileManager.default.removeItem(atPath: folder)
      } catch {
        throw .stateUnwritable(
          path: folder, reason: "the volume folder cannot be removed: \(error.localizedDescription)")
      }
    }
  }

  // MARK: Starting and stopping

  /// Every server program must be there before the first one starts.
  package func preflight(_ containers: [ContainerPlan]) async throws(AppHostError) {
    for container in containers {
      guard let server = container.server else { continue }
      _ = try program(for: server, resource: container.resource)
    }
  }

  package func run(_ container: ContainerPlan, owner: Owner?, detached: Bool) async throws(AppHostError) {
    guard let server = container.server else {
      throw .engineFailed(
        command: "native run (\(container.resource))",
        reason: "\(container.kind.rawValue) needs a container engine (docker or podman)")
    }
    if load(container.containerName).map({ $0.identity.isAlive }) == true {
      throw .engineFailed(
        command: "native run (\(container.resource))", reason: "the name \(container.containerName) is already in use")
    }
    let program = try program(for: server, resource: container.resource)
    try state.create()
    try Self.makeFolder(recordsFolder)
    try Self.makeFolder(logsFolder)

    // The data folder: the volume's, the bind mount's, or a scratch folder that goes with the server.
    var data = (recordsFolder as NSString).appendingPathComponent("\(container.containerName).data")
    var scratch = true
    for mount in container.mounts where mount.target == "/data" {
      scratch = false
      switch mount.source {
      case .volume(let name): data = volumeFolder(name)
      case .bind(let folder): data = folder
      }
    }
    try Self.makeFolder(data, intermediate: !scratch)
    let port: Int
    if let fixed = container.hostPort {
      port = fixed
    } else if server.cluster {
      // A cluster node's bus listens on its port + 10000, on this machine too.
      if let remembered = container.preferredPort, LocalPorts.suitsClusterNode(remembered, busFree: true) {
        port = remembered
      } else {
        port = try LocalPorts.pickClusterPort(busFree: true)
      }
    } else if let remembered = container.preferredPort, LocalPorts.isFree(remembered) {
      port = remembered
    } else {
      // The remembered port is taken now (by a client's connection, or a server still on its way out):
      // another one, as an engine would pick.
      if let remembered = container.preferredPort {
        Log.debug("\(container.resource): the remembered port \(remembered) is taken now; picking another")
      }
      port = try LocalPorts.pick()
    }

    var labels = Dictionary(container.labels.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    labels[LabelKey.configHash] = container.configHash
    if container.lifetime == .session {
      if let owner {
        labels[LabelKey.ownerPID] = owner.pid
        labels[LabelKey.ownerStart] = owner.startTime
      }
      if detached { labels[LabelKey.detached] = "true" }
    }
    var environment: [String: String] = [:]
    for variable in container.environment { environment[variable.name] = variable.value.revealed() }

    var primaryPort: Int?
    if let primary = server.replicaOf ?? server.sentinel?.primary {
      guard let record = load(primary), record.identity.isAlive else {
        throw .engineFailed(
          command: "native run (\(container.resource))",
          reason: "its primary \(primary) is not running; start the cache again (`apphost up`)")
      }
      primaryPort = record.port
    }
    let launch = NativeLaunch.make(
      server: server, program: program, port: port, dataFolder: data,
      secretFile: (recordsFolder as NSString).appendingPathComponent("\(container.containerName).conf"),
      primaryPort: primaryPort)
    var record = NativeRecord(
      name: container.containerName, resource: container.resource, pid: 0, startTime: "", port: port,
      labels: labels, environment: environment, image: "native:\(program)", launch: launch,
      dataFolder: data, scratch: scratch,
      logFile: (logsFolder as NSString).appendingPathComponent("\(container.resource).log"))
    try launch.writeSecretFile()
    try Self.seedRDB(server.seedRDB, into: data)
    try spawn(&record, truncatingLog: true)
  }

  /// A `seed: {"rdb": ...}` copied into a data folder that holds no dataset, as the container's start does.
  static func seedRDB(_ source: String?, into folder: String) throws(AppHostError) {
    guard let source else { return }
    let existing = ["dump.rdb", "appendonlydir", "appendonly.aof"].filter {
      FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0))
    }
    guard existing.isEmpty else {
      Log.debug("native: not seeding \(folder): it holds \(existing.joined(separator: ", "))")
      return
    }
    guard let data = FileManager.default.contents(atPath: source) else {
      throw .stateUnwritable(path: source, reason: "the seed RDB cannot be read")
    }
    try writeFileAtomically(
      (folder as NSString).appendingPathComponent("dump.rdb"), contents: Array(data), mode: 0o600)
  }

  package func start(_ name: String) async throws(AppHostError) {
    guard var record = load(name) else {
      throw .engineFailed(command: "native start \(name)", reason: "apphost has no record of \(name)")
    }
    if record.identity.isAlive { return }
    // A server sentinels watch (and a sentinel) rewrites its file with what it learnt: a primary that was
    // replaced comes back as a replica of the new one, a sentinel keeps its identity for the others.
    let rewritten = record.labels[LabelKey.replicationGroup] != nil || record.labels[LabelKey.sentinelOf] != nil
    if !rewritten || record.launch.secretFile.map({ !FileManager.default.fileExists(atPath: $0) }) == true {
      try record.launch.writeSecretFile()
    }
    try spawn(&record, truncatingLog: false)
  }

  /// Stops the server (SIGTERM, SIGKILL after `grace`) and keeps its record, to be started again.
  package func stop(_ name: String, grace: Duration) async throws(AppHostError) {
    guard var record = loadAdopting(name) else {
      throw .engineFailed(command: "native stop \(name)", reason: "apphost has no record of \(name)")
    }
    guard record.identity.isAlive else { return }
    let identity = record.identity
    await GracefulStop.stop([record.pid], grace: grace) { pids in identity.isAlive ? pids : [] }
    let deadline = ContinuousClock.now + .seconds(5)
    var code: Int?
    while code == nil && identity.isAlive && ContinuousClock.now < deadline {
      code = Self.reap(record.pid)
      if code == nil { try? await Task.sleep(for: GracefulStop.interval) }
    }
    record.exitCode = code ?? Self.reap(record.pid) ?? 0
    try save(record)
  }

  package func hostPort(_ name: String, containerPort: Int) async throws(AppHostError) -> Int {
    guard let record = load(name) else {
      throw .engineOutput(command: "native port \(name)", reason: "apphost has no record of \(name)")
    }
    return record.port
  }

  /// Stops each server (SIGTERM, then SIGKILL after `grace`; at once without one, as `rm --force` does)
  /// and forgets it, with its scratch data folder. A pid whose start time is not the recorded one belongs
  /// to another process now and is left alone.
  package func remove(_ names: [String], grace: Duration?) async throws(AppHostError) {
    let records = names.compactMap(loadAdopting)
    let live = records.filter { $0.identity.isAlive }
    if let grace {
      await GracefulStop.stop(live.map(\.pid), grace: grace) { pids in
        pids.filter { pid in live.first { $0.pid == pid }?.identity.isAlive ?? false }
      }
    } else {
      for record in live where record.identity.isAlive { kill(record.pid, SIGKILL) }
    }
    for record in live {
      // Our own child: collected, so that it leaves no zombie; another's: wait until it is gone.
      let deadline = ContinuousClock.now + .seconds(5)
      while record.identity.isAlive && ContinuousClock.now < deadline {
        if Self.reap(record.pid) != nil { break }
        try? await Task.sleep(for: GracefulStop.interval)
      }
      _ = Self.reap(record.pid)
    }
    for record in records {
      unlink(recordPath(record.name))
      if let file = record.launch.secretFile { unlink(file) }
      if record.scratch { try? FileManager.default.removeItem(atPath: record.dataFolder) }
    }
  }

  // MARK: Images

  /// Native servers run from PATH: there is no image to have.
  package func hasImage(_ image: String) async throws(AppHostError) -> Bool { true }

  /// Nothing to pull; says so, once per server.
  package func pull(_ image: String, resource: String, progress: @escaping @Sendable (String) -> Void)
    async throws(AppHostError)
  {
    progress("nothing to pull: the native engine runs \(image) from this machine")
  }

  // MARK: Output

  package func logs(_ name: String, tail: Int?, since: Date?, timestamps: Bool) async throws(AppHostError)
    -> [String]
  {
    guard let record = load(name), let data = FileManager.default.contents(atPath: record.logFile) else { return [] }
    var lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
    if since != nil || timestamps {
      var last: Date?
      lines = LogTime.filterServerLines(lines, since: since, timestamps: timestamps, last: &last)
    }
    guard let tail else { return lines }
    return Array(lines.suffix(tail))
  }

  /// Prints the log's last `tail` lines (all without a tail), then new lines as the server writes them,
  /// until it has ended and everything is read, or the task is cancelled.
  package func followLogs(
    _ name: String, tail: Int?, since: Date?, timestamps: Bool, onLine: @escaping @Sendable (String) -> Void
  ) async throws(AppHostError) {
    guard let record = load(name) else { return }
    var last: Date?
    let descriptor = open(record.logFile, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    var splitter = LineSplitter()
    var first = true
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while !Task.isCancelled {
      let count = read(descriptor, &buffer, buffer.count)
      if count > 0 {
        var lines = buffer[..<count].withUnsafeBytes { splitter.lines(in: $0) }
        if since != nil || timestamps {
          lines = LogTime.filterServerLines(lines, since: since, timestamps: timestamps, last: &last)
        }
        if first, let tail {
          lines = Array(lines.suffix(tail))
        }
        for line in lines { onLine(line) }
        continue
      }
      first = false
      if !record.identity.isAlive {
        if let last = splitter.finish() { onLine(last) }
        return
      }
      do { try await Task.sleep(for: .milliseconds(100)) } catch { return }
    }
  }

  // MARK: Helpers

  /// The server's program: `nativeCommand` (a path, or a name on PATH), else the server's usual name.
  func program(for server: ServerPlan, resource: String) throws(AppHostError) -> String {
    let command = server.program
    if command.contains("/") {
      guard FileManager.default.isExecutableFile(atPath: command) else {
        throw .nativeServerMissing(resource: resource, server: server.kind, command: command)
      }
      return command
    }
    guard let found = findExecutable(command, path: path) else {
      throw .nativeServerMissing(resource: resource, server: server.kind, command: command)
    }
    return found
  }

  /// The record, with the pid of a server that was started but never recorded filled in when it is found.
  func loadAdopting(_ name: String) -> NativeRecord? {
    guard var record = load(name) else { return nil }
    if record.pid == 0, let found = Self.adopt(record) {
      record.pid = found.pid
      record.startTime = found.startTime
      do { try save(record) } catch { Log.debug("could not record the server found for \(name): \(error)") }
    }
    return record
  }

  func load(_ name: String) -> NativeRecord? {
    guard let data = FileManager.default.contents(atPath: recordPath(name)) else { return nil }
    return Log.attempt("read \(recordPath(name))") { try JSONDecoder().decode(NativeRecord.self, from: data) }
  }

  func save(_ record: NativeRecord) throws(AppHostError) {
    let data: Data
    do { data = try JSONEncoder().encode(record) } catch {
      throw .stateUnwritable(path: recordPath(record.name), reason: "\(error)")
    }
    try writeFileAtomically(recordPath(record.name), contents: Array(data), mode: 0o600, durable: false)
  }

  /// Starts the server in a session of its own, its settings in its 0600 file, its output appended to its
  /// log file, and records its pid and start time at once.
  private func spawn(_ record: inout NativeRecord, truncatingLog: Bool) throws(AppHostError) {
    // Recorded before it starts (pid 0: starting): if apphost is killed before the pid is written, the
    // next look finds the server by its working folder (`adopt`).
    record.pid = 0
    record.startTime = ""
    try save(record)
    let (pid, startTime) = try NativeLaunch.spawn(record.launch, logFile: record.logFile, truncatingLog: truncatingLog)
    record.pid = pid
    record.startTime = startTime
    record.exitCode = nil
    do {
      try save(record)
    } catch {
      kill(record.pid, SIGKILL)
      _ = Self.reap(record.pid)
      throw error
    }
    Log.debug("native: started \(shellCommandLine(record.launch.arguments)) (pid \(record.pid), port \(record.port))")
  }

  static func makeFolder(_ path: String, intermediate: Bool = false) throws(AppHostError) {
    do {
      try FileManager.default.createDirectory(
        atPath: path, withIntermediateDirectories: intermediate, attributes: [.posixPermissions: 0o700])
    } catch {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
      throw .stateUnwritable(path: path, reason: error.localizedDescription)
    }
  }

  /// The server of a record whose pid was never written (apphost was killed right after starting it):
  /// the live process running the record's program in the record's data folder (the server works there).
  static func adopt(_ record: NativeRecord) -> ProcessIdentity? {
    guard let program = record.launch.arguments.first else { return nil }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
      guard let pid = Int32(entry), pid != getpid(),
        let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
        cwd == record.dataFolder,
        let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe"),
        exe == program || exe == URL(fileURLWithPath: program).resolvingSymlinksInPath().path,
        let start = ProcessIdentity.startTime(of: pid)
      else { continue }
      Log.debug("native: found the server of \(record.name) that was never recorded (pid \(pid))")
      return ProcessIdentity(pid: pid, startTime: start)
    }
    return nil
  }

  /// Collects an ended child of this process: its exit code (128 + signal), or nil when it is not our
  /// child or still runs.
  static func reap(_ pid: Int32) -> Int? {
    guard pid > 0 else { return nil }
    var status: Int32 = 0
    guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
    if status & 0x7f == 0 { return Int((status >> 8) & 0xff) }
    return 128 + Int(status & 0x7f)
  }
}

/// What the native engine remembers of a server.
struct NativeRecord: Codable, Sendable {
  var name: String
  var resource: String
  var pid: Int32
  var startTime: String
  var port: Int
  var labels: [String: String]
  /// The container environment of the plan (the password among it: the file is 0600), for `SAVE`
  /// before stopping and for `apphost exec`.
  var environment: [String: String]
  var image: String
  var launch: NativeLaunch
  var dataFolder: String
  /// The data folder is the server's own (no volume, no bind mount): it goes with the server.
  var scratch: Bool
  var logFile: String
  var exitCode: Int?

  var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime) }

  func containerRecord(running: Bool) -> ContainerRecord {
    ContainerRecord(
      id: "pid-\(pid)", name: name, labels: labels, environment: environment,
      state: running ? .running : .exited, exitCode: exitCode ?? 0,
      ports: [labels[LabelKey.sentinelOf] == nil ? Planner.cachePort : Planner.sentinelPort: port], image: image)
  }
}

/// How a server is started: its arguments (never a secret) and the private settings file (0600) it
/// reads its password from. The file is written before the server is started, so a server never runs
/// without its settings, whenever apphost is killed (settings on standard input were lost when apphost
/// died between the start and the write: the server then ran on its defaults, on every interface with no
/// password; found by the SIGKILL test).
package struct NativeLaunch: Codable, Sendable, Equatable {
  var arguments: [String]
  var secretFile: String?
  var secretFileContents: String?

  static func make(
    server: ServerPlan, program: String, port: Int, dataFolder: String, secretFile: String, described: Bool = false,
    primaryPort: Int? = nil
  ) -> NativeLaunch {
    let password = server.password?.revealed()
    if let sentinel = server.sentinel {
      // Sentinel mode: the file is the sentinel's own, which it rewrites as it learns (hence writable, and
      // given as the only file).
      var lines = [
        "bind 127.0.0.1", "port \(port)", "protected-mode no", "daemonize no", "dir \(configQuoted(dataFolder))",
        "logfile \"\"",
      ]
      lines += ServerCommand.sentinelSettings(
        sentinel, host: Planner.host, port: primaryPort.map(String.init) ?? "{\(sentinel.master).port}"
      ).map { $0.joined(separator: " ") }
      if let password {
        lines += ServerCommand.sentinelPasswordLines(master: sentinel.master, quotedPassword: configQuoted(password))
      }
      return NativeLaunch(
        arguments: [program, secretFile, "--sentinel"], secretFile: secretFile,
        secretFileContents: lines.joined(separator: "\n") + "\n")
    }
    switch server.kind {
    case .redis, .valkey:
      // The file first, then the flags that follow override it (the manifest's `args`).
      // The user's configFile first, read in place; apphost's settings after it win.
      var lines = server.configFile.map { ["include \(configQuoted($0.path))"] } ?? []
      lines += [
        "bind 127.0.0.1", server.tls == nil ? "port \(port)" : "port 0", "protected-mode yes", "daemonize no",
        "dir \(configQuoted(dataFolder))", "logfile \"\"",
      ]
      if let tls = server.tls {
        // TLS only: the port apphost chose takes TLS, and there is no plain-text port.
        lines += ServerCommand.tlsSettings(
          port: port, certificate: configQuoted(tls.serverCertificate), key: configQuoted(tls.serverKey),
          authority: configQuoted(tls.caCertificate), replica: server.mayReplicate
        ).map { $0.joined(separator: " ") }
      }
      if let password { lines.append("requirepass \(configQuoted(password))") }
      // A replica's link to its primary authenticates too (a cluster or the sentinels pick who is whose).
      if server.mayReplicate, let password { lines.append("masterauth \(configQuoted(password))") }
      if server.cluster {
        lines += ServerCommand.clusterSettings(tls: server.tls != nil).map { $0.joined(separator: " ") }
      }
      if server.replicaOf != nil {
        // A read replica of the server on 127.0.0.1: it announces itself as 127.0.0.1 and its own port
        // already (the primary lists what a client here can reach).
        lines.append("replicaof 127.0.0.1 \(primaryPort.map(String.init) ?? "{primary port}")")
      }
      if let persistence = server.persistence {
        lines.append("save \(persistence.intervalSeconds) \(persistence.keysChanged)")
      } else {
        lines.append("save \"\"")
      }
      return NativeLaunch(
        arguments: [program, secretFile] + server.extraArguments, secretFile: secretFile,
        secretFileContents: lines.joined(separator: "\n") + "\n")
    case .garnet:
      var arguments = [program, "--bind", "127.0.0.1", "--port", "\(port)"]
      var contents: String?
      if let password, server.configFile?.password == nil {
        // Garnet's RedisConf import takes the rest of the line as the password, unquoted. It imports one
        // file: the password, then the lines of the user's configFile (which sets none).
        contents = "requirepass \(password)\n"
        if let config = server.configFile {
          contents! += described ? "<the lines of \(config.path)>\n" : configText(config.path)
        }
        arguments += ["--config-import-path", secretFile, "--config-import-format", "RedisConf", "--auth", "Password"]
      } else if let config = server.configFile {
        // Read in place: it holds the password, if there is one.
        arguments += ["--config-import-path", config.path, "--config-import-format", "RedisConf"]
        if password != nil { arguments += ["--auth", "Password"] }
      }
      if let persistence = server.persistence {
        arguments += [
          "--checkpointdir", (dataFolder as NSString).appendingPathComponent("checkpoints"), "--recover", "--aof",
          "--aof-commit-freq", "\(persistence.intervalSeconds * 1000)",
        ]
      }
      return NativeLaunch(
        arguments: arguments + server.extraArguments, secretFile: contents == nil ? nil : secretFile,
        secretFileContents: contents)
    }
  }

  /// The launch as `apphost config` shows it: the command line, then what the file holds, secrets masked.
  package static func described(_ server: ServerPlan, resource: String) -> String {
    var masked = server
    masked.password = server.password.map { _ in Value.text(Value.mask) }
    let launch = make(
      server: masked, program: server.program, port: 0,
      dataFolder: "<data folder>", secretFile: ".apphost/native/<name>.conf", described: true)
    let port = "{\(resource).port}"
    var text = shellCommandLine(launch.arguments).replacingOccurrences(of: "--port 0", with: "--port \(port)")
    if let contents = launch.secretFileContents {
      let settings = contents.split(separator: "\n").map { line in
        line == "port 0" && server.tls == nil
          ? "port \(port)" : line == "tls-port 0" ? "tls-port \(port)" : String(line)
      }
      text += "   (in that file, 0600: " + settings.joined(separator: "; ") + ")"
    }
    return text
  }

  /// A configFile's text, ending in a newline (it was read when the manifest was loaded).
  static func configText(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "" }
    let text = String(decoding: data, as: UTF8.self)
    return text.hasSuffix("\n") || text.isEmpty ? text : text + "\n"
  }

  func writeSecretFile() throws(AppHostError) {
    guard let secretFile, let secretFileContents else { return }
    // Written again at each start (or, for a server that rewrites it, kept): not flushed.
    try writeFileAtomically(secretFile, contents: Array(secretFileContents.utf8), mode: 0o600, durable: false)
  }

  /// posix_spawn in a new session, standard input from /dev/null, output to the log.
  static func spawn(_ launch: NativeLaunch, logFile: String, truncatingLog: Bool)
    throws(AppHostError) -> (pid: Int32, startTime: String)
  {
    let log = open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncatingLog ? O_TRUNC : 0), 0o600)
    guard log >= 0 else { throw .stateUnwritable(path: logFile, reason: String(cString: strerror(errno))) }
    defer { close(log) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, log, 1)
    posix_spawn_file_actions_adddup2(&actions, log, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // A session of its own: the terminal's Ctrl-C reaches apphost, which decides what to stop.
    posix_spawnattr_setflags(&attributes, Int16(Self.spawnSetSID | Int32(POSIX_SPAWN_SETSIGMASK)))
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)

    // apphost's environment, without the mark that would make the server look like a program of ours.
    let environment = ProcessInfo.processInfo.environment.filter {
      $0.key != OrphanScan.variable && $0.key != OrphanScan.engineVariable
    }.map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let result = withCStrings(launch.arguments) { argv in
      withCStrings(environment) { envp in
        posix_spawn(&pid, launch.arguments[0], &actions, &attributes, argv, envp)
      }
    }
    guard result == 0 else {
      throw .engineFailed(command: launch.arguments[0], reason: String(cString: strerror(result)))
    }
    return (pid, ProcessIdentity.startTime(of: pid) ?? "")
  }

  /// glibc's POSIX_SPAWN_SETSID (not exported to Swift by every Glibc module map).
  static let spawnSetSID: Int32 = 0x80
}

/// A redis.conf string value: quoted, with `\` and `"` escaped (control characters are refused by the
/// manifest reader before a password gets here).
func configQuoted(_ text: String) -> String {
  var result = "\""
  for character in text {
    switch character {
    case "\\": result += "\\\\"
    case "\"": result += "\\\""
    default: result.append(character)
    }
  }
  return result + "\""
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
  var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
  pointers.append(nil)
  defer { for pointer in pointers { free(pointer) } }
  return body(pointers)
}
