import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What the README promises and no other test exercised: each test names the README's words it checks.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ReadmeBehaviourTests {
  /// "Every command takes `-f/--file PATH` (default `./apphost.json`)": a manifest elsewhere, under
  /// another name, drives up, ps, env, logs (`--file` only: its `-f` is --follow) and down; its folder is the
  /// project's folder.
  @Test(arguments: TestEngines.all)
  func aManifestGivenWithFileIsTheOneUsed(engine: String) async throws {
    try await EngineProject.run(engine: engine, "file") { project in
      // The default manifest names the same project but nothing in it: whatever runs came from -f.
      project.manifest("")
      project.folder.write(
        "conf/shop.json",
        #"{"name": "\#(project.name)", "resources": {"other": {"type": "valkey"}, "#
          + #""echo": {"type": "executable", "command": "sh", "args": ["-c", "echo from-shop; sleep 1000"]}}}"#)
      let up = try await project.succeed("up", "-d", "-f", "conf/shop.json")
      #expect(up.output.contains("other | ready"), "\(up)")
      let names = try await project.cli(
        "ps", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.Names}}")
      #expect(names.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(project.name)-other")
      #expect(
        FileManager.default.fileExists(atPath: project.path + "/conf/.apphost/secrets.json"),
        "the state lives beside the manifest given")
      #expect(!FileManager.default.fileExists(atPath: project.path + "/.apphost/secrets.json"))

      let ps = try await project.succeed("ps", "--file", "conf/shop.json")
      #expect(ps.output.range(of: #"other +valkey +running +healthy"#, options: .regularExpression) != nil, "\(ps)")
      let environment = try await project.apphost("env", "other", "-f", "conf/shop.json", "--format", "json")
      let variables = try JSONSerialization.jsonObject(with: Data(environment.output.utf8)) as? [String: String]
      let port = try #require(variables?["OTHER_PORT"], "\(environment)")
      #expect(
        try await project.redis(port: port, password: variables?["OTHER_PASSWORD"], "PING") == "PONG")
      // The default manifest knows no `other`.
      let plain = try await project.apphost("env", "other")
      #expect(plain.status != 0, "\(plain)")

      let deadline = ContinuousClock.now + .seconds(10)
      var logs = try await project.succeed("logs", "--file", "conf/shop.json", "echo")
      while !logs.output.contains("echo | from-shop") && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(100))
        logs = try await project.succeed("logs", "--file", "conf/shop.json", "echo")
      }
      #expect(logs.output.contains("echo | from-shop"), "\(logs)")

      let down = try await project.succeed("down", "--file", "conf/shop.json")
      #expect(down.output.range(of: #"echo +\| stopped"#, options: .regularExpression) != nil, "\(down)")
      #expect(try await project.leftovers().isEmpty)

      // A file that is not there is named.
      let missing = try await project.apphost("ps", "-f", "conf/nope.json")
      #expect(missing.status == 65, "\(missing)")
      #expect(missing.errors.contains("conf/nope.json"), "\(missing)")
    }
  }

  /// "`apphost help COMMAND` explains each."
  @Test func helpExplainsEachCommand() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    let expected: [String: [String]] = [
      "up": ["--timeout", "--detach", "USAGE: apphost up"],
      "down": ["--volumes", "USAGE: apphost down"],
      "logs": ["--follow", "--tail", "--file"],
      "env": ["--format", "USAGE: apphost env"],
      "cli": ["USAGE: apphost cli"],
      "run": ["--ref", "--down"],
      "ps": ["--json"],
      "config": ["--json"],
      "publish": ["compose", "kubernetes"],
      "init": ["USAGE: apphost init"],
    ]
    for (command, words) in expected {
      let help = try await apphost("help", command, in: folder.path)
      #expect(help.status == 0, "help \(command): \(help)")
      for word in words { #expect(help.output.contains(word), "help \(command) lacks \(word):\n\(help.output)") }
      // Each is about its own command, not the general overview.
      let overview = try await apphost("--help", in: folder.path)
      #expect(help.output != overview.output, "help \(command) printed the overview")
    }
    let unknown = try await apphost("help", "upp", in: folder.path)
    #expect(unknown.status == 64, "\(unknown)")
    #expect((unknown.output + unknown.errors).contains("upp"), "\(unknown)")
  }

  /// "`apphost logs [RESOURCE...] [-f] [--tail N]`": the last N lines of each; `-f` keeps printing.
  @Test(arguments: TestEngines.all)
  func logsTailsAndFollows(engine: String) async throws {
    try await EngineProject.run(engine: engine, "logs") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "counter": {"type": "executable", "command": "sh", "args": ["-c", "i=0; while true; do echo count-$i; i=$((i+1)); sleep 0.1; done"]}
        """)
      try await project.succeed("up", "-d")
      let deadline = ContinuousClock.now + .seconds(20)
      while !(project.folder.read(".apphost/logs/counter.log") ?? "").contains("count-5\n"),
        ContinuousClock.now < deadline
      {
        try await Task.sleep(for: .milliseconds(100))
      }
      let tail = try await project.succeed("logs", "--tail", "3", "counter")
      let lines = tail.output.split(separator: "\n").filter { $0.hasPrefix("counter | ") }
      #expect(lines.count == 3, "\(tail)")
      let numbers = lines.compactMap { Int($0.dropFirst("counter | count-".count)) }
      #expect(numbers.count == 3 && numbers == Array(numbers[0]...(numbers[0] + 2)), "consecutive: \(lines)")
      #expect((numbers.first ?? 0) >= 3, "the last lines, not the first: \(lines)")

      // A container's log: the last 2 of redis-server's start-up lines only.
      let all = try await project.succeed("logs", "cache")
      let cacheLines = all.output.split(separator: "\n").filter { $0.hasPrefix("cache | ") }
      #expect(cacheLines.count > 2, "\(all)")
      let two = try await project.succeed("logs", "cache", "--tail", "2")
      #expect(two.output.split(separator: "\n").filter { $0.hasPrefix("cache | ") } == Array(cacheLines.suffix(2)))

      // -f: lines written after it started arrive while it runs.
      let follow = try await BackgroundCommand.start(project: project, "logs", "-f", "--tail", "1", "counter")
      try await follow.waitForOutput("counter | count-", timeout: .seconds(10))
      let first = try #require(follow.number(after: "counter | count-"))
      try await follow.waitForOutput("counter | count-\(first + 10)\n", timeout: .seconds(20))
      #expect(follow.pid > 0 && kill(follow.pid, 0) == 0, "still following")
      follow.signal(SIGINT)
      let status = try await follow.wait(timeout: .seconds(10))
      #expect(status == 0 || status == 130, "\(status): \(follow.output)")
    }
  }

  /// "`apphost ps` ... notes (out of date ...)": a cache whose manifest entry changed is flagged until
  /// `up` recreates it.
  @Test(arguments: TestEngines.all)
  func psSaysWhenAContainerIsOutOfDate(engine: String) async throws {
    try await EngineProject.run(engine: engine, "stale") { project in
      project.manifest(#""cache": {"type": "redis"}, "other": {"type": "valkey"}"#)
      try await project.succeed("up", "-d")
      let fresh = try await project.succeed("ps")
      #expect(!fresh.output.contains("changed since"), "\(fresh)")
      project.manifest(#""cache": {"type": "redis", "args": ["--maxmemory", "64mb"]}, "other": {"type": "valkey"}"#)
      let stale = try await project.succeed("ps", "--json")
      let rows = try JSONSerialization.jsonObject(with: Data(stale.output.utf8)) as? [[String: Any]] ?? []
      let cache = try #require(rows.first { $0["name"] as? String == "cache" })
      let other = try #require(rows.first { $0["name"] as? String == "other" })
      #expect(
        (cache["note"] as? String)?.contains("apphost.json changed since it started; `apphost up` recreates it")
          == true,
        "\(cache)")
      #expect(other["note"] == nil || (other["note"] as? String)?.contains("changed") == false, "\(other)")
      let text = try await project.succeed("ps")
      #expect(text.output.contains("apphost.json changed since it started"), "\(text)")
      try await project.succeed("up", "-d")
      let after = try await project.succeed("ps")
      #expect(!after.output.contains("changed since"), "\(after)")
    }
  }

  /// "`down` ... stops a running foreground `up` of the project."
  @Test(arguments: TestEngines.all)
  func downStopsAForegroundUp(engine: String) async throws {
    try await EngineProject.run(engine: engine, "downfg") { project in
      project.manifest(
        """
        "cache": {"type": "redis"}, "keep": {"type": "valkey", "lifetime": "persistent"},
        "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo pid $$; while true; do sleep 0.1; done"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("worker | pid ", timeout: .seconds(60))
      let worker = try #require(up.number(after: "worker | pid "))
      let down = try await project.succeed("down")
      #expect(
        down.output.contains("stopping the apphost up running for this project (pid \(up.pid))"), "\(down)")
      // The foreground up ended as it does on SIGTERM, before down went on.
      #expect(try await up.wait(timeout: .seconds(5)) == 143, "\(up.output)")
      #expect(await gone(worker), "the program outlived down")
      #expect(try await project.leftovers().isEmpty, "down removed the persistent container too")
    }
  }

  /// "One `up` per project at a time": while a foreground up runs, a second `up` (foreground or `-d`) of
  /// the project does not start another: it hands the manifest to the running one (issue 15: which applies
  /// what changed, here nothing) and changes nothing; another project starts meanwhile.
  @Test(arguments: TestEngines.all)
  func aSecondUpOfTheSameProjectGoesToTheRunningOne(engine: String) async throws {
    try await EngineProject.run(engine: engine, "busy") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      let first = try await BackgroundCommand.start(project: project, "up")
      try await first.waitForOutput("Ctrl-C stops", timeout: .seconds(60))
      let before = try await project.cli(
        "ps", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.ID}}")
      for arguments in [["up", "-d"], ["up"]] {
        let second = try await execute(
          Binary.path, arguments, in: project.path, environment: ["APPHOST_ENGINE": engine, "NO_COLOR": "1"])
        #expect(second.status == 0, "\(arguments): \(second)")
        #expect(second.output.contains("the running apphost up has every resource"), "\(arguments): \(second)")
      }
      let after = try await project.cli(
        "ps", "--filter", "label=apphost.project=\(project.name)", "--format", "{{.ID}}")
      #expect(after.output == before.output, "the second ups changed nothing")
      #expect(kill(first.pid, 0) == 0, "the first up still runs")
      first.signal(SIGINT)
      #expect(try await first.wait(timeout: .seconds(60)) == 130, "\(first.output)")
    }
  }

  /// "`down` ... Works with a broken manifest": a manifest with a mistake, and one that is not JSON at all.
  @Test(arguments: TestEngines.all)
  func downWorksWithABrokenManifest(engine: String) async throws {
    try await EngineProject.run(engine: engine, "downbad") { project in
      let good = #""cache": {"type": "redis", "dataVolume": true}, "ui": {"type": "rediscommander"}"#
      for broken in [
        #"{"name": "\#(project.name)", "resources": {"cache": {"type": "redis", "pasword": "x"}}}"#,
        #"{"name": "\#(project.name)", "resources": {"cache": {"type": "redis""#,
      ] {
        project.manifest(good)
        try await project.succeed("up", "-d")
        #expect(try await project.leftovers().count == 4, "two containers, a network, a volume")
        project.folder.write("apphost.json", broken)
        let config = try await project.apphost("config")
        #expect(config.status == 65, "the manifest is broken: \(config)")
        let down = try await project.apphost("down")
        #expect(down.status == 0, "\(broken): \(down)")
        #expect(down.errors.contains("is not valid; removing what runs under the project name \(project.name)"))
        #expect(
          try await project.leftovers() == ["\(project.name)-cache-data"], "only the volume stays: \(broken)")
        project.manifest(good)
        try await project.succeed("down", "-v")
      }
    }
  }

  /// "`apphost env [NAME]`: the environment a program NAME gets": the same values the program saw.
  @Test(arguments: TestEngines.all)
  func envOfAProgramIsWhatTheProgramGets(engine: String) async throws {
    try await EngineProject.run(engine: engine, "envprog") { project in
      project.manifest(
        """
        "cache": {"type": "redis"}, "sessions": {"type": "valkey", "password": false},
        "app": {"type": "executable", "command": "sh", "args": ["-c", "env > seen.env; sleep 1000"], "references": ["cache", "sessions"],
                "env": {"CUSTOM": "{cache.port}/{sessions.uri}", "LITERAL": "{{x}}"}}
        """)
      try await project.succeed("up", "-d")
      let deadline = ContinuousClock.now + .seconds(10)
      while (project.folder.read("seen.env") ?? "").isEmpty && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
      }
      var seen: [String: String] = [:]
      for line in (project.folder.read("seen.env") ?? "").split(separator: "\n") {
        let parts = line.split(separator: "=", maxSplits: 1)
        if parts.count == 2 { seen[String(parts[0])] = String(parts[1]) }
      }
      let given = try await project.environment("app")
      let keys = [
        "ConnectionStrings__cache", "CACHE_HOST", "CACHE_PORT", "CACHE_PASSWORD", "CACHE_URI",
        "ConnectionStrings__sessions", "SESSIONS_PORT", "SESSIONS_URI", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD",
        "REDIS_URL", "CUSTOM", "LITERAL",
      ]
      for key in keys {
        #expect(given[key] != nil, "env app lacks \(key): \(given)")
        #expect(
          given[key] == seen[key],
          "\(key): env says \(given[key] ?? "nothing"), the program saw \(seen[key] ?? "nothing")")
      }
      #expect(given["LITERAL"] == "{x}")
      #expect(given["CUSTOM"] == "\(given["CACHE_PORT"] ?? "?")/\(given["SESSIONS_URI"] ?? "?")")
      #expect(given["SESSIONS_PASSWORD"] == nil)
      #expect(try await project.redis(port: given["CACHE_PORT"], password: given["CACHE_PASSWORD"], "PING") == "PONG")
      // Shell and dotenv forms carry the same values.
      let shell = try await project.apphost("env", "app", "--format", "shell")
      let printed = try await execute("sh", ["-c", shell.output + "\nprintf %s \"$ConnectionStrings__cache\""])
      #expect(printed.output == given["ConnectionStrings__cache"], "\(shell)")
      let dotenv = try await project.apphost("env", "app", "--format", "dotenv")
      #expect(dotenv.output.contains("REDIS_PORT=\(given["REDIS_PORT"] ?? "?")"), "\(dotenv)")
      // A name that is neither a cache nor a program is named.
      let unknown = try await project.apphost("env", "nosuch")
      #expect(unknown.status != 0 && unknown.errors.contains("nosuch"), "\(unknown)")
    }
  }

  /// "`--timeout S`": a cache that never answers fails the start after S seconds, naming it, and
  /// removes what the start made.
  @Test(arguments: TestEngines.all)
  func aTimeoutEndsAStartThatNeverBecomesReady(engine: String) async throws {
    try await EngineProject.run(engine: engine, "timeout") { project in
      project.manifest(
        #""fine": {"type": "redis"}, "slow": {"type": "redis", "password": false, "args": ["--port", "6390"]}"#)
      let began = ContinuousClock.now
      let up = try await project.apphost("up", "-d", "--timeout", "4")
      let took = ContinuousClock.now - began
      #expect(up.status == 1, "\(up)")
      #expect(up.errors.contains("slow"), "\(up)")
      #expect(up.errors.contains("not ready in time"), "\(up)")
      #expect(took >= .seconds(4), "gave up before the timeout: \(took)")
      #expect(took < .seconds(25), "long after the timeout: \(took)")
      #expect(try await project.leftovers().isEmpty, "a failed start removes what it made")
      let invalid = try await project.apphost("up", "-d", "--timeout", "0")
      #expect(invalid.status == 64, "\(invalid)")
    }
  }

  /// "session containers are removed (after caches with persistence saved)": data written during a
  /// foreground up is there for the next one, long before the first save point (60 s).
  @Test(arguments: TestEngines.all)
  func aForegroundUpSavesBeforeRemovingTheContainers(engine: String) async throws {
    try await EngineProject.run(engine: engine, "save") { project in
      project.manifest(
        #""cache": {"type": "redis", "dataVolume": true}, "g": {"type": "valkey", "dataBindMount": {"source": "./data/g"}}"#
      )
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("Ctrl-C stops", timeout: .seconds(60))
      let environment = try await project.environment()
      for name in ["CACHE", "G"] {
        let set = try await project.redis(
          port: environment["\(name)_PORT"], password: environment["\(name)_PASSWORD"], "SET", "saved", name)
        #expect(set == "OK")
      }
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(60)) == 130, "\(up.output)")
      #expect(try await project.leftovers() == ["\(project.name)-cache-data"], "the containers are gone")
      #expect(FileManager.default.fileExists(atPath: project.path + "/data/g/dump.rdb"), "saved into the bind mount")
      try await project.succeed("up", "-d")
      let again = try await project.environment()
      for name in ["CACHE", "G"] {
        let value = try await project.redis(
          port: again["\(name)_PORT"], password: again["\(name)_PASSWORD"], "GET", "saved")
        #expect(value == name, "\(name): \(value)")
      }
    }
  }

  /// "pauses of 1, 2, 4 ... 30 s", starting again from 1 s once a process ran for 10 s. The program's
  /// third run lasts 10.5 s; every other run fails at once. Programs need no engine beyond the listing:
  /// one engine is enough.
  @Test(arguments: TestEngines.all.prefix(1))
  func restartPausesAreCappedAndResetAfterAStableRun(engine: String) async throws {
    try await EngineProject.run(engine: engine, "pauses") { project in
      project.manifest(
        """
        "crashy": {"type": "executable", "command": "sh", "restart": "always", "args": ["-c",
          "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo attempt $n; if [ $n -eq 3 ]; then sleep 10.5; fi; exit 1"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("crashy | attempt 9\n", timeout: .seconds(90))
      let pauses = up.output.split(separator: "\n").compactMap { line -> String? in
        guard let range = line.range(of: "crashy | restarting in ") else { return nil }
        return String(line[range.upperBound...])
      }
      // 1, 2; the 10.5 s run resets to 1; then doubling to 16 and 30 (not 32).
      #expect(
        Array(pauses.prefix(8)) == ["1 s", "2 s", "1 s", "2 s", "4 s", "8 s", "16 s", "30 s"], "\(up.output)")
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(30)) == 130)
    }
  }

  /// "`apphost cli NAME` talks to a cache (or a connection string without TLS) with its password", in both
  /// connection-string forms.
  @Test(arguments: TestEngines.all)
  func cliTalksToAConnectionString(engine: String) async throws {
    try await EngineProject.run(engine: engine, "clics") { project in
      project.manifest(
        #""cache": {"type": "redis"}, "legacy": {"type": "connectionString", "value": {"env": "LEGACY_REDIS"}}"#)
      // `up` needs the variable set, though nothing connects to it then.
      let unused: [String: String?] = ["LEGACY_REDIS": "127.0.0.1:1"]
      try await project.apphost("up", "-d", "cache", environment: unused).expectSuccess()
      let env = try await project.apphost("env", "cache", "--format", "json", environment: unused)
      let environment = try JSONSerialization.jsonObject(with: Data(env.output.utf8)) as? [String: String] ?? [:]
      let port = try #require(environment["CACHE_PORT"], "\(env)")
      let password = try #require(environment["CACHE_PASSWORD"])
      for (index, value) in [
        "127.0.0.1:\(port),password=\(password)", "redis://:\(password)@127.0.0.1:\(port)",
      ].enumerated() {
        let set = try await project.apphost("cli", "legacy", "--", "SET", "via-legacy", "\(index)")
        #expect(set.status != 0, "without LEGACY_REDIS there is nothing to connect to: \(set)")
        let ok = try await project.apphost(
          "cli", "legacy", "--", "SET", "via-legacy", "\(index)", environment: ["LEGACY_REDIS": value])
        #expect(ok.status == 0 && ok.output == "OK\n", "\(value): \(ok)")
        #expect(try await project.redis(port: port, password: password, "GET", "via-legacy") == "\(index)")
        let error = try await project.apphost(
          "cli", "legacy", "--", "NOSUCHCOMMAND", environment: ["LEGACY_REDIS": value])
        #expect(error.status == 1, "an error reply exits 1: \(error)")
      }
      // A wrong password is the server's refusal, not a hang.
      let wrong = try await project.apphost(
        "cli", "legacy", "--", "PING", environment: ["LEGACY_REDIS": "127.0.0.1:\(port),password=wrong"])
      #expect(wrong.status != 0, "\(wrong)")
      #expect(!(wrong.output + wrong.errors).contains(password))
    }
  }

  /// "`MONITOR`, `SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE` print what comes until Ctrl-C."
  @Test(arguments: TestEngines.all)
  func cliPrintsPatternAndShardMessagesUntilCtrlC(engine: String) async throws {
    try await EngineProject.run(engine: engine, "psub") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      try await project.succeed("up", "-d")
      let environment = try await project.environment("cache")
      for (subscribe, channel, publish) in [
        ("PSUBSCRIBE", "news.*", "PUBLISH"), ("SSUBSCRIBE", "shard-news", "SPUBLISH"),
      ] {
        let listener = try await BackgroundCommand.start(project: project, "cli", "cache", "--", subscribe, channel)
        try await listener.waitForOutput(channel, timeout: .seconds(10))
        let target = subscribe == "PSUBSCRIBE" ? "news.sport" : channel
        // Published until it arrives (the subscription may not be registered at the first try).
        let deadline = ContinuousClock.now + .seconds(10)
        var received = "0"
        while !listener.output.contains("headline-\(subscribe)") && ContinuousClock.now < deadline {
          received = try await project.redis(
            port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], publish, target,
            "headline-\(subscribe)")
          try await Task.sleep(for: .milliseconds(100))
        }
        #expect(listener.output.contains("headline-\(subscribe)"), "\(subscribe): \(listener.output)")
        #expect(received == "1", "one subscriber received it: \(received)")
        if subscribe == "PSUBSCRIBE" { #expect(listener.output.contains("news.sport"), "\(listener.output)") }
        #expect(kill(listener.pid, 0) == 0, "\(subscribe) keeps listening")
        listener.signal(SIGINT)
        let status = try await listener.wait(timeout: .seconds(10))
        #expect(status == 0 || status == 130, "\(subscribe): \(status) \(listener.output)")
      }
    }
  }
}

/// "`--engine docker|podman` (default: `APPHOST_ENGINE`, else the first of docker and podman found)", and
/// the first that answers when docker is installed but its daemon does not run.
@Suite(
  .enabled(
    if: TestEngines.all.contains("docker") && TestEngines.all.contains("podman"), "needs both test engines"))
struct EngineSelectionTests {
  @Test func withoutAChoiceTheFirstEngineThatAnswersIsUsed() async throws {
    try await EngineProject.run(engine: "docker", "pick") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      let filter = "label=apphost.project=\(project.name)"
      // Both answer: docker.
      try await project.apphost("up", "-d", environment: ["APPHOST_ENGINE": nil]).expectSuccess()
      #expect(try await execute("docker", ["ps", "-q", "--filter", filter]).output.count > 0)
      #expect(try await execute("podman", ["ps", "-aq", "--filter", filter]).output.isEmpty)
      try await project.apphost("down", environment: ["APPHOST_ENGINE": nil]).expectSuccess()

      // docker is installed but its daemon does not answer: podman.
      try await EngineProject.run(engine: "podman", "pick") { turn in
        turn.manifest("")  // holds podman's turn; its own project stays empty
        let noDaemon: [String: String?] = [
          "APPHOST_ENGINE": nil, "DOCKER_HOST": "unix://\(project.path)/no-such-docker.sock",
        ]
        try await project.apphost("up", "-d", environment: noDaemon).expectSuccess()
        #expect(try await execute("podman", ["ps", "-q", "--filter", filter]).output.count > 0)
        #expect(try await execute("docker", ["ps", "-aq", "--filter", filter]).output.isEmpty)
        let ps = try await project.apphost("ps", environment: noDaemon)
        #expect(ps.output.range(of: #"cache +redis +running"#, options: .regularExpression) != nil, "\(ps)")
        try await project.apphost("down", environment: noDaemon).expectSuccess()
        #expect(try await execute("podman", ["ps", "-aq", "--filter", filter]).output.isEmpty)

        // Asked for docker, it is docker or a failure: never podman instead.
        let asked = try await project.apphost(
          "up", "-d", environment: ["APPHOST_ENGINE": "docker", "DOCKER_HOST": noDaemon["DOCKER_HOST"]!])
        #expect(asked.status == 69, "\(asked)")
        #expect(try await execute("podman", ["ps", "-aq", "--filter", filter]).output.isEmpty)
      }
    }
  }

  /// No engine on PATH at all, and no redis-server for the native engine either: exit 69 and what to
  /// install.
  @Test func noEngineOnPathExits69() async throws {
    let folder = ProjectFolder("apphost-noengine")
    defer { folder.remove() }
    folder.write("apphost.json", #"{"resources": {"cache": {"type": "redis"}}}"#)
    try FileManager.default.createDirectory(atPath: folder.path + "/bin", withIntermediateDirectories: true)
    let result = try await apphost(
      "up", "-d", in: folder.path, environment: ["APPHOST_ENGINE": nil, "PATH": folder.path + "/bin"])
    #expect(result.status == 69, "\(result)")
    #expect(result.errors.contains("neither docker nor podman is installed"), "\(result)")
    #expect(result.errors.contains("the native engine needs redis-server"), "\(result)")
  }
}

extension CommandResult {
  func expectSuccess(sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(status == 0, "\(self)", sourceLocation: sourceLocation)
  }
}
