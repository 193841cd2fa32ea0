import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Programs as resources, against the real engines and the native one: endpoints and readiness, a client
/// that gets a program's URL, tasks, `up -d` waiting for readiness (and failing for a program that ends
/// first), ports kept across `down`/`up`, `.env` and `envFile`.
@Suite(.enabled(if: !TestEngines.named.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct ProgramResourceTests {
  /// A Python HTTP program: `/health` once it listens, `/` answers the cache's `greeting` (set by a task).
  static let api = """
    import os, http.server, redis
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"ok" if self.path == "/health" else (cache.get("greeting") or b"none")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    print("api listening on", os.environ["PORT"], "extra", os.environ.get("FROM_FILE", "-"), flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
    """

  static let client = """
    import os, urllib.request
    url = os.environ["API_URL"]
    assert os.environ["services__api__http__0"] == url, os.environ["services__api__http__0"]
    assert url == "http://127.0.0.1:" + os.environ["API_PORT"], url
    print("client got", urllib.request.urlopen(url + "/").read().decode(), "from", url, flush=True)
    """

  static let resources = """
    "cache": {"type": "redis"},
    "seed": {"type": "task", "command": "sh", "args": ["-c", "redis-cli -u \\"$REDIS_URL\\" --no-auth-warning SET greeting seeded"],
             "references": ["cache"]},
    "api": {"type": "executable", "command": "python3", "args": ["api.py"], "endpoints": {"http": {}},
            "readiness": {"http": "/health", "timeout": 30}, "references": ["cache"], "waitFor": ["cache", "seed"]},
    "client": {"type": "executable", "command": "python3", "args": ["client.py"], "references": ["api"]}
    """

  @Test(arguments: TestEngines.named)
  func aTaskSeedsTheCacheAndAClientGetsTheReadyProgramsURL(engine: String) async throws {
    try await EngineProject.run(engine: engine, "prog") { project in
      project.folder.write("api.py", Self.api)
      project.folder.write("client.py", Self.client)
      project.manifest(Self.resources)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("client | client got seeded from http://127.0.0.1:", timeout: .seconds(90))
      let output = up.output
      func position(_ text: String) -> String.Index? { output.range(of: text)?.lowerBound }
      let seeded = try #require(position("seed   | exited (code 0)"), "\(output)")
      let apiStarted = try #require(position("api    | started"), "\(output)")
      let apiReady = try #require(position("api    | ready at http://127.0.0.1:"), "\(output)")
      let clientStarted = try #require(position("client | started"), "\(output)")
      #expect(seeded < apiStarted, "the task completes before what waits for it starts")
      #expect(apiReady < clientStarted, "the client starts once api answers /health")
      up.signal(SIGTERM)
      #expect(try await up.wait(timeout: .seconds(40)) == 143, "\(up.output)")
    }
  }

  @Test(arguments: TestEngines.named)
  func aFailingTaskEndsUpWithItsCodeAndStartsNothingThatWaitsForIt(engine: String) async throws {
    try await EngineProject.run(engine: engine, "task") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "migrate": {"type": "task", "command": "sh", "args": ["-c", "echo migrating; exit 3"], "references": ["cache"]},
        "app": {"type": "executable", "command": "sh", "args": ["-c", "echo app runs; sleep 60"], "waitFor": ["migrate"]}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      #expect(try await up.wait(timeout: .seconds(60)) == 3, "\(up.output)")
      #expect(up.output.contains("migrate | failed: the task exited with code 3"), "\(up.output)")
      #expect(!up.output.contains("app     | started"), "\(up.output)")
      #expect(!up.output.contains("app runs"), "\(up.output)")
    }
  }

  @Test(arguments: TestEngines.named)
  func upDetachedFailsNamingAProgramThatEndsBeforeItIsReady(engine: String) async throws {
    try await EngineProject.run(engine: engine, "crash") { project in
      project.manifest(
        """
        "cache": {"type": "redis"},
        "api": {"type": "executable", "command": "sh", "args": ["-c", "echo booting; echo cannot bind the port >&2; exit 7"],
                "endpoints": {"http": {}}, "references": ["cache"]}
        """)
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 1, "\(up)")
      #expect(up.errors.contains("api did not start: it exited with code 7 before it was ready"), "\(up)")
      #expect(up.errors.contains("    booting") && up.errors.contains("    cannot bind the port"), "\(up)")
      // What this up started is gone again.
      #expect(try await project.leftovers().isEmpty)
    }
  }

  @Test(arguments: TestEngines.named)
  func upDetachedWaitsForReadinessAndPortsSurviveDownAndUp(engine: String) async throws {
    try await EngineProject.run(engine: engine, "ports") { project in
      project.folder.write("api.py", Self.api)
      project.folder.write(".env", "# read for {\"env\": ...} values\nCACHE_PW=from-dot-env-1\n")
      project.folder.write("api.env", "FROM_FILE=file-value\n")
      project.manifest(
        """
        "cache": {"type": "redis", "password": {"env": "CACHE_PW"}},
        "seed": {"type": "task", "command": "sh", "args": ["-c", "redis-cli -u \\"$REDIS_URL\\" --no-auth-warning SET greeting hi"],
                 "references": ["cache"]},
        "api": {"type": "executable", "command": "python3", "args": ["api.py"], "endpoints": {"http": {}},
                "readiness": {"http": "/health"}, "references": ["cache"], "waitFor": ["seed"], "envFile": "api.env"}
        """)
      try await project.succeed("up", "-d")
      // Ready when up -d returns: the first request answers.
      let first = try await psRows(project)
      let url = try #require(first["api"]?["url"], "\(first)")
      #expect(try await fetch(url + "/") == "hi")
      #expect(first["seed"]?["state"] == "completed (0)", "\(first)")
      #expect(first["api"]?["health"] == "ready", "\(first)")
      let variables = try await project.environment()
      #expect(variables["CACHE_PASSWORD"] == "from-dot-env-1", "the .env value: \(variables)")
      let logs = try await project.succeed("logs", "api")
      #expect(logs.output.contains("extra file-value"), "\(logs)")

      try await project.succeed("down")
      try await project.succeed("up", "-d")
      let again = try await psRows(project)
      #expect(again["api"]?["url"] == url, "the endpoint keeps its port across down/up: \(first) \(again)")
      #expect(first["cache"]?["endpoint"] != nil && again["cache"]?["endpoint"] == first["cache"]?["endpoint"])
      #expect(try await fetch(url + "/health") == "ok")
    }
  }

  /// A web app of two replicas sharing a Redis pub/sub backplane (the SignalR scale-out case).
  static let chat = """
    import os, http.server, threading, redis
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    replica = os.environ["APPHOST_REPLICA"]
    received = []
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/send/"):
                cache.publish("chat", self.path[6:] + " via " + replica)
                body = "sent"
            elif self.path == "/received":
                body = ",".join(received)
            else:
                body = "replica " + replica
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body.encode())
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    subscription = cache.pubsub()
    subscription.subscribe("chat")
    def listen():
        for message in subscription.listen():
            if message["type"] == "message":
                received.append(message["data"].decode())
    threading.Thread(target=listen, daemon=True).start()
    print("subscribed on", os.environ["PORT"], flush=True)
    server.serve_forever()
    """

  @Test(arguments: TestEngines.named)
  func twoReplicasBehindOnePortShareABackplane(engine: String) async throws {
    try await EngineProject.run(engine: engine, "replicas") { project in
      project.folder.write("chat.py", Self.chat)
      project.manifest(
        """
        "cache": {"type": "redis"},
        "web": {"type": "executable", "command": "python3", "args": ["chat.py"], "endpoints": {"http": {}},
                "readiness": {"log": "^subscribed on"}, "references": ["cache"], "replicas": 2},
        "probe": {"type": "executable", "command": "sleep", "args": ["600"], "references": ["web"]}
        """)
      try await project.succeed("up", "-d")
      let rows = try await psRows(project)
      let own = try ["web-0", "web-1"].map { name in try #require(rows[name]?["url"], "\(rows)") }
      #expect(Set(own).count == 2, "each replica has its own port: \(rows)")
      let shared = try #require(try await project.environment("probe")["WEB_URL"])
      #expect(!own.contains(shared), "the endpoint's port is apphost's own: \(shared) \(own)")
      var answers: Set<String> = []
      for _ in 0..<8 { answers.insert(try await fetch(shared + "/")) }
      #expect(answers == ["replica 0", "replica 1"], "new connections reach both replicas: \(answers)")
      // A message sent to one replica reaches the other through the cache.
      #expect(try await fetch(own[0] + "/send/hello") == "sent")
      let received = try await eventually(timeout: .seconds(10)) {
        try await fetch(own[1] + "/received")
      } until: {
        $0.contains("hello via 0")
      }
      #expect(received.contains("hello via 0"), "\(received)")
    }
  }

  @Test(arguments: TestEngines.named)
  func watchRestartsTheProgramWhenAFileChanges(engine: String) async throws {
    try await EngineProject.run(engine: engine, "watch") { project in
      project.folder.write("src/version.txt", "one\n")
      project.manifest(
        """
        "cache": {"type": "redis"},
        "app": {"type": "executable", "command": "sh", "args": ["-c", "echo version $(cat src/version.txt); sleep 120"],
                "references": ["cache"], "watch": {"paths": ["src"], "ignore": ["**/*.tmp"]}}
        """)
      let up = try await BackgroundCommand.start(project: project, "up")
      try await up.waitForOutput("app   | version one", timeout: .seconds(60))
      try await up.waitForOutput("apphost: ready:", timeout: .seconds(10))
      project.folder.write("src/scratch.tmp", "ignored\n")
      try await Task.sleep(for: .milliseconds(800))
      #expect(!up.output.contains("changed, restarting"), "an ignored file restarts nothing: \(up.output)")
      project.folder.write("src/version.txt", "two\n")
      try await up.waitForOutput("app   | version two", timeout: .seconds(30))
      #expect(up.output.contains("apphost: app: src/version.txt changed, restarting it"), "\(up.output)")
      #expect(up.output.components(separatedBy: "changed, restarting").count == 2, "one restart: \(up.output)")
      up.signal(SIGINT)
      #expect(try await up.wait(timeout: .seconds(40)) == 130, "\(up.output)")
    }
  }

  func psRows(_ project: EngineProject) async throws -> [String: [String: String]] {
    let result = try await project.succeed("ps", "--json")
    return rowsByName(psJSON: result.output)
  }

  func fetch(_ url: String) async throws -> String {
    let result = try await execute("curl", ["-s", "--max-time", "5", url])
    return result.output
  }
}
