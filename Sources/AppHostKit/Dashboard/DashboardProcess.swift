import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The dashboard of a running `up`: `apphost-dashboard` (next to the apphost binary) as a child process,
/// a client of the control socket that serves 127.0.0.1:PORT. `up` (or the background supervisor of
/// `up -d`) starts it and stops it when it ends; it also ends by itself once the control socket hangs up.
package final class DashboardProcess: @unchecked Sendable {
  package let record: DashboardRecord
  package let pid: Int32
  private let state: StateDirectory

  private init(record: DashboardRecord, pid: Int32, state: StateDirectory) {
    self.record = record
    self.pid = pid
    self.state = state
  }

  /// `apphost-dashboard` beside this apphost (a build folder), else in `../libexec/apphost/` (where
  /// scripts/install puts it, off PATH, as apphost-mcp).
  package static var executablePath: String {
    let folder = (BackgroundSupervisor.executablePath as NSString).deletingLastPathComponent as NSString
    let candidates = [
      folder.appendingPathComponent("apphost-dashboard"),
      (folder.appendingPathComponent("../libexec/apphost/apphost-dashboard") as NSString).standardizingPath,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
  }

  /// The token and port for a new run: a fresh token, the port of the last run while it is free.
  package static func prepare(_ state: StateDirectory, environment: [String: String]) -> DashboardRecord {
    if let token = environment[DashboardAccess.tokenVariable], token.count == 64,
      let port = environment[DashboardAccess.portVariable].flatMap({ Int($0) })
    {
      return DashboardRecord(port: port, token: token)
    }
    return DashboardRecord(port: DashboardRecord.choosePort(state), token: DashboardAccess.newToken())
  }

  /// Starts the dashboard (its output in `.apphost/logs/dashboard.log`) and waits until it listens (on
  /// the port asked for, or the next free one when that was taken meanwhile); it records itself in
  /// `.apphost/dashboard.json`. The token reaches it in its environment, never in an argument.
  package static func start(
    _ record: DashboardRecord, manifest: String, engine: EngineFlavor, state: StateDirectory
  ) async throws(AppHostError) -> DashboardProcess {
    let program = executablePath
    guard FileManager.default.isExecutableFile(atPath: program) else {
      throw .cannotStart(
        resource: "dashboard", command: program, reason: "apphost-dashboard is not installed beside apphost")
    }
    var environment = ProcessInfo.processInfo.environment.filter {
      $0.key != OrphanScan.variable && $0.key != OrphanScan.engineVariable && $0.key != DashboardAccess.portVariable
    }
    environment[DashboardAccess.tokenVariable] = record.token
    let (pid, logPath) = try spawnInBackground(
      program, arguments: ["--file", manifest, "--engine", engine.rawValue, "--port", String(record.port)],
      environment: environment, log: "dashboard.log", state: state, resource: "dashboard")
    guard let running = try await waitForRecord(token: record.token, state: state, pid: pid) else {
      kill(pid, SIGKILL)
      let reason = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
      throw .cannotStart(
        resource: "dashboard", command: program,
        reason: reason.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").suffix(3)
          .joined(separator: "\n"))
    }
    return DashboardProcess(record: running, pid: pid, state: state)
  }

  /// Waits until the dashboard of this token says where it listens (it writes `.apphost/dashboard.json`
  /// once it does); nil when it ended first or took longer than 10 s. `pid`: the dashboard's, when known.
  package static func waitForRecord(token: String?, state: StateDirectory, pid: Int32? = nil) async throws(AppHostError)
    -> DashboardRecord?
  {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
      if let current = DashboardRecord.load(state), current.token == token, let owner = current.pid,
        pid == nil || owner == pid
      {
        return current
      }
      if let pid, !ChildProcess.isRunning(pid) { return nil }
      try? await Task.sleep(for: .milliseconds(10))
    }
    return nil
  }

  /// Stops it (SIGTERM, SIGKILL after 2 s) and forgets its token (the port stays for the next run).
  package func stop() async {
    kill(pid, SIGTERM)
    let deadline = ContinuousClock.now + .seconds(2)
    while ChildProcess.isRunning(pid) && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(20))
    }
    if ChildProcess.isRunning(pid) { kill(pid, SIGKILL) }
    if DashboardRecord.load(state)?.pid == pid {
      try? DashboardRecord(port: record.port).save(state)
    }
  }

  /// Stops the project's recorded dashboard when the apphost that started it is gone (killed): it would
  /// end by itself once it notices, `down` and the next `up` do not leave it to that. A dashboard whose
  /// parent lives belongs to that apphost and is left alone, and so is any process that is not this
  /// project's `apphost-dashboard` (a pid reused since). True when one was stopped.
  @discardableResult
  package static func stopLeftover(_ state: StateDirectory) async -> Bool {
    guard let pid = DashboardRecord.load(state)?.pid, let status = ProcessStatus.read(pid), status.isRunning,
      status.parent == 1 || !ChildProcess.isRunning(status.parent),
      let arguments = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
        .split(separator: "\0", omittingEmptySubsequences: false).map(String.init),
      arguments.first?.hasSuffix("/apphost-dashboard") == true,
      let file = arguments.firstIndex(of: "--file").map({ $0 + 1 }).flatMap({
        arguments.indices.contains($0) ? arguments[$0] : nil
      }),
      (file as NSString).deletingLastPathComponent == (state.path as NSString).deletingLastPathComponent
    else { return false }
    await GracefulStop.stop([pid], grace: .seconds(2), remaining: GracefulStop.alive)
    Log.debug("stopped the dashboard (pid \(pid)) of an apphost that is gone")
    return true
  }

  /// The dashboard a running `up` serves, if one does: its record, while its process lives.
  package static func running(_ state: StateDirectory) -> DashboardRecord? {
    guard let record = DashboardRecord.load(state), let pid = record.pid, record.token != nil,
      kill(pid, 0) == 0
    else { return nil }
    return record
  }
}
