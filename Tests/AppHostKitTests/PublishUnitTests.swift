import Foundation
import TestSupport
import Testing

@testable import AppHostKit

@Suite struct YAMLTests {
  @Test func writesBlockStyleInTheGivenOrder() {
    let document = YAML.map([
      ("b", .string("plain")),
      ("a", .list([.string("x"), .map([("k", .integer(1)), ("l", .boolean(true))]), .list([.string("nested")])])),
      ("empty", .map([YAMLEntry]())),
      ("none", .list([])),
    ])
    #expect(
      document.document(comment: ["head"]) == """
        # head
        b: plain
        a:
        - x
        - k: 1
          l: true
        -
          - nested
        empty: {}
        none: []

        """)
  }

  @Test(arguments: [
    ("plain-word_1.2/x", "plain-word_1.2/x"),
    ("", "\"\""),
    ("yes", "\"yes\""),
    ("No", "\"No\""),
    ("null", "\"null\""),
    ("6379", "\"6379\""),
    ("1.0", "\"1.0\""),
    ("-c", "\"-c\""),
    ("a: b", "\"a: b\""),
    ("#x", "\"#x\""),
    ("say \"hi\"\n", #""say \"hi\"\n""#),
    ("${VAR}", "\"${VAR}\""),
  ])
  func quotesWhateverYAMLWouldMisread(text: String, written: String) {
    #expect(YAML.scalar(text) == written)
  }

  @Test func entryComments() {
    let document = YAML.map([YAMLEntry("services", .map([("a", .string("b"))]), comment: ["note", ""])])
    #expect(document.document() == "# note\n#\nservices:\n  a: b\n")
  }
}

@Suite struct PublishPartsTests {
  @Test(arguments: [
    ("/p/data/g", "/p/out", "../data/g"),
    ("/p/out/x", "/p/out", "./x"),
    ("/p/out", "/p/out", "."),
    ("/srv/x", "/home/me/out", "/srv/x"),
  ])
  func relativePaths(path: String, base: String, relative: String) {
    #expect(relativePath(path, from: base) == relative)
  }

  @Test func secretsGetVariablesAndNetworkEndpointsUseServiceNames() throws {
    let plan = try plan(
      #"{"resources": {"cache": {"type": "redis"}, "my-db": {"type": "valkey", "password": {"env": "DB_PW"}}, "open": {"type": "garnet", "password": false}}}"#,
      environment: ["DB_PW": "from-env"])
    let loaded = try load(
      #"{"resources": {"cache": {"type": "redis"}, "my-db": {"type": "valkey", "password": {"env": "DB_PW"}}, "open": {"type": "garnet", "password": false}}}"#
    )
    let secrets = PublishedSecrets(plan: plan, manifest: loaded.manifest)
    #expect(secrets.all.map(\.variable) == ["CACHE_PASSWORD", "DB_PW"])
    #expect(secrets.all.map(\.fromEnvironment) == [false, true])
    let inside = try #require(plan.networkEndpoints.first { $0.resource == "my-db" })
    #expect(inside.host == "my-db")
    #expect(inside.uri().masked() == "valkey://:********@my-db:6379")
  }

  /// URIs carry a password percent-encoded; compose and Kubernetes cannot encode what they substitute.
  @Test func uriPasswordsArePublishedPercentEncoded() throws {
    let manifest = #"""
      {"resources": {"cache": {"type": "redis", "password": "p@ss/w rd"},
       "w": {"type": "executable", "command": "sh", "references": ["cache"], "image": "x/y:1",
             "env": {"U": "{cache.uri}"}}}}
      """#
    let plan = try plan(manifest, publishing: true)
    let loaded = try load(manifest)
    let secrets = PublishedSecrets(plan: plan, manifest: loaded.manifest)
    #expect(secrets.all.map(\.variable) == ["CACHE_PASSWORD", "CACHE_PASSWORD_URLENCODED"])
    #expect(secrets.all.map(\.value) == ["p@ss/w rd", "p%40ss%2Fw%20rd"])

    let compose = try Publisher.files(.compose, plan: plan, manifest: loaded.manifest, outputDirectory: "/p/out")
    let composeFile = try #require(compose.first { $0.name == ComposeWriter.fileName }?.text)
    #expect(!composeFile.contains(Value.mask))
    #expect(!composeFile.contains("p@ss") && !composeFile.contains("p%40ss"))
    #expect(composeFile.contains("    env_file:\n    - \"./w.env\"\n"))
    let envFile = try #require(compose.first { $0.name == "w.env" })
    #expect(envFile.secret)
    #expect(envFile.text.contains("\nREDIS_URL=redis://default:p%40ss%2Fw%20rd@cache:6379/0\n"))
    #expect(envFile.text.contains("\nCACHE_URI=redis://:p%40ss%2Fw%20rd@cache:6379\n"))
    #expect(envFile.text.contains("\nREDIS_PASSWORD=p@ss/w rd\n"))

    let kubernetes = try Publisher.files(.kubernetes, plan: plan, manifest: loaded.manifest, outputDirectory: "/p/k8s")
    let secretFile = try #require(kubernetes.first { $0.name == "secrets.yaml" }?.text)
    #expect(secretFile.contains("  password: \"p@ss/w rd\"\n  password-urlencoded: \"p%40ss%2Fw%20rd\"\n"))
    let program = try #require(kubernetes.first { $0.name == "w.yaml" }?.text)
    #expect(!program.contains(Value.mask))
    #expect(program.contains(#"value: "redis://:$(CACHE_PASSWORD_URLENCODED)@cache:6379""#))
    #expect(program.contains(#"value: "redis://default:$(CACHE_PASSWORD_URLENCODED)@cache:6379/0""#))
    #expect(program.contains("key: password-urlencoded"))
  }

  @Test func healthScriptsReadThePasswordFromTheContainer() throws {
    let plan = try plan(
      #"{"resources": {"r": {"type": "redis"}, "v": {"type": "valkey", "password": false}, "u": {"type": "redisinsight"}}}"#
    )
    #expect(
      HealthScripts.script(for: plan.container("r")!)
        == #"REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p 6379 ping | grep -q PONG"#)
    #expect(HealthScripts.script(for: plan.container("v")!) == "valkey-cli -p 6379 ping | grep -q PONG")
    #expect(
      HealthScripts.script(for: plan.container("u")!) == "wget -q -O - http://127.0.0.1:5540/api/health | grep -q up")
  }
}

@Suite struct PublishComposeTests {
  func compose(_ manifest: String, options: PublishOptions = PublishOptions()) throws -> [String: PublishedFile] {
    let plan = try plan(manifest, publishing: true)
    let files = try Publisher.files(
      .compose, plan: plan, manifest: try load(manifest).manifest, outputDirectory: "/projects/shop/out",
      options: options)
    return Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0) })
  }

  /// The port apphost uses: the fixed one, else the remembered one, else none (never a random one).
  @Test func portsAreApphostsOrNone() throws {
    let manifest = #"""
      {"resources": {"a": {"type": "redis", "hostPort": 7001}, "b": {"type": "redis"}, "c": {"type": "valkey"}}}
      """#
    let files = try compose(manifest, options: PublishOptions(rememberedPorts: ["b": 41234]))
    let text = try #require(files[ComposeWriter.fileName]?.text)
    #expect(text.contains("    ports:\n    - \"127.0.0.1:7001:6379\"\n"))
    #expect(text.contains("    ports:\n    - \"127.0.0.1:41234:6379\"\n"))
    #expect(!text.contains("127.0.0.1::"))
    #expect(text.components(separatedBy: "    ports:").count == 3, "c has no port: \(text)")
    #expect(text.contains("# c: no port published (no \"hostPort\" in apphost.json and none remembered)"))
  }

  /// `{replica}` differs per copy: one service each, numbered; identical copies are `deploy.replicas`.
  @Test func replicasAreNumberedServicesOrDeployReplicas() throws {
    let manifest = #"""
      {"resources": {"cache": {"type": "redis", "password": false},
       "w": {"type": "executable", "command": "sh", "args": ["--id", "w{replica}"], "image": "x/w:1", "replicas": 3,
             "references": ["cache"], "env": {"SLOT": "{replica}"}},
       "same": {"type": "executable", "command": "sh", "image": "x/s:1", "replicas": 2},
       "after": {"type": "executable", "command": "sh", "image": "x/a:1", "waitFor": ["w", "cache"]}}}
      """#
    let files = try compose(manifest)
    let text = try #require(files[ComposeWriter.fileName]?.text)
    for (replica, service) in ["w", "w-1", "w-2"].enumerated() {
      #expect(
        text.contains(
          "  \(service):\n    image: \"x/w:1\"\n    command:\n    - sh\n    - \"--id\"\n    - w\(replica)\n"),
        "\(text)")
      #expect(text.contains("      SLOT: \"\(replica)\"\n      APPHOST_REPLICA: \"\(replica)\"\n"))
      #expect(text.contains("      \(service):\n        condition: service_started\n"))
    }
    #expect(!text.contains("  w-0:\n"))
    #expect(text.contains("# w: one service per copy (w, w-1, w-2), each with its own APPHOST_REPLICA"))
    #expect(text.contains("  same:\n    image: \"x/s:1\"\n    command:\n    - sh\n    deploy:\n      replicas: 2\n"))
    #expect(text.contains("# same: 2 identical copies (deploy.replicas); compose cannot number them"))
    #expect(text.contains("  after:\n") && text.contains("      APPHOST_REPLICA: \"0\"\n"))
    #expect(text.contains("      cache:\n        condition: service_healthy\n"))
  }

  @Test(
    arguments: [
      ("plain", nil), ("with space inside", nil), ("a=b#c", nil), ("\"quoted", "a quote at its start"),
      ("'quoted", "a quote at its start"), (" lead", "a blank at its start or end"),
      ("trail ", "a blank at its start or end"), ("x${Y}", "\"${\""), ("a #b", "\" #\""),
    ] as [(String, String?)])
  func envFileValuesBothToolsReadAlike(value: String, problem: String?) {
    #expect(ComposeWriter.envFileProblem(value) == problem)
  }

  @Test func aPasswordAnEnvFileWouldMisreadIsRefused() throws {
    #expect {
      try compose(#"{"resources": {"cache": {"type": "redis", "password": "'starts-with-quote"}}}"#)
    } throws: { error in
      (error as? AppHostError)?.errorDescription?.contains("cannot publish cache: the value of REDIS_PASSWORD") == true
    }
  }

  @Test func aPasswordInAProgramsArgumentsIsRefused() throws {
    let manifest = #"""
      {"resources": {"cache": {"type": "redis"},
       "w": {"type": "executable", "command": "sh", "args": ["{cache.password}"], "image": "x/w:1"}}}
      """#
    #expect(throws: AppHostError.self) { try compose(manifest) }
  }

  @Test func theHeaderNamesOverriddenImagesAndWhatIsNotCarried() throws {
    let manifest = #"""
      {"resources": {"cache": {"type": "redis"}, "api": {"type": "executable", "command": "python3", "args": ["a.py"]}}}
      """#
    let options = PublishOptions(
      imageRegistry: "mirror.local", originalImages: ["cache": "docker.io/library/redis:8.6"])
    let text = try #require(try compose(manifest, options: options)[ComposeWriter.fileName]?.text)
    #expect(
      text.contains(
        "# Images: APPHOST_IMAGE_REGISTRY=mirror.local replaced the registry of these images; unset it and publish "
      ))
    #expect(text.contains("#   api (python3 a.py): give it an \"image\" in apphost.json to make it a service"))
  }
}

@Suite struct PublishKubernetesTests {
  func kubernetes(_ manifest: String, options: PublishOptions = PublishOptions()) throws -> [String: String] {
    let plan = try plan(manifest, publishing: true)
    let files = try Publisher.files(
      .kubernetes, plan: plan, manifest: try load(manifest).manifest, outputDirectory: "/projects/shop/k8s",
      options: options)
    return Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.text) })
  }

  /// An env name the program sets itself is not defined a second time for the secret a URL needs; a
  /// variable that is the secret itself is what the URLs refer to.
  @Test func everyEnvNameOnce() throws {
    let direct = try #require(
      try kubernetes(
        #"{"resources": {"c": {"type": "redis"}, "w": {"type": "executable", "command": "sh", "image": "x/w:1", "references": ["c"]}}}"#
      )["w.yaml"])
    #expect(direct.contains("value: \"redis://default:$(C_PASSWORD)@c:6379/0\""))
    #expect(direct.components(separatedBy: "- name: C_PASSWORD\n").count == 2)
    let manifest = #"""
      {"resources": {"cache": {"type": "redis"},
       "w": {"type": "executable", "command": "sh", "image": "x/w:1", "references": ["cache"],
             "env": {"CACHE_PASSWORD": "not-the-secret", "REDIS_PASSWORD": "nor-this"}}}}
      """#
    let text = try #require(try kubernetes(manifest)["w.yaml"])
    let names = text.split(separator: "\n").filter { $0.hasPrefix("        - name: ") }
    #expect(Set(names).count == names.count, "\(names)")
    // The secret the URLs need is defined under a name the program does not use.
    #expect(text.contains("        - name: CACHE_PASSWORD_\n          valueFrom:"))
    #expect(text.contains("value: \"redis://default:$(CACHE_PASSWORD_)@cache:6379/0\""))
    #expect(text.contains("        - name: CACHE_PASSWORD\n          value: not-the-secret\n"))
    #expect(!text.contains("        - name: REDIS_PASSWORD\n          valueFrom:"))
  }

  @Test func resourcesHaveDefaultsAndTheManifestOverridesThem() throws {
    let manifest = #"""
      {"resources": {"cache": {"type": "redis", "resources": {"memory": "1Gi"}},
       "g": {"type": "garnet", "resources": {"memory": "2Gi", "cpu": 2}},
       "ui": {"type": "rediscommander"}}}
      """#
    let files = try kubernetes(manifest)
    let limits = { (memory: String, cpu: String) in
      "        resources:\n          requests:\n            memory: \(memory)\n            cpu: \(cpu)\n"
        + "          limits:\n            memory: \(memory)\n            cpu: \(cpu)\n"
    }
    #expect(try #require(files["cache.yaml"]).contains(limits("1Gi", "250m")))
    #expect(try #require(files["g.yaml"]).contains(limits("2Gi", "\"2\"")))
    #expect(try #require(files["ui.yaml"]).contains(limits("128Mi", "100m")))
  }

  @Test(arguments: [
    (#"{"memory": "lots"}"#, "resources.memory", "is not an amount of memory"),
    (#"{"cpu": "0"}"#, "resources.cpu", "is not an amount of CPU"),
    (#"{"cpu": "1.5m"}"#, "resources.cpu", "is not an amount of CPU"),
    (#"{"disk": "1Gi"}"#, "resources.disk", "disk"),
  ])
  func badResourcesAreManifestErrors(resources: String, path: String, message: String) throws {
    let found = diagnostics(#"{"resources": {"cache": {"type": "redis", "resources": \#(resources)}}}"#)
    #expect(
      found.contains { $0.path.description.hasSuffix(path) && $0.message.contains(message) }, "\(found)")
  }

  @Test func securityContextFollowsWhatEachImageAllows() throws {
    let files = try kubernetes(
      #"{"resources": {"r": {"type": "redis"}, "g": {"type": "garnet", "dataVolume": true}, "i": {"type": "redisinsight"}}}"#
    )
    let redis = try #require(files["r.yaml"])
    #expect(
      redis.contains(
        "        runAsNonRoot: true\n        runAsUser: 999\n        runAsGroup: 999\n        fsGroup: 999\n"))
    #expect(redis.contains("readOnlyRootFilesystem: true"))
    // Read-only root: /data and /tmp are volumes.
    #expect(
      redis.contains(
        "        - name: data\n          mountPath: /data\n        - name: tmp\n          mountPath: /tmp\n"))
    #expect(redis.contains("      - name: data\n        emptyDir: {}\n"))
    let garnet = try #require(files["g.yaml"])
    #expect(garnet.contains("runAsUser: 1654") && garnet.contains("readOnlyRootFilesystem: true"))
    #expect(!garnet.contains("emptyDir: {}"), "its /data is the claim")
    let insight = try #require(files["i.yaml"])
    #expect(insight.contains("runAsUser: 1000") && insight.contains("readOnlyRootFilesystem: false"))
    for text in [redis, garnet, insight] {
      #expect(text.contains("allowPrivilegeEscalation: false"))
      #expect(text.contains("          capabilities:\n            drop:\n            - ALL\n"))
    }
  }

  @Test func theNamespaceIsOnEveryObjectAndInTheKustomization() throws {
    let files = try kubernetes(
      #"{"resources": {"cache": {"type": "redis"}, "ui": {"type": "redisinsight"}}}"#,
      options: PublishOptions(namespace: "shop"))
    let kustomization = try #require(files["kustomization.yaml"])
    #expect(
      kustomization.contains(
        "kind: Kustomization\nnamespace: shop\nresources:\n- namespace.yaml\n- secrets.yaml\n- cache.yaml\n- ui.yaml\n"
      ))
    #expect(try #require(files["namespace.yaml"]).contains("kind: Namespace\nmetadata:\n  name: shop\n"))
    for name in ["secrets.yaml", "cache.yaml", "ui.yaml"] {
      let text = try #require(files[name])
      #expect(
        text.components(separatedBy: "\nkind: ").count - 1 == text.components(separatedBy: "  namespace: shop\n").count
          - 1,
        "\(name)")
    }
    let cache = try #require(files["cache.yaml"])
    #expect(cache.contains("  serviceName: cache-headless\n"))
    #expect(cache.contains("  name: cache-headless\n") && cache.contains("  clusterIP: None\n"))
    #expect(cache.contains("kind: Service\nmetadata:\n  name: cache\n"))
  }
}

/// A cache's configFile reaches the cluster as a Secret mounted where the server reads it; seed commands,
/// which apphost sends itself, are named in the header as not carried.
@Suite struct PublishServerFilesTests {
  @Test func configFileIsASecretAndSeedCommandsAreNamed() throws {
    let folder = TemporaryFolder("apphost-publish-files")
    defer { folder.remove() }
    _ = folder.write("redis.conf", "maxmemory 100mb\n")
    _ = folder.write("seed.redis", "SET a 1\n")
    let manifest = #"{"resources": {"cache": {"type": "redis", "configFile": "./redis.conf", "seed": "./seed.redis"}}}"#
    let loaded = try ManifestLoader.load(
      bytes: Array(manifest.utf8), path: folder.path + "/apphost.json", projectDirectory: folder.path)
    let plan = try Planner.plan(loaded, context: PlanContext(generatedPasswords: ["cache": "Pw1"]))
    let files = try Publisher.files(
      .kubernetes, plan: plan, manifest: loaded.manifest, outputDirectory: folder.path + "/k8s")
    let byName = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.text) })
    let secrets = try #require(byName["secrets.yaml"])
    #expect(secrets.contains("  server.conf: \"\(Data("maxmemory 100mb\n".utf8).base64EncodedString())\"\n"))
    let cache = try #require(byName["cache.yaml"])
    #expect(
      cache.contains(
        "        - name: files\n          mountPath: /usr/local/etc/apphost/server.conf\n          subPath: server.conf\n"
      ))
    #expect(cache.contains("          secretName: \(plan.project)-cache-files\n"))
    #expect(
      try #require(byName["kustomization.yaml"]).contains("# cache: its seed ./seed.redis (commands apphost sends"))
  }
}

@Suite struct PublishWriteTests {
  /// What an earlier publish wrote and this one does not is removed (a Deployment of a removed resource,
  /// an old .env with passwords); the user's own files stay.
  @Test func filesOfAnEarlierPublishGoTheUsersStay() throws {
    let folder = TemporaryFolder("apphost-publish-write")
    defer { folder.remove() }
    let directory = folder.path + "/out"
    try Publisher.write(
      [PublishedFile(name: "old.yaml", text: "# Written by `apphost publish kubernetes` from x\nkind: Deployment\n")],
      to: directory)
    _ = folder.write("out/.env", "# Written by `apphost publish compose`: the passwords of shop.\nP=secret\n")
    _ = folder.write("out/notes.md", "# mine\n")
    let removed = try Publisher.write(
      [PublishedFile(name: "new.yaml", text: "# Written by `apphost publish`\n")], to: directory)
    #expect(removed == [".env", "old.yaml"])
    let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    #expect(left == ["new.yaml", "notes.md"])
  }
}

/// Programs' endpoints, readiness and tasks in both outputs.
@Suite struct PublishProgramTests {
  static let manifest = #"""
    {"resources": {"cache": {"type": "redis"},
     "seed": {"type": "task", "command": "sh", "references": ["cache"], "image": "x/seed:1"},
     "api": {"type": "executable", "command": "sh", "image": "x/api:1", "references": ["cache"],
             "endpoints": {"http": {"port": 8000}, "admin": {"env": "ADMIN_PORT"}}, "readiness": {"http": "/health"},
             "waitFor": ["cache", "seed"], "replicas": 2},
     "web": {"type": "executable", "command": "sh", "image": "x/web:1", "references": ["api"],
             "endpoints": {"http": {}}, "env": {"API": "{api.url}", "ADMIN": "{api.admin.url}"}},
     "logs": {"type": "executable", "command": "sh", "image": "x/l:1", "readiness": {"log": "ready"}},
     "after": {"type": "executable", "command": "sh", "image": "x/a:1", "waitFor": ["web", "logs"]}}}
    """#

  func files(_ target: PublishTarget, remembered: [String: Int] = [:]) throws -> [String: String] {
    let plan = try plan(Self.manifest)
    let files = try Publisher.files(
      target, plan: plan, manifest: try load(Self.manifest).manifest, outputDirectory: "/projects/shop/out",
      options: PublishOptions(rememberedPorts: remembered))
    return Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.text) })
  }

  @Test func composeMapsEndpointsReadinessAndTasks() throws {
    let text = try #require(
      try files(.compose, remembered: ["api.admin/0": 40001, "api.http/1": 40002])["docker-compose.yml"])
    // Each replica its own host ports (fixed or remembered) on the container ports; replica 0 keeps the name.
    #expect(text.contains("  api:\n") && text.contains("  api-1:\n"))
    #expect(text.contains("    ports:\n    - \"127.0.0.1:8000:8000\"\n    - \"127.0.0.1:40001:8080\"\n"))
    #expect(text.contains("    ports:\n    - \"127.0.0.1:40002:8000\"\n"))
    #expect(text.contains("# api-1: its endpoint admin is not published"))
    #expect(text.contains("      PORT: \"8000\"\n      ADMIN_PORT: \"8080\"\n"))
    // References to a program: its service name and container port.
    #expect(text.contains("      API_URL: \"http://api:8000\"\n"))
    #expect(text.contains("      API: \"http://api:8000\"\n      ADMIN: \"http://api:8080\"\n"))
    #expect(!text.contains("{api") && !text.contains(": \"http://127.0.0.1"), "\(text)")
    // Readiness as healthchecks; what waits for a task waits for it to complete.
    #expect(text.contains("wget -q -O /dev/null http://127.0.0.1:8000/health"))
    #expect(text.contains("nc -z 127.0.0.1 8080"), "web's default readiness: tcp on its endpoint")
    #expect(text.contains("      seed:\n        condition: service_completed_successfully\n"))
    #expect(
      text.contains(
        "      api:\n        condition: service_healthy\n      api-1:\n        condition: service_healthy\n"))
    #expect(
      text.contains("      web:\n        condition: service_healthy\n      logs:\n        condition: service_started\n")
    )
    #expect(text.contains("# logs: its readiness (a log line matching /ready/) has no healthcheck here"))
    #expect(text.contains("  seed:\n    image: \"x/seed:1\"\n") && text.contains("    restart: \"no\"\n"))
  }

  @Test func kubernetesMapsEndpointsReadinessAndTasks() throws {
    let files = try files(.kubernetes)
    let api = try #require(files["api.yaml"])
    #expect(api.contains("kind: Deployment") && api.contains("  replicas: 2\n"))
    #expect(
      api.contains(
        "        ports:\n        - name: http\n          containerPort: 8000\n        - name: admin\n          containerPort: 8080\n"
      ))
    #expect(
      api.contains(
        "        readinessProbe:\n          httpGet:\n            path: /health\n            port: 8000\n"))
    #expect(api.contains("kind: Service\nmetadata:\n  name: api\n"))
    #expect(api.contains("  - name: admin\n    port: 8080\n    targetPort: 8080\n"))
    let web = try #require(files["web.yaml"])
    #expect(web.contains("          tcpSocket:\n            port: 8080\n"))
    #expect(web.contains("        - name: API\n          value: \"http://api:8000\"\n"))
    let seed = try #require(files["seed.yaml"])
    #expect(seed.contains("kind: Job\n") && seed.contains("      restartPolicy: Never\n"))
    #expect(seed.contains("  backoffLimit: 6\n") && !seed.contains("kind: Service"))
    #expect(try #require(files["logs.yaml"]).contains("readinessProbe") == false)
    let kustomization = try #require(files["kustomization.yaml"])
    #expect(kustomization.contains("# seed: a Job (Jobs cannot be changed once made"))
    #expect(kustomization.contains("- seed.yaml\n"))
  }
}
