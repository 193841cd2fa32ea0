import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A second `apphost up` on a running project applies every change of apphost.json to it, as a second
/// `docker compose up` does: on docker, podman and native, for a foreground `up` and for `up -d` with
/// programs.
@Suite(.enabled(if: !ControlEngines.all.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ApplyTests {
  static func manifest(password: String, mark: String, withRemoved: Bool) -> String {
    var text = """
      "cache": {"type": "redis", "password": "\(password)", "dataVolume": true},
      "web": {"type": "executable", "command": "sh", "args": ["-c", "echo web sees $MARK; exec sleep 300"],
              "references": ["cache"], "env": {"MARK": "\(mark)"}},
      "keep": {"type": "executable", "command": "sh", "args": ["-c", "exec sleep 300"]}
      """
    if withRemoved {
      text += """
        ,
        "gone": {"type": "executable", "command": "sh", "args": ["-c", "exec sleep 300"]},
        "spare": {"type": "redis", "password": false, "dataVolume": true}
        """
    }
    return text
  }

  /// The environment a process runs with, from /proc.
  static func environment(of pid: Int32) -> [String: String] {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
    var values: [String: String] = [:]
    for entry in data.split(separator: 0) {
      let text = String(decoding: entry, as: UTF8.self)
      guard let equals = text.firstIndex(of: "=") else { continue }
      values[String(text[..<equals])] = String(text[text.index(after: equals)...])
    }
    return values
  }

  static func redis(_ port: String, password: String?, _ command: String...) async throws -> String {
    var arguments = ["-h", "127.0.0.1", "-p", port, "--no-auth-warning"]
    if let password { arguments += ["-a", password] }
    let result = try await execute("redis-cli", arguments + command)
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func port(_ rows: [String: [String: Any]], _ name: String) -> String {
    String((rows[name]?["endpoint"] as? String ?? "?").split(separator: ":").last ?? "?")
  }

  /// Whether the named volume (the native engine: its folder) exists.
  static func volumeExists(_ project: ControlTests.Target, _ volume: String) async throws -> Bool {
    if project.engine == "native" {
      return FileManager.default.fileExists(atPath: project.path + "/.apphost/volumes/" + volume)
    }
    return try await execute(project.engine, ["volume", "inspect", volume]).status == 0
  }

  /// Starts the project (`detached`: `up -d`, else a foreground `up` in the background), changes the
  /// manifest, runs `up` again and checks that every change was applied, then stops it.
  static func appliesEveryChange(engine: String, detached: Bool) async throws {
    try await ControlTests.withProject(engine, detached ? "apply-d" : "apply-fg") { project in
      project.write(manifest(password: "First-Password-1", mark: "one", withRemoved: true))
      var up: BackgroundCommand?
      defer { up?.signal(SIGKILL) }
      if detached {
        let started = try await project.apphost("up", "-d", "--no-dashboard")
        try #require(started.status == 0, "\(started)")
      } else {
        up = try project.background("up", "--no-dashboard")
      }
      try #require(try await project.apphost("wait", "--timeout", "90").status == 0, "\(up?.output ?? "")")
      let rows = try await project.ps()
      let cachePort = port(rows, "cache")
      let sparePort = port(rows, "spare")
      #expect(try await redis(cachePort, password: "First-Password-1", "SET", "kept", "yes") == "OK")
      let web = try #require(try await project.pid("web"), "\(rows)")
      let keep = try #require(try await project.pid("keep"), "\(rows)")
      let gone = try #require(try await project.pid("gone"), "\(rows)")

      // An edit that is not valid JSON is refused, and changes nothing.
      project.write(manifest(password: "First-Password-1", mark: "one", withRemoved: true) + ", \"broken\": ")
      let refused = try await project.apphost("up")
      #expect(refused.status == 65, "\(refused)")
      project.write(manifest(password: "First-Password-1", mark: "one", withRemoved: true))
      #expect(try await project.pid("web") == web)
      #expect(try await project.pid("gone") == gone)

      project.write(manifest(password: "Second-Password-2", mark: "two", withRemoved: false))
      let began = ContinuousClock.now
      let second = try await (detached ? project.apphost("up", "-d") : project.apphost("up"))
      let output = second.output
      #expect(second.status == 0, "\(second)\n\(up?.output ?? "")")
      for line in [
        "gone", "| removed", "cache", "| recreated (its password changed)", "spare", "web",
        "| restarted (cache was recreated",
        "applied apphost.json to the running apphost up: 1 recreated, 1 restarted, 2 removed",
      ] {
        #expect(output.contains(line), "\(line) in:\n\(second)")
      }
      #expect(!output.contains("keep"), "\(output)")
      #expect(!output.contains("native:"), "\(output)")
      #expect(ContinuousClock.now - began < .seconds(45), "the second up took \(ContinuousClock.now - began)")

      let after = try await project.ps()
      #expect(after["gone"] == nil && after["spare"] == nil, "\(after)")
      #expect(try await project.pid("keep") == keep, "an unchanged program keeps running")
      let newWeb = try #require(try await project.pid("web"), "\(after)")
      #expect(newWeb != web && !ControlTests.isAlive(web) && !ControlTests.isAlive(gone))
      let seen = environment(of: newWeb)
      #expect(seen["MARK"] == "two", "\(seen)")
      let newPort = port(after, "cache")
      #expect(seen["CACHE_PORT"] == newPort, "\(seen)")
      #expect(seen["CACHE_PASSWORD"] == "Second-Password-2")
      #expect(try await redis(newPort, password: "Second-Password-2", "GET", "kept") == "yes", "the data stayed")
      #expect(after["cache"]?["health"] as? String == "healthy", "\(after)")
      #expect(try await redis(sparePort, password: nil, "PING") != "PONG", "the removed cache stopped")
      #expect(try await volumeExists(project, "\(project.name)-spare-data"), "its volume stays")

      let again = try await (detached ? project.apphost("up", "-d") : project.apphost("up"))
      #expect(again.status == 0 && again.output.contains("nothing changed"), "\(again)")
      #expect(try await project.pid("web") == newWeb)

      if let up {
        up.signal(SIGINT)
        #expect(try await up.wait(timeout: .seconds(60)) == 130, "\(up.output)")
        #expect(up.output.contains("web sees two"), "\(up.output)")
      } else {
        let down = try await project.apphost("down")
        #expect(down.status == 0, "\(down)")
      }
      #expect(!ControlTests.isAlive(newWeb) && !ControlTests.isAlive(keep))
      #expect(try await redis(newPort, password: "Second-Password-2", "PING") != "PONG")
    }
  }

  @Test(arguments: ControlEngines.all)
  func aSecondUpAppliesEveryChangeToAForegroundUp(engine: String) async throws {
    try await Self.appliesEveryChange(engine: engine, detached: false)
  }

  @Test(arguments: ControlEngines.all)
  func aSecondUpAppliesEveryChangeToUpDetachedWithPrograms(engine: String) async throws {
    try await Self.appliesEveryChange(engine: engine, detached: true)
  }

  /// A recreated cache that does not get ready is a failure (exit 1) that leaves no container; what needs
  /// it is not restarted, and the rest of the session runs on.
  @Test(arguments: ControlEngines.all)
  func aRecreatedCacheThatFailsIsReportedAndTheRestRunsOn(engine: String) async throws {
    try await ControlTests.withProject(engine, "apply-fail") { project in
      let first = """
        "cache": {"type": "redis", "password": false},
        "web": {"type": "executable", "command": "sh", "args": ["-c", "exec sleep 300"], "references": ["cache"]},
        "keep": {"type": "executable", "command": "sh", "args": ["-c", "exec sleep 300"]}
        """
      project.write(first)
      let up = try project.background("up", "--no-dashboard")
      defer { up.signal(SIGKILL) }
      try #require(try await project.apphost("wait", "--timeout", "90").status == 0, "\(up.output)")
      let web = try await project.pid("web")
      let keep = try await project.pid("keep")
      project.write(
        first.replacingOccurrences(
          of: #""password": false}"#, with: #""password": false, "args": ["--no-such-option", "yes"]}"#))
      let second = try await project.apphost("up", "--timeout", "20")
      #expect(second.status == 1, "\(second)\n\(up.output)")
      #expect(second.output.contains("cache") && second.output.contains("| failed ("), "\(second)")
      #expect(second.output.contains("| failed (not restarted: cache did not start)"), "\(second)")
      #expect(second.errors.contains("failed (the rest runs on"), "\(second)")
      #expect(try await project.pid("web") == web, "what needs the failed cache is not restarted")
      #expect(try await project.pid("keep") == keep, "the rest runs on")
      let rows = try await project.ps()
      #expect(rows["cache"]?["state"] as? String != "running", "\(rows)")
      if engine != "native" {
        let left = try await execute(
          engine, ["ps", "-a", "--filter", "name=^\(project.name)-cache$", "--format", "{{.Names}}"])
        #expect(left.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no orphan: \(left)")
      }
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(60)) == 130, "\(up.output)")
    }
  }
}
