import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The web dashboard in a real browser: Debian's chromium (headless) through selenium, driven by
/// Tests/Fixtures/dashboard/browser.py against a foreground `up` on the native engine. Screenshots (laptop
/// and narrow, light and dark) go to test-artifacts/dashboard/ (gitignored).
enum Browser {
  static var available: Bool {
    FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
      && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && NativeProject.wanted
      && seleniumInstalled
  }

  static let seleniumInstalled: Bool = {
    var pid: pid_t = 0
    let arguments = ["python3", "-c", "import selenium"]
    var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    guard posix_spawnp(&pid, "python3", &actions, nil, &pointers, environ) == 0 else { return false }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return status == 0
  }()

  static let artefacts = Binary.repository + "/test-artifacts/dashboard"
}

@Suite(
  .enabled(
    if: Browser.available, "needs chromium, chromium-driver, selenium (scripts/test installs them) and redis-server"))
struct DashboardTests {
  static let password = "dash-Secret-9f3k"

  @Test func theDashboardShowsRestartsStreamsAndRevealsInABrowser() async throws {
    try await ControlTests.withProject("native", "dash") { project in
      project.write(
        """
        "cache": {"type": "redis", "password": "\(Self.password)"},
        "api": {"type": "executable", "command": "python3",
                "args": ["-u", "-c", "import os,time\\nprint('api started', os.getpid())\\ni=0\\nwhile True:\\n i+=1; print('tick', i); time.sleep(0.5)"],
                "replicas": 2, "references": ["cache"]}
        """)
      let up = try project.background("up")
      defer { up.signal(SIGKILL) }
      let waited = try await project.apphost("wait", "--timeout", "90")
      try #require(waited.status == 0, "\(waited)\n\(up.output)")
      try await up.waitForOutput("apphost: dashboard http://127.0.0.1:", timeout: .seconds(60))
      let printed = try #require(
        up.output.split(separator: "\n").first { $0.hasPrefix("apphost: dashboard ") }.map {
          String($0.dropFirst("apphost: dashboard ".count))
        })
      #expect(printed.hasPrefix("http://127.0.0.1:") && printed.contains("/?token="), "\(printed)")
      // `apphost dashboard` prints the same address; the token is nowhere in argv.
      let listed = try await project.apphost("dashboard")
      #expect(
        listed.status == 0 && listed.output.trimmingCharacters(in: .whitespacesAndNewlines) == printed, "\(listed)")
      let token = String(printed.split(separator: "=").last ?? "")
      #expect(token.count == 64 && token.allSatisfy(\.isHexDigit), "\(token)")
      for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
        let command = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline"))) ?? Data()
        #expect(!String(decoding: command, as: UTF8.self).contains(token), "the token is in the argv of pid \(entry)")
      }
      var info = stat()
      #expect(stat(project.path + "/.apphost/dashboard.json", &info) == 0 && info.st_mode & 0o777 == 0o600)

      let result = try await execute(
        "python3",
        [
          Binary.repository + "/Tests/Fixtures/dashboard/browser.py", printed, project.path, Binary.path,
          Browser.artefacts, Self.password,
        ], in: project.path, environment: project.environment.mapValues { Optional($0) })
      #expect(result.status == 0, "\(result)\n--- up\n\(up.output)")
      #expect(result.output.contains("all checks passed"), "\(result)")

      // The dashboard ends with the up; the next up serves the same port.
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(60)) == 130, "\(up.output)")
      let after = try await project.apphost("dashboard")
      #expect(after.status == 1 && after.errors.contains("no dashboard is running"), "\(after)")
      let port = printed.split(separator: ":")[2].prefix { $0.isNumber }
      #expect(
        String(
          decoding: (try? Data(contentsOf: URL(fileURLWithPath: project.path + "/.apphost/dashboard.json"))) ?? Data(),
          as: UTF8.self) == #"{"port":\#(port)}"#)
    }
  }

  @Test func noDashboardServesNone() async throws {
    try await ControlTests.withProject("native", "nodash") { project in
      project.write(#""cache": {"type": "redis"}, "w": {"type": "executable", "command": "sleep", "args": ["300"]}"#)
      let up = try project.background("up", "--no-dashboard")
      defer { up.signal(SIGKILL) }
      try #require(try await project.apphost("wait", "--timeout", "90").status == 0, "\(up.output)")
      #expect(!up.output.contains("apphost: dashboard"), "\(up.output)")
      let listed = try await project.apphost("dashboard")
      #expect(listed.status == 1 && listed.errors.contains("no dashboard is running"), "\(listed)")
      up.signal(SIGINT)
      _ = try await up.wait(timeout: .seconds(60))
    }
  }

  /// A SIGKILLed `up` leaves its dashboard without a parent: once `down` has returned, it runs no more.
  @Test func downStopsTheDashboardOfAKilledUp() async throws {
    try await ControlTests.withProject("native", "dashk") { project in
      project.write(#""cache": {"type": "redis"}, "w": {"type": "executable", "command": "sleep", "args": ["300"]}"#)
      let up = try project.background("up")
      try #require(try await project.apphost("wait", "--timeout", "90").status == 0, "\(up.output)")
      let pid = try await eventually(timeout: .seconds(30)) { () -> Int32? in
        guard let data = FileManager.default.contents(atPath: project.path + "/.apphost/dashboard.json"),
          let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (record["pid"] as? NSNumber)?.int32Value
      } until: {
        $0 != nil
      }
      let dashboard = try #require(pid)
      up.signal(SIGKILL)
      let down = try await project.apphost("down")
      #expect(down.status == 0, "\(down)")
      #expect(!ControlTests.isAlive(dashboard), "down left the killed up's dashboard running")
    }
  }

  @Test func aDetachedUpServesItFromItsSupervisorUntilDown() async throws {
    try await ControlTests.withProject("native", "dashd") { project in
      project.write(#""cache": {"type": "redis"}, "w": {"type": "executable", "command": "sleep", "args": ["300"]}"#)
      let up = try await project.apphost("up", "-d")
      try #require(up.status == 0, "\(up)")
      let line = try #require(
        up.output.split(separator: "\n").first { $0.hasPrefix("apphost: dashboard http://127.0.0.1:") })
      let address = String(line.dropFirst("apphost: dashboard ".count))
      let listed = try await project.apphost("dashboard")
      #expect(listed.output.trimmingCharacters(in: .whitespacesAndNewlines) == address, "\(listed)")
      let token = String(address.split(separator: "=").last ?? "")
      let api = String(address.split(separator: "?").first ?? "") + "api/resources"
      let allowed = try await execute(
        "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", "apphost_dashboard=\(token)", api])
      #expect(allowed.output == "200", "\(allowed)")
      let refused = try await execute("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", api])
      #expect(refused.output == "401", "\(refused)")
      let record = try #require(
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: project.path + "/.apphost/dashboard.json"))) as? [String: Any])
      let pid = try #require((record["pid"] as? NSNumber)?.int32Value)
      #expect(ControlTests.isAlive(pid))
      let down = try await project.apphost("down")
      #expect(down.status == 0, "\(down)")
      #expect(!ControlTests.isAlive(pid), "the dashboard ends with the supervisor")
      let after = try await project.apphost("dashboard")
      #expect(after.status == 1, "\(after)")
    }
  }
}
