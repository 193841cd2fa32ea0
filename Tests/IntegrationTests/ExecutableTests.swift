import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The developer's programs: injected environment, output, signals, restarts, `up -d`, `run`.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ExecutableTests {
  /// A Python program using the `redis` client from PyPI, as users write them.
  static let pythonProgram = """
    import os, sys, redis
    # StackExchange.Redis format: host:port,password=...
    endpoint, *options = os.environ["ConnectionStrings__cache"].split(",")
    host, port = endpoint.rsplit(":", 1)
    password = dict(option.split("=", 1) for option in options).get("password")
    first = redis.Redis(host=host, port=int(port), password=password)
    first.set("from-connection-string", "one")
    second = redis.Redis.from_url(os.environ["REDIS_URL"])
    second.set("from-url", "two")
    sessions = redis.Redis.from_url(os.environ["SESSIONS_URI"].replace("valkey://", "redis://"))
    sessions.incr("visits")
    print("read", first.get("from-url").decode(), second.get("from-connection-string").decode(), flush=True)
    print("replica", os.environ["APPHOST_REPLICA"], "custom", os.environ["CUSTOM"], flush=True)
    sys.exit(0)
    """

  @Test(arguments: TestEngines.all)
  func aPythonProgramGetsTheConnectionAndUpEndsWithIt(engine: String) async throws {
    try await EngineProject.run(engine: engine, "py") { project in
      project.folder.write("app.py", Self.pythonProgram)
      project.manifest(
        """
        "cache": {"type": "redis"}, "sessions": {"type": "valkey"},
        "app": {"type": "executable", "command": "python3", "args": ["app.py"], "references": ["cache", "sessions"],
                "env": {"CUSTOM": "{cache.port}-{replica}"}}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      let status = try await up.wait(timeout: .seconds(60))
      #expect(status == 0, "\(up.output)")
      #expect(up.output.contains("app      | read two one"), "\(up.output)")
      #expect(up.output.range(of: #"app      \| replica 0 custom \d+-0"#, options: .regularExpression) != nil)
      #expect(up.output.contains("apphost: every program has ended"))
      // Session containers are gone with the up.
      #expect(try await project.leftovers().isEmpty)
    }
  }

  @Test(arguments: TestEngines.all)
  func aFailingProgramIsReportedAndTheRestKeepsRunning(engine: String) async throws {
    try await EngineProject.run(engine: engine, "fail") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "broken": {"type": "executable", "command": "sh", "args": ["-c", "echo about to fail; exit 3"]},
        "steady": {"type": "executable", "command": "sh", "args": ["-c", "while true; do echo tick; sleep 0.2; done"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("broken | exited with code 3", timeout: .seconds(30))
      let ticks = up.output.components(separatedBy: "steady | tick").count
      try await Task.sleep(for: .milliseconds(800))
      #expect(up.output.components(separatedBy: "steady | tick").count > ticks, "steady keeps running")
      up.signal(SIGTERM)
      #expect(try await up.wait(timeout: .seconds(30)) == 143, "\(up.output)")
      #expect(try await project.leftovers().isEmpty)
    }
  }

  @Test(arguments: TestEngines.all)
  func theExitCodeOfTheFirstFailureEndsAnUpWhoseProgramsAllEnded(engine: String) async throws {
    try await EngineProject.run(engine: engine, "code") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "web": {"type": "executable", "command": "sh", "args": ["-c", "echo replica $APPHOST_REPLICA of web"], "replicas": 3},
        "job": {"type": "executable", "command": "sh", "args": ["-c", "sleep 0.3; exit 4"], "waitFor": ["web"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      #expect(try await up.wait(timeout: .seconds(60)) == 4, "\(up.output)")
      for replica in 0..<3 {
        #expect(up.output.contains("web-\(replica) | replica \(replica) of web"), "\(up.output)")
      }
    }
  }

  @Test(arguments: TestEngines.all)
  func restartsBackOffInsteadOfFlooding(engine: String) async throws {
    try await EngineProject.run(engine: engine, "restart") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "crashy": {"type": "executable", "command": "sh", "args": ["-c", "echo attempt; exit 1"], "restart": "always"},
        "flaky": {"type": "executable", "command": "sh", "args": ["-c", "echo once; exit 0"], "restart": "on-failure"}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("crashy | attempt", timeout: .seconds(30))
      try await Task.sleep(for: .seconds(4))
      let attempts = up.output.components(separatedBy: "crashy | attempt").count - 1
      // Pauses of 1, 2, 4 s: at most 4 attempts in the first 4 s, not hundreds.
      #expect((2...4).contains(attempts), "\(attempts) attempts:\n\(up.output)")
      #expect(up.output.contains("crashy | restarting in 1 s"))
      #expect(up.output.contains("crashy | restarting in 2 s"))
      #expect(
        up.output.components(separatedBy: "flaky  | once").count - 1 == 1, "on-failure does not restart a success")
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(30)) == 130)
    }
  }

  /// SIGTERM goes to the program's whole process group; nothing it started outlives `up`.
  @Test(arguments: TestEngines.all)
  func stoppingReachesEveryProcessOfTheProgram(engine: String) async throws {
    try await EngineProject.run(engine: engine, "group") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "parent": {"type": "executable", "command": "sh", "args": ["-c", "sleep 1000 & echo first-kid $!; trap 'echo got TERM; kill $!; exit 0' TERM; echo the-parent $$; wait"]},
        "nested": {"type": "executable", "command": "sh", "args": ["-c", "sh -c 'trap \\"\\" TERM; echo inner-grandkid $$; sleep 1000' & wait"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("inner-grandkid ", timeout: .seconds(30))
      try await up.waitForOutput("first-kid ", timeout: .seconds(30))
      try await up.waitForOutput("the-parent ", timeout: .seconds(30))
      let pids = ["first-kid ", "inner-grandkid ", "the-parent "].compactMap { up.number(after: $0) }
      #expect(pids.count == 3, "\(up.output)")
      for pid in pids { #expect(kill(pid, 0) == 0, "pid \(pid) runs") }
      let began = ContinuousClock.now
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(40)) == 130)
      // The grandchild ignores SIGTERM: it gets SIGKILL after the 10 s grace period.
      let took = ContinuousClock.now - began
      #expect(took >= .seconds(9) && took < .seconds(25), "\(took)")
      #expect(up.output.contains("parent | got TERM"), "\(up.output)")
      for pid in pids { #expect(await gone(pid), "pid \(pid) outlived up") }
    }
  }

  @Test(arguments: TestEngines.all)
  func aSecondCtrlCStopsAtOnce(engine: String) async throws {
    try await EngineProject.run(engine: engine, "twice") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "stubborn": {"type": "executable", "command": "sh", "args": ["-c", "trap '' TERM; echo pid $$; while true; do sleep 0.1; done"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("stubborn | pid ", timeout: .seconds(60))
      let pid = try #require(up.number(after: "stubborn | pid "))
      up.signal(SIGINT)
      try await up.waitForOutput("Ctrl-C again stops at once", timeout: .seconds(10))
      #expect(kill(pid, 0) == 0, "the first Ctrl-C waits for the program (it ignores SIGTERM)")
      up.signal(SIGINT)
      // At once: no grace period for the program.
      #expect(await gone(pid), "the second Ctrl-C killed the program")
      #expect(try await up.wait(timeout: .seconds(60)) == 130)
      #expect(up.output.contains("stopping at once"))
      #expect(try await project.leftovers().isEmpty)
    }
  }

  /// 200 000 lines as fast as Python can print them: every one arrives, whole and in order.
  @Test(arguments: TestEngines.all)
  func aFastWriterLosesNoLine(engine: String) async throws {
    try await EngineProject.run(engine: engine, "fast") { project in
      project.manifest(
        """
        "cache": {"type": "redis", "password": false},
        "writer": {"type": "executable", "command": "python3", "args": ["-c", "import sys\\nfor i in range(200000): sys.stdout.write('line %d %s\\\\n' % (i, 'x' * (i % 300)))"]},
        "other": {"type": "executable", "command": "sh", "args": ["-c", "i=0; while [ $i -lt 2000 ]; do echo other-line-$i; i=$((i+1)); done"]}
        """)
      let result = try await project.apphost("up")
      #expect(result.status == 0, "\(result.errors)")
      var expected = 0
      var others = 0
      for line in result.output.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("writer | line ") {
          let text = line.dropFirst("writer | ".count)
          #expect(
            text == "line \(expected) \(String(repeating: "x", count: expected % 300))",
            "line \(expected) torn or out of order")
          if text != "line \(expected) \(String(repeating: "x", count: expected % 300))" { break }
          expected += 1
        } else if line.hasPrefix("other  | other-line-") {
          others += 1
        }
      }
      #expect(expected == 200_000)
      #expect(others == 2000)
    }
  }

  /// `apphost up | head`: when the reader exits, up stops everything instead of dying mid-way.
  @Test(arguments: TestEngines.all)
  func anEarlyExitingPipeLeavesNothingBehind(engine: String) async throws {
    try await EngineProject.run(engine: engine, "pipe") { project in
      let marker = "apphost-pipe-test-\(project.name)"
      project.manifest(
        """
        "cache": {"type": "redis"},
        "talker": {"type": "executable", "command": "sh", "args": ["-c", "exec -a \(marker) sh -c 'while true; do echo talking; sleep 0.05; done'"]}
        """)
      let pipeline = try await execute(
        "sh", ["-c", "'\(Binary.path)' up | head -n 3"], in: project.path,
        environment: ["APPHOST_ENGINE": engine, "NO_COLOR": "1"])
      #expect(pipeline.status == 0)
      #expect(pipeline.output.split(separator: "\n").count == 3)
      // head has exited; apphost notices its next write, stops the program and removes the containers.
      let deadline = ContinuousClock.now + .seconds(30)
      while ContinuousClock.now < deadline {
        let running = try await execute("pgrep", ["-f", marker]).output
        if running.isEmpty, try await project.leftovers().isEmpty { break }
        try await Task.sleep(for: .milliseconds(200))
      }
      #expect(try await execute("pgrep", ["-f", marker]).output.isEmpty, "the program outlived up")
      #expect(try await project.leftovers().isEmpty)
    }
  }

  @Test(arguments: TestEngines.all)
  func detachedProgramsRunInTheBackgroundUntilDown(engine: String) async throws {
    try await EngineProject.run(engine: engine, "bg") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "while true; do echo working on $REDIS_PORT; sleep 0.1; done"], "references": ["cache"]}
        """)
      let up = try await project.succeed("up", "-d")
      #expect(up.output.contains("worker | started in the background (pid "), "\(up)")
      let ps = try await project.succeed("ps", "--json")
      let rows = try #require(try JSONSerialization.jsonObject(with: Data(ps.output.utf8)) as? [[String: Any]])
      let worker = try #require(rows.first { $0["name"] as? String == "worker" })
      #expect(worker["state"] as? String == "running")
      let pid = try #require(worker["pid"] as? Int32)
      #expect(kill(pid, 0) == 0)
      let port = try await project.environment()["CACHE_PORT"] ?? "?"
      let logs = try await eventually(timeout: .seconds(30)) {
        try await project.succeed("logs", "worker")
      } until: {
        $0.output.contains("worker | working on \(port)")
      }
      #expect(logs.output.contains("worker | working on \(port)"), "\(logs)")
      let log = try #require(project.folder.read(".apphost/logs/worker.log"))
      #expect(log.contains("working on \(port)"))

      // Again, unchanged: the same process keeps running.
      let again = try await project.succeed("up", "-d")
      #expect(again.output.contains("nothing changed"), "\(again)")
      #expect(kill(pid, 0) == 0)

      let down = try await project.succeed("down")
      #expect(down.output.contains("worker | stopped"), "\(down)")
      #expect(await gone(pid), "the worker outlived down")
    }
  }

  /// An `up` killed with SIGKILL cannot stop its programs; the next `down` does.
  @Test(arguments: TestEngines.all)
  func programsOfAKilledUpAreStoppedByDown(engine: String) async throws {
    try await EngineProject.run(engine: engine, "orphan") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo pid $$; while true; do sleep 0.1; done"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("worker | pid ", timeout: .seconds(30))
      let pid = try #require(up.number(after: "worker | pid "))
      up.signal(SIGKILL)
      _ = try await up.wait(timeout: .seconds(10))
      #expect(kill(pid, 0) == 0, "the program survives its killed up")
      let ps = try await project.succeed("ps")
      #expect(ps.output.contains("the apphost that started it is gone"), "\(ps)")
      try await project.succeed("down")
      #expect(await gone(pid), "down stopped the orphaned program")
    }
  }

  @Test(arguments: TestEngines.all)
  func runGivesTheCommandTheCachesAndItsExitCode(engine: String) async throws {
    try await EngineProject.run(engine: engine, "run") { project in
      project.manifest(#""cache": {"type": "redis"}, "sessions": {"type": "garnet"}"#)
      let script = """
        import os, redis, sys
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        client.set("k", "v")
        print("got", client.get("k").decode(), os.environ["SESSIONS_PORT"] != "")
        sys.exit(5)
        """
      let result = try await project.apphost("run", "--down", "--", "python3", "-c", script)
      #expect(result.status == 5, "\(result)")
      #expect(result.output == "got v True\n", "stdout belongs to the command: \(result.output)")
      #expect(try await project.leftovers().isEmpty, "--down removed what run started")

      // With --ref: only that cache's variables, and caches already up are used as they are.
      try await project.succeed("up", "-d", "sessions")
      let only = try await project.apphost(
        "run", "--ref", "sessions", "--", "sh", "-c", "echo $REDIS_PORT=$SESSIONS_PORT; env | grep -c CACHE_ || true")
      #expect(only.status == 0, "\(only)")
      let parts = only.output.split(separator: "\n")
      #expect(
        parts.first.map {
          $0.split(separator: "=").count == 2 && $0.split(separator: "=")[0] == $0.split(separator: "=")[1]
        } == true)
      #expect(parts.last == "0", "no variables of the other cache")
      let missing = try await project.apphost("run", "--", "no-such-command-xyz")
      #expect(missing.status == 127)
    }
  }
}

/// True once the process has ended and been reaped (waits up to 3 s for its parent to reap it).
func gone(_ pid: Int32) async -> Bool {
  let deadline = ContinuousClock.now + .seconds(3)
  while ContinuousClock.now < deadline {
    let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    if stat == nil || stat!.contains(") Z ") { return true }
    try? await Task.sleep(for: .milliseconds(50))
  }
  return false
}
