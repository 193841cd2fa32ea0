import Foundation
import TestSupport
import Testing

/// RedisInsight and Redis Commander wired to the caches, and `apphost cli`.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct UITests {
  /// The environment a container received, from the engine.
  func containerEnvironment(_ project: EngineProject, _ container: String) async throws -> [String: String] {
    let result = try await project.cli("inspect", "--format", "{{json .Config.Env}}", container)
    let entries = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String]) ?? []
    var values: [String: String] = [:]
    for entry in entries {
      let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 2 { values[parts[0]] = parts[1] }
    }
    return values
  }

  func httpStatus(_ url: String) async throws -> String {
    let script =
      "import urllib.request,sys\nr=urllib.request.urlopen(sys.argv[1],timeout=5)\nprint(r.status, r.read().decode())"
    return try await execute("python3", ["-c", script, url]).output.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// What a UI stand-in would connect to, tried from inside it (`/cgi-bin/databases` of RedisInsight's,
  /// `/cgi-bin/connections` of Redis Commander's; scripts/fixture-images), keyed by name.
  func connections(_ url: String) async throws -> [String: [String: Any]] {
    let script = "import urllib.request,sys\nprint(urllib.request.urlopen(sys.argv[1],timeout=30).read().decode())"
    let result = try await execute("python3", ["-c", script, url])
    try #require(result.status == 0, "\(url): \(result)")
    let list = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]], "\(result.output)")
    var byName: [String: [String: Any]] = [:]
    for entry in list {
      if let name = (entry["name"] ?? entry["label"]) as? String { byName[name] = entry }
    }
    #expect(byName.count == list.count, "two connections with one name: \(result.output)")
    return byName
  }

  @Test(arguments: TestEngines.all)
  func bothUIsAreWiredToTheCachesOverTheProjectNetwork(engine: String) async throws {
    try await EngineProject.run(engine: engine, "ui") { project in
      let fixed = try TCPListener.unassignedPort()
      project.manifest(
        """
        "cache": {"type": "redis"}, "sessions": {"type": "valkey", "password": false}, "g": {"type": "garnet"},
        "insight": {"type": "redisinsight"},
        "commander": {"type": "rediscommander", "hostPort": \(fixed), "caches": ["cache", "g"]}
        """)
      let up = try await project.succeed("up", "-d")
      #expect(up.output.contains("insight   | ready at http://127.0.0.1:"), "\(up)")
      #expect(up.output.contains("commander | ready at http://127.0.0.1:\(fixed)"), "\(up)")
      let passwords = try await project.environment()

      // ps shows the URLs; they answer on 127.0.0.1.
      let ps = try await project.succeed("ps", "--json")
      let rows = try #require(try JSONSerialization.jsonObject(with: Data(ps.output.utf8)) as? [[String: Any]])
      let insightURL = try #require(rows.first { $0["name"] as? String == "insight" }?["url"] as? String)
      let commanderURL = try #require(rows.first { $0["name"] as? String == "commander" }?["url"] as? String)
      #expect(commanderURL == "http://127.0.0.1:\(fixed)")
      for row in rows { #expect(row["health"] as? String == "healthy", "\(row)") }
      #expect(try await httpStatus(insightURL + "/api/health") == #"200 {"status":"up"}"#)
      #expect(try await httpStatus(commanderURL + "/healthcheck") == "200 ok")
      for password in passwords.values where password.count == 22 { #expect(!ps.output.contains(password)) }

      // RedisInsight: every cache, numbered from 1, with its alias, port and password.
      let insight = try await containerEnvironment(project, "\(project.name)-insight")
      #expect(insight["RI_REDIS_HOST1"] == "cache")
      #expect(insight["RI_REDIS_ALIAS1"] == "cache")
      #expect(insight["RI_REDIS_PORT1"] == "6379")
      #expect(insight["RI_REDIS_PASSWORD1"] == passwords["CACHE_PASSWORD"])
      #expect(insight["RI_REDIS_HOST2"] == "sessions")
      #expect(insight["RI_REDIS_PASSWORD2"] == nil, "sessions has no password")
      #expect(insight["RI_REDIS_HOST3"] == "g")
      #expect(insight["RI_REDIS_PASSWORD3"] == passwords["G_PASSWORD"])
      #expect(insight["RI_ACCEPT_TERMS_AND_CONDITIONS"] == nil, "accepting the terms is the user's choice")

      // Redis Commander: the caches it was given, label:host:port:db:password.
      let commander = try await containerEnvironment(project, "\(project.name)-commander")
      #expect(
        commander["REDIS_HOSTS"]
          == "cache:cache:6379:0:\(passwords["CACHE_PASSWORD"]!),g:g:6379:0:\(passwords["G_PASSWORD"]!)")

      // What the UIs make of it, tried from inside them: every cache answers at its alias on the project
      // network with the password it was given, also after another `up` looked for what a dead apphost
      // left (podman's name server is not one of those).
      try await project.succeed("up", "-d")
      let databases = try await connections(insightURL + "/cgi-bin/databases")
      #expect(databases.keys.sorted() == ["cache", "g", "sessions"], "\(databases)")
      for (alias, id, hasPassword) in [("cache", "1", true), ("sessions", "2", false), ("g", "3", true)] {
        let database = databases[alias] ?? [:]
        #expect(database["id"] as? String == id, "\(alias): \(database)")
        #expect(database["host"] as? String == alias, "\(alias): \(database)")
        #expect(database["port"] as? Int == 6379, "\(alias): \(database)")
        #expect(database["password"] as? Bool == hasPassword, "\(alias): \(database)")
        #expect(database["tls"] as? Bool == false, "\(alias): \(database)")
        #expect(database["ping"] as? String == "PONG", "\(alias): \(database)")
      }
      let opened = try await connections(commanderURL + "/cgi-bin/connections")
      #expect(opened.keys.sorted() == ["cache", "g"], "\(opened)")
      for label in ["cache", "g"] {
        let connection = opened[label] ?? [:]
        #expect(connection["host"] as? String == label, "\(label): \(connection)")
        #expect(connection["port"] as? String == "6379", "\(label): \(connection)")
        #expect(connection["dbIndex"] as? Int == 0, "\(label): \(connection)")
        #expect(connection["password"] as? Bool == true, "\(label): \(connection)")
        #expect(connection["ping"] as? String == "PONG", "\(label): \(connection)")
      }

      // RedisInsight keeps its settings in a volume and runs as its image's user.
      let mounts = try await project.cli(
        "inspect", "--format", "{{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}", "\(project.name)-insight")
      #expect(mounts.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(project.name)-insight-data:/data")
      let user = try await execute(engine, ["exec", "\(project.name)-insight", "id", "-u"])
      #expect(user.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1000")
    }
  }

  /// Caches alone run without a project network; a UI added later joins them to one, without recreating them.
  @Test(arguments: TestEngines.all)
  func aUIAddedLaterReachesTheRunningCache(engine: String) async throws {
    try await EngineProject.run(engine: engine, "later") { project in
      project.manifest(#""cache": {"type": "redis", "lifetime": "persistent"}"#)
      try await project.succeed("up", "-d")
      let id = try await project.cli("inspect", "--format", "{{.Id}}", "\(project.name)-cache").output
      #expect(try await project.cli("network", "inspect", project.name).status != 0, "no network yet")
      project.manifest(#""cache": {"type": "redis", "lifetime": "persistent"}, "insight": {"type": "redisinsight"}"#)
      let up = try await project.succeed("up", "-d")
      #expect(up.output.contains("cache   | unchanged"), "\(up)")
      #expect(try await project.cli("inspect", "--format", "{{.Id}}", "\(project.name)-cache").output == id)
      let ps = try await project.succeed("ps", "--json")
      let rows = try #require(try JSONSerialization.jsonObject(with: Data(ps.output.utf8)) as? [[String: Any]])
      let insightURL = try #require(rows.first { $0["name"] as? String == "insight" }?["url"] as? String)
      let databases = try await connections(insightURL + "/cgi-bin/databases")
      #expect(databases["cache"]?["ping"] as? String == "PONG", "\(databases)")
    }
  }

  @Test(arguments: TestEngines.all)
  func acceptingTheTermsIsPassedOnWhenAsked(engine: String) async throws {
    try await EngineProject.run(engine: engine, "terms") { project in
      project.manifest(
        #""cache": {"type": "redis"}, "insight": {"type": "redisinsight", "acceptTerms": true, "dataVolume": false}"#)
      try await project.succeed("up", "-d")
      let insight = try await containerEnvironment(project, "\(project.name)-insight")
      #expect(insight["RI_ACCEPT_TERMS_AND_CONDITIONS"] == "true")
    }
  }

  @Test(arguments: TestEngines.all)
  func commanderRefusesAPasswordItCannotCarry(engine: String) async throws {
    try await EngineProject.run(engine: engine, "colon") { project in
      project.manifest(
        #""cache": {"type": "redis", "password": {"env": "COLON_PASSWORD"}}, "ui": {"type": "rediscommander"}"#)
      let up = try await project.apphost("up", "-d", environment: ["COLON_PASSWORD": "a:b"])
      #expect(up.status == 65, "\(up)")
      #expect(up.errors.contains("COLON_PASSWORD"))
      #expect(up.errors.contains("Redis Commander"))
      #expect(try await project.leftovers().isEmpty)
      // Found by the stand-in that parses REDIS_HOSTS as the real entrypoint does: a space made a second
      // connection and a wrong password while `up` said ready; '"' and '\' stopped the container.
      for password in ["a b", #"a"b"#, #"a\b"#] {
        let refused = try await project.apphost("up", "-d", environment: ["COLON_PASSWORD": password])
        #expect(refused.status == 65, "\(password): \(refused)")
        #expect(refused.errors.contains("which Redis Commander (resources.ui) cannot take"), "\(password): \(refused)")
        #expect(try await project.leftovers().isEmpty)
      }
    }
  }

  @Test(arguments: TestEngines.all)
  func cliTalksToEveryKindOfCache(engine: String) async throws {
    try await EngineProject.run(engine: engine, "cli") { project in
      project.manifest(#""cache": {"type": "redis"}, "sessions": {"type": "valkey"}, "g": {"type": "garnet"}"#)
      try await project.succeed("up", "-d")
      for name in ["cache", "sessions", "g"] {
        #expect(try await project.succeed("cli", name, "--", "SET", "greeting", "hello \(name)").output == "OK\n")
        // Into a pipe, as redis-cli prints: the raw value; --no-raw gives the terminal's quoted form.
        #expect(try await project.succeed("cli", name, "--", "GET", "greeting").output == "hello \(name)\n")
        #expect(
          try await project.succeed("cli", "--no-raw", name, "--", "GET", "greeting").output == "\"hello \(name)\"\n")
      }
      #expect(try await project.succeed("cli", "cache", "--", "RPUSH", "list", "a", "b").output == "2\n")
      #expect(try await project.succeed("cli", "cache", "--", "LRANGE", "list", "0", "-1").output == "a\nb\n")
      #expect(
        try await project.succeed("cli", "--no-raw", "cache", "--", "LRANGE", "list", "0", "-1").output
          == "1) \"a\"\n2) \"b\"\n")
      let error = try await project.apphost("cli", "cache", "--", "NOSUCHCOMMAND")
      #expect(error.status == 1)
      #expect((error.output + error.errors).contains("ERR unknown command"), "\(error)")

      // Without a command: one command per line from standard input.
      let session = try await execute(
        "sh", ["-c", "printf 'SET q \"two words\"\\nGET q\\nquit\\n' | '\(Binary.path)' cli g"], in: project.path,
        environment: ["APPHOST_ENGINE": engine])
      #expect(session.status == 0, "\(session)")
      #expect(session.output == "OK\ntwo words\n", "\(session)")

      let notRunning = try await project.apphost("cli", "nope")
      #expect(notRunning.status == 64)
    }
  }

  /// `apphost cli cache -- MONITOR` shows what another program sends, until Ctrl-C.
  @Test(arguments: TestEngines.all)
  func monitorAndSubscribeStreamUntilCtrlC(engine: String) async throws {
    try await EngineProject.run(engine: engine, "monitor") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      try await project.succeed("up", "-d")
      let monitor = try await BackgroundCommand.start(project: project, "cli", "--no-raw", "cache", "--", "MONITOR")
      try await monitor.waitForOutput("OK", timeout: .seconds(10))
      let subscriber = try await BackgroundCommand.start(
        project: project, "cli", "--no-raw", "cache", "--", "SUBSCRIBE", "news")
      try await subscriber.waitForOutput("\"subscribe\"", timeout: .seconds(10))
      let environment = try await project.environment()
      _ = try await project.redis(
        port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "SET", "watched-key", "42")
      _ = try await project.redis(
        port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "PUBLISH", "news", "extra")
      try await monitor.waitForOutput(#""SET" "watched-key" "42""#, timeout: .seconds(10))
      try await subscriber.waitForOutput(#"3) "extra""#, timeout: .seconds(10))
      #expect(!monitor.output.contains(environment["CACHE_PASSWORD"]!), "MONITOR shows AUTH redacted")
      monitor.signal(SIGINT)
      subscriber.signal(SIGINT)
      #expect(try await monitor.wait(timeout: .seconds(10)) == 130)
      #expect(try await subscriber.wait(timeout: .seconds(10)) == 130)
    }
  }

  /// The sample manifest of the repository, as a newcomer runs it.
  @Test(arguments: TestEngines.all)
  func theSampleStartsWithBothUIsAndItsProgram(engine: String) async throws {
    try await EngineProject.run(engine: engine, "sample") { project in
      try writeSample(into: project.folder, name: project.name)
      let up = try await project.succeed("up", "-d")
      for name in ["insight", "commander"] {
        #expect(
          up.output.range(of: #"\#(name) +\| ready at http://127\.0\.0\.1:\d+"#, options: .regularExpression) != nil,
          "\(up)")
      }
      let logs = try await eventually(timeout: .seconds(30)) {
        try await project.succeed("logs", "app")
      } until: {
        $0.output.contains("visit number")
      }
      #expect(logs.output.contains("visit number"), "\(logs)")
    }
  }
}
