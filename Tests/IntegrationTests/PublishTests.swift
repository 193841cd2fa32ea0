import AppHostKit
import Foundation
import TestSupport
import Testing

/// `apphost publish`: compose files that docker-compose accepts and runs, Kubernetes manifests that
/// validate, the same bytes every time, and no password outside .env / the Secrets.
@Suite struct PublishTests {
  static let registry = ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] ?? "localhost/apphost-fixtures"
  static let manifest = """
    "cache": {"type": "redis", "dataVolume": true},
    "sessions": {"type": "valkey", "password": false},
    "g": {"type": "garnet", "dataVolume": true},
    "insight": {"type": "redisinsight"},
    "commander": {"type": "rediscommander", "caches": ["cache", "g"]},
    "api": {"type": "executable", "command": "python3", "args": ["app.py"], "references": ["cache"]},
    "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo $REDIS_URL; sleep 1000"],
               "references": ["cache", "g"], "image": "\(registry)/library/redis:8.6"}
    """

  func passwords(_ folder: TemporaryFolder) throws -> [String: String] {
    let text = try #require(folder.read(".apphost/secrets.json"))
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: String]]
    return object?["passwords"] ?? [:]
  }

  func files(in directory: String) -> [String: String] {
    var contents: [String: String] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
      contents[name] = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
    }
    return contents
  }

  @Test(arguments: ["compose", "kubernetes"])
  func outputIsStableAndKeepsSecretsInTheirFiles(target: String) async throws {
    let folder = TemporaryFolder("apphost-publish")
    defer { folder.remove() }
    folder.write("apphost.json", #"{"name": "pub", "resources": {\#(Self.manifest)}}"#)
    let first = try await apphost("publish", target, "-o", "out-1", in: folder.path)
    #expect(first.status == 0, "\(first)")
    let second = try await apphost("publish", target, "-o", "out-2", in: folder.path)
    #expect(second.status == 0)
    let one = files(in: folder.path + "/out-1")
    #expect(one == files(in: folder.path + "/out-2"), "the same input gives the same bytes")

    let secretFile = target == "compose" ? ".env" : "secrets.yaml"
    let secrets = try passwords(folder)
    #expect(secrets.keys.sorted() == ["cache", "g"])
    for (name, text) in one {
      for password in secrets.values {
        #expect(text.contains(password) == (name == secretFile), "\(name) and a password")
      }
    }
    #expect(one[".gitignore"] == "# Written by apphost publish: these files hold passwords.\n\(secretFile)\n")
    let mode = try FileManager.default.attributesOfItem(atPath: "\(folder.path)/out-1/\(secretFile)")[.posixPermissions]
    #expect(mode as? Int == 0o600)
  }

  @Test func kubernetesManifestsValidate() async throws {
    let folder = TemporaryFolder("apphost-k8s")
    defer { folder.remove() }
    folder.write("apphost.json", #"{"name": "pub", "resources": {\#(Self.manifest)}}"#)
    let result = try await apphost("publish", "kubernetes", "-o", "k8s", in: folder.path)
    #expect(result.status == 0, "\(result)")
    let names = files(in: folder.path + "/k8s").keys.filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(
      names == [
        "cache.yaml", "commander.yaml", "g.yaml", "insight.yaml", "secrets.yaml", "sessions.yaml", "worker.yaml",
      ])
    let validation = try await execute(
      "kubernetes-validate", ["--strict", "--kubernetes-version", "1.37.0"] + names.map { "k8s/\($0)" }, in: folder.path
    )
    #expect(validation.status == 0, "\(validation)")
    let passed = validation.output.split(separator: "\n").filter { $0.contains(" passed for resource ") }
    #expect(passed.count == 14, "\(validation.output)")
    let cache = try #require(folder.read("k8s/cache.yaml"))
    #expect(
      cache.contains("kind: StatefulSet") && cache.contains("volumeClaimTemplates:") && cache.contains("kind: Service"))
    #expect(cache.contains(#"REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli -p 6379 ping | grep -q PONG"#))
    #expect(try #require(folder.read("k8s/README.txt")).contains("api is run by apphost"))
  }

  /// The compose output runs on docker: healthy caches, apphost's passwords, and the data apphost's
  /// volumes hold.
  @Test(.enabled(if: TestEngines.all.contains("docker"), "needs the docker test engine"))
  func composeOutputRunsWithTheSamePasswordsAndData() async throws {
    try await EngineProject.run(engine: "docker", "compose") { project in
      project.manifest(Self.manifest)
      try await project.succeed("up", "-d", "cache", "g")
      let cache = try await project.environment("cache")
      let garnet = try await project.environment("g")
      _ = try await project.redis(
        port: cache["CACHE_PORT"], password: cache["CACHE_PASSWORD"], "SET", "written", "by apphost")
      _ = try await project.redis(port: garnet["G_PORT"], password: garnet["G_PASSWORD"], "SET", "written", "in garnet")
      try await project.succeed("down")

      try await project.succeed("publish", "compose", "-o", "deploy")
      let compose = ["-f", "deploy/docker-compose.yml", "-p", project.name]
      let config = try await execute("docker-compose", compose + ["config", "--quiet"], in: project.path)
      #expect(config.status == 0, "\(config)")
      // Whatever happens, the compose project goes (it is not apphost's to remove).
      // The health checks run inside the containers: the /proc watch sees their arguments.
      let watch = ArgumentWatch()
      var failure: (any Error)?
      do {
        try await checkComposeProject(project, compose: compose)
      } catch {
        failure = error
      }
      let report = await watch.stop()
      do {
        let down = try await execute("docker-compose", compose + ["down", "--volumes"], in: project.path)
        #expect(down.status == 0, "\(down)")
      } catch {
        Issue.record(error, "docker-compose down")
      }
      if let failure { throw failure }
      #expect(report.unreadable == nil, "\(report.unreadable ?? "")")
      let passwords = Array(try passwords(project.folder).values)
      #expect(report.leaks(of: passwords).isEmpty, "\(report.leaks(of: passwords))")
      // Garnet's image has bash (the stand-in too): its check took the bash branch, and it was seen.
      #expect(
        report.commandLines.contains { $0.line.hasPrefix("bash -c exec 3<>/dev/tcp/127.0.0.1/6379") },
        "no Garnet health check through bash was seen")
    }
  }

  /// The published Garnet health check, run in a Garnet container as compose and Kubernetes run it:
  /// through bash where there is bash (the real image, Debian based; the stand-in has it too), through
  /// nc where there is not; healthy with the container's password only.
  @Test(arguments: TestEngines.all)
  func garnetsPublishedHealthCheckNeedsItsPasswordThroughBashAndThroughNc(engine: String) async throws {
    try await EngineProject.run(engine: engine, "health") { project in
      project.manifest(#""g": {"type": "garnet"}"#)
      try await project.succeed("up", "-d")
      let loaded = try ManifestLoader.load(path: project.path + "/apphost.json")
      let plan = try Planner.plan(loaded, context: PlanContext(generatedPasswords: ["g": "unused"]))
      let script = HealthScripts.script(for: try #require(plan.container("g")))
      let container = "\(project.name)-g"
      let bash = try await execute(engine, ["exec", container, "/bin/sh", "-xc", script])
      #expect(bash.status == 0, "\(bash)")
      #expect(bash.errors.contains("bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379"), "the bash branch did not run: \(bash)")
      let wrong = try await execute(
        engine, ["exec", "-e", "GARNET_PASSWORD=wrong", container, "/bin/sh", "-c", script])
      #expect(wrong.status != 0, "healthy with a wrong password: \(wrong)")

      // Without bash on PATH: nc.
      let tools = try await execute(
        engine,
        [
          "exec", container, "/bin/sh", "-c",
          "mkdir -p /tmp/nobash && for t in cat grep nc printf timeout; do ln -sf /bin/busybox /tmp/nobash/$t; done",
        ])
      try #require(tools.status == 0, "\(tools)")
      let nc = try await execute(engine, ["exec", "-e", "PATH=/tmp/nobash", container, "/bin/sh", "-xc", script])
      #expect(nc.status == 0, "\(nc)")
      #expect(nc.errors.contains("nc -w 2 127.0.0.1 6379"), "the nc branch did not run: \(nc)")
      #expect(!nc.errors.contains("bash -c 'exec"), "\(nc)")
      let ncWrong = try await execute(
        engine, ["exec", "-e", "PATH=/tmp/nobash", "-e", "GARNET_PASSWORD=wrong", container, "/bin/sh", "-c", script])
      #expect(ncWrong.status != 0, "healthy with a wrong password through nc: \(ncWrong)")
    }
  }

  private func checkComposeProject(_ project: EngineProject, compose: [String]) async throws {
    let up = try await execute("docker-compose", compose + ["up", "-d"], in: project.path)
    try #require(up.status == 0, "\(up)")
    // Every container healthy by its own healthcheck (PING after AUTH, the UIs' health URLs).
    let services = ["cache", "sessions", "g", "insight", "commander"]
    let deadline = ContinuousClock.now + .seconds(90)
    var states: [String: String] = [:]
    while ContinuousClock.now < deadline {
      for service in services {
        let id = try await execute("docker-compose", compose + ["ps", "-q", service], in: project.path).output
          .trimmingCharacters(in: .whitespacesAndNewlines)
        states[service] = try await execute("docker", ["inspect", "--format", "{{.State.Health.Status}}", id]).output
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }
      if states.values.allSatisfy({ $0 == "healthy" }) { break }
      try await Task.sleep(for: .milliseconds(500))
    }
    #expect(states.values.allSatisfy { $0 == "healthy" }, "\(states)")

    // apphost's passwords, apphost's data.
    let secrets = try passwords(project.folder)
    let env = try #require(project.folder.read("deploy/.env"))
    #expect(env.contains("CACHE_PASSWORD=\(secrets["cache"]!)"))
    for (service, expected) in [("cache", "by apphost"), ("g", "in garnet")] {
      let address = try await execute("docker-compose", compose + ["port", service, "6379"], in: project.path).output
      let port = String(address.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").last ?? "")
      #expect(
        try await project.redis(port: port, password: secrets[service], "GET", "written") == expected, "\(service)")
      #expect(try await project.redis(port: port, password: "wrong", "GET", "written").contains("WRONGPASS"))
    }
    let worker = try await execute("docker-compose", compose + ["logs", "--no-color", "worker"], in: project.path)
    #expect(worker.output.contains("redis://default:\(secrets["cache"]!)@cache:6379/0"), "\(worker)")
  }
}
