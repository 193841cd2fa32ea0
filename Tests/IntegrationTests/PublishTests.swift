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
    "worker": {"type": "executable", "command": "sh", "args": ["-c", "echo \\"$REDIS_URL replica $N\\"; sleep 1000"],
               "references": ["cache", "g"], "image": "\(registry)/library/redis:8.6", "replicas": 2,
               "env": {"N": "{replica}"}},
    "seed": {"type": "task", "command": "sh", "references": ["cache"], "image": "\(registry)/library/redis:8.6",
             "args": ["-c", "for i in $(seq 100); do REDISCLI_AUTH=\\"$CACHE_PASSWORD\\" redis-cli -h cache SET seeded yes | grep -q OK && exit 0; sleep 0.2; done; exit 1"]},
    "web": {"type": "executable", "command": "sh", "image": "\(registry)/library/redis:8.6", "waitFor": ["seed"],
            "args": ["-c", "mkdir -p /tmp/www && echo ok > /tmp/www/health && exec httpd -f -p \\"$PORT\\" -h /tmp/www"],
            "endpoints": {"http": {"port": 18080}}, "readiness": {"http": "/health"}}
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

    let secretFiles =
      target == "compose"
      ? ["cache.env", "commander.env", "g.env", "insight.env", "seed.env", "worker-1.env", "worker.env"]
      : ["secrets.yaml"]
    #expect(one.keys.filter { $0.hasSuffix(".env") || $0 == "secrets.yaml" }.sorted() == secretFiles)
    let secrets = try passwords(folder)
    #expect(secrets.keys.sorted() == ["cache", "g"])
    for (name, text) in one where !secretFiles.contains(name) {
      for password in secrets.values { #expect(!text.contains(password), "\(name) holds a password") }
    }
    for password in secrets.values {
      #expect(secretFiles.contains { one[$0]?.contains(password) == true }, "a password in no secret file")
    }
    let ignored = try #require(one[".gitignore"]).split(separator: "\n")
    #expect(ignored.first == "# Written by apphost publish: these files hold passwords.")
    #expect(ignored.dropFirst().map(String.init).sorted() == secretFiles)
    for name in secretFiles {
      let mode = try FileManager.default.attributesOfItem(atPath: "\(folder.path)/out-1/\(name)")[.posixPermissions]
      #expect(mode as? Int == 0o600, "\(name)")
    }
    // The header names the image registry override and the program that is not carried.
    let main = try #require(one[target == "compose" ? "docker-compose.yml" : "kustomization.yaml"])
    #expect(
      main.contains("#   cache: \(Self.registry)/library/redis:8.6 (instead of docker.io/library/redis:8.6)")
        == (ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"]?.isEmpty == false), "\(main)")
    #expect(main.contains("#   api (python3 app.py): give it an \"image\""), "\(main)")
  }

  /// Every file and the kustomize build of the folder validate strictly; every container has requests,
  /// limits and a securityContext that forbids privilege escalation, and each env name once.
  @Test func kubernetesManifestsValidate() async throws {
    let folder = TemporaryFolder("apphost-k8s")
    defer { folder.remove() }
    folder.write("apphost.json", #"{"name": "pub", "resources": {\#(Self.manifest)}}"#)
    let result = try await apphost("publish", "kubernetes", "-o", "k8s", "--namespace", "shop", in: folder.path)
    #expect(result.status == 0, "\(result)")
    let names = files(in: folder.path + "/k8s").keys.filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(
      names == [
        "cache.yaml", "commander.yaml", "g.yaml", "insight.yaml", "kustomization.yaml", "namespace.yaml",
        "secrets.yaml", "seed.yaml", "sessions.yaml", "web.yaml", "worker.yaml",
      ])
    let validate = ["--strict", "--kubernetes-version", "1.37.0"]
    let validation = try await execute("kubernetes-validate", validate + names.map { "k8s/\($0)" }, in: folder.path)
    #expect(validation.status == 0, "\(validation)")
    let passed = validation.output.split(separator: "\n").filter { $0.contains(" passed for resource ") }
    // A Namespace, 2 Secrets, 3 caches x (StatefulSet + 2 Services), 2 UIs x (Deployment + Service) and a PVC,
    // the worker's StatefulSet and headless Service, the seed's Job, web's Deployment and Service.
    let objects = 22
    #expect(passed.count == objects, "\(validation.output)")

    let built = try await execute("kubectl", ["kustomize", "k8s"], in: folder.path)
    try #require(built.status == 0, "\(built)")
    folder.write("built.yaml", built.output)
    let builtValidation = try await execute("kubernetes-validate", validate + ["built.yaml"], in: folder.path)
    #expect(builtValidation.status == 0, "\(builtValidation)")
    #expect(
      builtValidation.output.split(separator: "\n").filter { $0.contains(" passed for resource ") }.count
        == passed.count)
    let check = try await execute("python3", ["-c", Self.podCheck, "built.yaml"], in: folder.path)
    #expect(check.status == 0, "\(check)")
    #expect(check.output.contains("checked 8 containers"), "\(check)")

    let cache = try #require(folder.read("k8s/cache.yaml"))
    #expect(cache.contains("serviceName: cache-headless") && cache.contains("clusterIP: None"))
    #expect(cache.contains("namespace: shop"))
    #expect(cache.contains(#"REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli -p 6379 ping | grep -q PONG"#))
    let worker = try #require(folder.read("k8s/worker.yaml"))
    #expect(worker.contains("fieldPath: \"metadata.labels['apps.kubernetes.io/pod-index']\""))
    #expect(worker.contains("value: \"$(APPHOST_REPLICA)\""), "{replica} is the pod's index: \(worker)")
    let web = try #require(folder.read("k8s/web.yaml"))
    #expect(web.contains("          httpGet:\n            path: /health\n            port: 18080\n"), "\(web)")
    #expect(try #require(folder.read("k8s/seed.yaml")).contains("kind: Job"))
  }

  /// A cluster and a sentinel group: every node a StatefulSet with its Services, the Job that forms the
  /// cluster, and the sentinels; the folder and its kustomize build validate strictly, and every pod passes
  /// the same checks as above.
  @Test func kubernetesCarriesAClusterAndSentinels() async throws {
    let folder = TemporaryFolder("apphost-k8s-topologies")
    defer { folder.remove() }
    folder.write(
      "apphost.json",
      #"{"name": "pub", "resources": {"shards": {"type": "valkey", "password": "pw", "dataVolume": true, "cluster": {"shards": 3, "replicasPerShard": 1}}, "watched": {"type": "redis", "replicas": 1, "sentinel": true}}}"#
    )
    let result = try await apphost("publish", "kubernetes", "-o", "k8s", in: folder.path)
    #expect(result.status == 0, "\(result)")
    let names = files(in: folder.path + "/k8s").keys.filter { $0.hasSuffix(".yaml") }.sorted()
    let nodes: [String] = ["shards"] + (2...6).map { "shards-node-\($0)" }
    let servers: [String] = ["watched", "watched-replica-1"] + (1...3).map { "watched-sentinel-\($0)" }
    let expected: [String] = (nodes + servers + ["shards-cluster", "kustomization", "secrets"]).map { "\($0).yaml" }
    #expect(names == expected.sorted())
    let validate = ["--strict", "--kubernetes-version", "1.37.0"]
    let validation = try await execute("kubernetes-validate", validate + names.map { "k8s/\($0)" }, in: folder.path)
    #expect(validation.status == 0, "\(validation)")
    // 2 Secrets (passwords); 11 servers x (StatefulSet + 2 Services); the Job.
    let passed = validation.output.split(separator: "\n").filter { $0.contains(" passed for resource ") }
    let objects = 2 + 11 * 3 + 1
    #expect(passed.count == objects, "\(validation.output)")
    let built = try await execute("kubectl", ["kustomize", "k8s"], in: folder.path)
    try #require(built.status == 0, "\(built)")
    folder.write("built.yaml", built.output)
    let check = try await execute("python3", ["-c", Self.podCheck, "built.yaml"], in: folder.path)
    #expect(check.status == 0, "\(check)")
    #expect(check.output.contains("checked 12 containers"), "\(check)")
    let job = try #require(folder.read("k8s/shards-cluster.yaml"))
    #expect(job.contains("--cluster-replicas 1 --cluster-yes"), "\(job)")
  }

  /// Run over `kubectl kustomize`'s output: every Deployment, StatefulSet and Job container has memory
  /// and CPU requests and limits, a securityContext with allowPrivilegeEscalation false and every
  /// capability dropped, a pod seccomp profile, and no env name twice.
  static let podCheck = #"""
    import sys, yaml
    failures, count = [], 0
    for doc in yaml.safe_load_all(open(sys.argv[1])):
        if not doc or doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        if pod.get("securityContext", {}).get("seccompProfile", {}).get("type") != "RuntimeDefault":
            failures.append(doc["metadata"]["name"] + ": no seccomp profile")
        for c in pod.get("initContainers", []) + pod["containers"]:
            count += 1
            name = doc["metadata"]["name"] + "/" + c["name"]
            r = c.get("resources", {})
            for kind in ("requests", "limits"):
                for what in ("memory", "cpu"):
                    if not r.get(kind, {}).get(what):
                        failures.append(name + ": no " + kind + "." + what)
            s = c.get("securityContext")
            if not s or s.get("allowPrivilegeEscalation") is not False or s.get("capabilities", {}).get("drop") != ["ALL"] or "readOnlyRootFilesystem" not in s:
                failures.append(name + ": securityContext " + repr(s))
            env = [e["name"] for e in c.get("env", [])]
            if len(env) != len(set(env)):
                failures.append(name + ": env twice: " + repr(sorted(n for n in env if env.count(n) > 1)))
    print("checked %d containers" % count)
    for f in failures:
        print(f)
    sys.exit(1 if failures else 0)
    """#

  /// The compose tools and the engine each runs on.
  static let composeTools: [(tool: String, engine: String)] = [
    ("docker-compose", "docker"), ("podman-compose", "podman"),
  ]
  .filter { TestEngines.all.contains($0.engine) }

  /// The compose output runs to healthy on docker-compose and on podman-compose: healthy caches and UIs by
  /// their own healthchecks, apphost's passwords, the data apphost's volumes hold, the ports apphost uses,
  /// each replica its own number, and no password in any process's arguments meanwhile (podman-compose
  /// would have put interpolated values on `podman run -e NAME=value`).
  @Test(arguments: Self.composeTools)
  func composeOutputRunsToHealthy(tool: String, engine: String) async throws {
    try await EngineProject.run(engine: engine, "compose") { project in
      let cachePort = try TCPListener.unassignedPort()
      let garnetPort = try TCPListener.unassignedPort(besides: [cachePort])
      let webPort = try TCPListener.unassignedPort(besides: [cachePort, garnetPort])
      project.manifest(
        Self.manifest.replacing(#""port": 18080"#, with: #""port": \#(webPort)"#).replacing(
          #""cache": {"type": "redis", "dataVolume": true}"#,
          with: #""cache": {"type": "redis", "dataVolume": true, "hostPort": \#(cachePort)}"#
        ).replacing(
          #""g": {"type": "garnet", "dataVolume": true}"#,
          with: #""g": {"type": "garnet", "dataVolume": true, "hostPort": \#(garnetPort)}"#))
      try await project.succeed("up", "-d", "cache", "g", "sessions")
      let secrets = try passwords(project.folder)
      _ = try await project.redis(
        port: String(cachePort), password: secrets["cache"], "SET", "written", "by apphost")
      _ = try await project.redis(port: String(garnetPort), password: secrets["g"], "SET", "written", "in garnet")
      try await project.succeed("down")

      try await project.succeed("publish", "compose", "-o", "deploy")
      // sessions has no hostPort: the port the engine picked is remembered, and published.
      let remembered = try #require(project.folder.read(".apphost/ports.json"))
      let ports = try JSONSerialization.jsonObject(with: Data(remembered.utf8)) as? [String: Int]
      let enginesPort = try #require(ports?["sessions"], "\(remembered)")
      let published = try #require(project.folder.read("deploy/docker-compose.yml"))
      #expect(published.contains("    - \"127.0.0.1:\(enginesPort):6379\"\n"), "\(published)")
      #expect(!published.contains("127.0.0.1::"))
      // The engine picked that port from the kernel's ephemeral range, which every connection the other
      // tests make draws from too: since `down` freed it, one of them may hold it (a CI run failed on
      // "127.0.0.1:32840: bind: address already in use"). The remembered port moves to one outside that
      // range, as a user may edit it, and is published again.
      let sessionsPort = try TCPListener.unassignedPort(besides: [cachePort, garnetPort, webPort])
      var moved = try #require(ports)
      moved["sessions"] = sessionsPort
      _ = project.folder.write(
        ".apphost/ports.json", String(decoding: try JSONSerialization.data(withJSONObject: moved), as: UTF8.self))
      try await project.succeed("publish", "compose", "-o", "deploy")
      let republished = try #require(project.folder.read("deploy/docker-compose.yml"))
      #expect(republished.contains("    - \"127.0.0.1:\(sessionsPort):6379\"\n"), "\(republished)")
      let compose = ["-f", "deploy/docker-compose.yml", "-p", project.name.replacing("-", with: "")]
      if tool == "docker-compose" {
        let config = try await execute(tool, compose + ["config", "--quiet"], in: project.path)
        #expect(config.status == 0, "\(config)")
      }
      // Whatever happens, the compose project goes (it is not apphost's to remove).
      // The health checks run inside the containers: the /proc watch sees their arguments.
      let watch = ArgumentWatch()
      var failure: (any Error)?
      do {
        try await checkComposeProject(project, tool: tool, compose: compose, ports: [cachePort, garnetPort, webPort])
      } catch {
        failure = error
      }
      let report = await watch.stop()
      do {
        let down = try await Self.composeDown(tool, compose, engine: engine, in: project.path)
        #expect(down.status == 0, "\(down)")
      } catch {
        Issue.record(error, "\(tool) down")
      }
      if let failure { throw failure }
      #expect(report.unreadable == nil, "\(report.unreadable ?? "")")
      let passwords = Array(secrets.values)
      #expect(report.leaks(of: passwords).isEmpty, "\(report.leaks(of: passwords))")
      if engine == "podman" {
        #expect(
          report.commandLines.contains { $0.line.hasPrefix("podman run --name=") },
          "the watch saw no `podman run` of podman-compose")
      } else {
        // Garnet's image has bash (the stand-in too): its check took the bash branch, and it was seen.
        #expect(
          report.commandLines.contains { $0.line.hasPrefix("bash -c exec 3<>/dev/tcp/127.0.0.1/6379") },
          "no Garnet health check through bash was seen")
      }
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
      // The traces of `bash` and of `grep` beside it in the pipe interleave word by word ("+ bash+ grep -q
      // PONG\n -c 'exec 3<>...", "+ + bashgrep -q -c PONG\n 'exec 3<>..."): the script bash is given, one
      // quoted word written at once, names the branch.
      #expect(bash.errors.contains("'exec 3<>/dev/tcp/127.0.0.1/6379"), "the bash branch did not run: \(bash)")
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
      // `sh -x` traces both sides of the pipe at once, and their lines can interleave ("+ + nc -w 2
      // 127.0.0.1grep 6379", "+ nc -w 2 127.0.0.1+  6379"): either side's command names the branch.
      #expect(
        nc.errors.contains("nc -w 2 127.0.0.1") || nc.errors.contains("printf '*2\\r\\n$4\\r\\nAUTH"),
        "the nc branch did not run: \(nc)")
      #expect(!nc.errors.contains("'exec 3<>"), "\(nc)")
      let ncWrong = try await execute(
        engine, ["exec", "-e", "PATH=/tmp/nobash", "-e", "GARNET_PASSWORD=wrong", container, "/bin/sh", "-c", script])
      #expect(ncWrong.status != 0, "healthy with a wrong password through nc: \(ncWrong)")
    }
  }

  /// The state of each service's container by its own healthcheck ("healthy", or what the check said),
  /// polled until every one is healthy or `timeout` passes. Podman runs healthchecks from systemd timers,
  /// which this machine lacks: there the test runs each check itself (`podman healthcheck run`, the same
  /// command from the same definition).
  static func healthStates(_ engine: String, project: String, services: [String], timeout: Duration)
    async throws -> [String: String]
  {
    let deadline = ContinuousClock.now + timeout
    var states = Dictionary(uniqueKeysWithValues: services.map { ($0, "not checked") })
    while ContinuousClock.now < deadline {
      for service in services where states[service] != "healthy" {
        let id = try await container(engine, project: project, service: service)
        if engine == "docker" {
          states[service] = try await execute("docker", ["inspect", "--format", "{{.State.Health.Status}}", id])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
          let check = try await execute("podman", ["healthcheck", "run", id])
          states[service] = check.status == 0 ? "healthy" : "\(check.output)\(check.errors)"
        }
      }
      if states.values.allSatisfy({ $0 == "healthy" }) { break }
      try await Task.sleep(for: .milliseconds(500))
    }
    return states
  }

  /// The container of a compose service (both tools label it as docker compose does).
  static func container(_ engine: String, project: String, service: String) async throws -> String {
    let result = try await execute(
      engine,
      [
        "ps", "-a", "--filter", "label=com.docker.compose.project=\(project)", "--filter",
        "label=com.docker.compose.service=\(service)", "--format", "{{.ID}}",
      ])
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// `up -d` of a compose project, `body`, then `composeDown` whatever `body` did (the project is not
  /// apphost's to remove); `body`'s error, if any, after that.
  static func withComposeProject(
    _ tool: String, _ compose: [String], engine: String, in directory: String, _ body: () async throws -> Void
  ) async throws {
    let up = try await execute(tool, compose + ["up", "-d"], in: directory)
    var failure: (any Error)?
    do {
      try #require(up.status == 0, "\(up)")
      try await body()
    } catch {
      failure = error
    }
    let down = try await composeDown(tool, compose, engine: engine, in: directory)
    #expect(down.status == 0, "\(down)")
    if let failure { throw failure }
  }

  /// `down --volumes` of a compose project, and its default network after it: podman-compose 1.0
  /// leaves the network behind (each run of a test would add one to the machine).
  static func composeDown(_ tool: String, _ compose: [String], engine: String, in directory: String) async throws
    -> CommandResult
  {
    let down = try await execute(tool, compose + ["down", "--volumes"], in: directory)
    guard let index = compose.firstIndex(of: "-p"), index + 1 < compose.count else { return down }
    let network = compose[index + 1] + "_default"
    if try await execute(engine, ["network", "inspect", network]).status == 0 {
      let removed = try await execute(engine, ["network", "rm", network])
      #expect(removed.status == 0, "\(engine) network rm \(network): \(removed)")
    }
    return down
  }

  private func checkComposeProject(_ project: EngineProject, tool: String, compose: [String], ports: [Int])
    async throws
  {
    let engine = project.engine
    let composeProject = compose[3]
    let up = try await execute(tool, compose + ["up", "-d"], in: project.path)
    try #require(up.status == 0, "\(up)")
    // Every container healthy by its own healthcheck (PING after AUTH, the UIs' health URLs).
    let services = ["cache", "sessions", "g", "insight", "commander", "web"]
    let states = try await Self.healthStates(engine, project: composeProject, services: services, timeout: .seconds(90))
    #expect(states.values.allSatisfy { $0 == "healthy" }, "\(states)")

    // apphost's passwords, apphost's data, apphost's ports.
    let secrets = try passwords(project.folder)
    let env = try #require(project.folder.read("deploy/cache.env"))
    #expect(env.contains("\nREDIS_PASSWORD=\(secrets["cache"]!)\n"))
    for (service, expected, port) in [("cache", "by apphost", ports[0]), ("g", "in garnet", ports[1])] {
      #expect(
        try await project.redis(port: String(port), password: secrets[service], "GET", "written") == expected,
        "\(service)")
      #expect(try await project.redis(port: String(port), password: "wrong", "GET", "written").contains("WRONGPASS"))
    }
    // The task ran to completion (exit 0) and wrote what it was meant to; the program's endpoint is
    // published on the port apphost uses and answers its readiness URL.
    let seed = try await Self.container(engine, project: composeProject, service: "seed")
    var exit = ""
    for _ in 0..<120 {
      exit = try await execute(engine, ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", seed]).output
        .trimmingCharacters(in: .whitespacesAndNewlines)
      if exit.hasPrefix("exited") { break }
      try await Task.sleep(for: .milliseconds(250))
    }
    #expect(exit == "exited 0", "the seed task: \(exit)")
    #expect(try await project.redis(port: String(ports[0]), password: secrets["cache"], "GET", "seeded") == "yes")
    let health = try await execute(
      "python3",
      [
        "-c",
        "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(ports[2])/health', timeout=5).read().decode().strip())",
      ])
    #expect(health.output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(health)")
    // Each replica its own number, and the connection URL with the password from its env file.
    for (replica, service) in ["worker", "worker-1"].enumerated() {
      let id = try await Self.container(engine, project: composeProject, service: service)
      var logs = ""
      for _ in 0..<40 {
        logs = try await execute(engine, ["logs", id]).output
        if !logs.isEmpty { break }
        try await Task.sleep(for: .milliseconds(250))
      }
      #expect(logs.contains("redis://default:\(secrets["cache"]!)@cache:6379/0 replica \(replica)"), "\(logs)")
    }
    // What `ps` shows holds no password.
    let ps = try await execute(engine, ["ps", "--no-trunc", "--format", "{{.Command}}"])
    for password in secrets.values { #expect(!ps.output.contains(password), "\(engine) ps shows a password") }
  }
}
