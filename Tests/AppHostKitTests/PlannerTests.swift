import Foundation
import Testing

@testable import AppHostKit

@Suite struct PlannerTests {
  let owner = Owner(pid: "4242", startTime: "777")

  @Test func redisWithVolumeGivesTheExactEngineCommand() throws {
    let plan = try plan(#"{"name": "shop", "resources": {"cache": {"type": "redis", "dataVolume": true}}}"#)
    let cache = try #require(plan.container("cache"))
    let expected = [
      "run", "--detach", "--name", "shop-cache",
      "--label", "apphost.project=shop", "--label", "apphost.project-dir=/projects/shop",
      "--label", "apphost.resource=cache", "--label", "apphost.lifetime=session",
      "--label", "apphost.save-before-stop=true", "--label", "apphost.config-hash=\(cache.configHash)",
      "--label", "apphost.owner-pid=4242", "--label", "apphost.owner-start=777",
      "--publish", "127.0.0.1::6379",
      "--volume", "shop-cache-data:/data",
      "--env", "REDIS_PASSWORD",
      "--entrypoint", "/bin/sh",
      "docker.io/library/redis:8.6",
      "-c",
      #"(umask 077 && printf 'requirepass "%s"\n' "$(printf '%s' "$REDIS_PASSWORD" | sed 's/[\\"]/\\&/g')" > /tmp/apphost-redis.conf) && exec docker-entrypoint.sh redis-server - --save 60 1 < /tmp/apphost-redis.conf"#,
    ]
    #expect(cache.runArguments(flavor: .docker, owner: owner) == expected)
    #expect(cache.runArguments(flavor: .podman, owner: owner) == expected)
    #expect(cache.engineEnvironment == ["REDIS_PASSWORD": "GeneratedCachePassword1"])
    #expect(cache.health == .resp(password: .secret("GeneratedCachePassword1")))
    #expect(cache.savesBeforeStop)
    #expect(plan.network == nil, "caches on their own need no project network")
    #expect(
      plan.volumes.map { $0.createArguments() } == [
        [
          "volume", "create", "--label", "apphost.project=shop", "--label", "apphost.project-dir=/projects/shop",
          "--label", "apphost.resource=cache", "shop-cache-data",
        ]
      ])
  }

  @Test func aUIPutsEveryContainerOnTheProjectNetworkWithoutChangingTheirHash() throws {
    let alone = try plan(#"{"name": "shop", "resources": {"cache": {"type": "redis"}}}"#)
    let withUI = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis"}, "ui": {"type": "rediscommander"}}}"#)
    #expect(
      withUI.network?.createArguments() == [
        "network", "create", "--label", "apphost.project=shop", "--label", "apphost.project-dir=/projects/shop", "shop",
      ])
    let cache = try #require(withUI.container("cache"))
    #expect(
      cache.runArguments(flavor: .docker, owner: nil).contains(["--network", "shop", "--network-alias", "cache"]))
    #expect(withUI.container("ui")?.runArguments(flavor: .podman, owner: nil).contains(["--network", "shop"]) == true)
    // Adding a UI connects the running cache to the network; it is not recreated.
    #expect(cache.configHash == alone.container("cache")?.configHash)
  }

  @Test func garnetWithBindMountRunsAsTheUserAndPersistsThroughCheckpoints() throws {
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "garnet", "hostPort": 6380, "dataBindMount": {"source": "./data/garnet"}, "lifetime": "persistent"}}}"#
    )
    let cache = try #require(plan.container("cache"))
    let docker = cache.runArguments(flavor: .docker, owner: owner)
    #expect(docker.contains(["--user", "1000:1001"]))
    #expect(docker.contains(["--publish", "127.0.0.1:6380:6379"]))
    #expect(docker.contains(["--volume", "/projects/shop/data/garnet:/data"]))
    #expect(
      cache.runArguments(flavor: .podman, owner: owner).contains(["--volume", "/projects/shop/data/garnet:/data:Z"]))
    #expect(!docker.contains { $0.hasPrefix("apphost.owner") }, "persistent containers have no owner")
    #expect(docker.contains(["--label", "apphost.lifetime=persistent"]))
    #expect(
      docker.last
        == #"(umask 077 && printf 'requirepass %s\n' "$GARNET_PASSWORD" > /tmp/apphost-garnet.conf) && exec /app/GarnetServer --config-import-path /tmp/apphost-garnet.conf --config-import-format RedisConf --protected-mode no --auth Password --checkpointdir /data/checkpoints --recover --aof --aof-commit-freq 60000"#
    )
    // The image once, after every option and right before the command: `--entrypoint /bin/sh IMAGE -c ...`.
    #expect(docker.filter { $0 == "ghcr.io/microsoft/garnet:1.0" }.count == 1)
    let image = try #require(docker.firstIndex(of: "ghcr.io/microsoft/garnet:1.0"))
    #expect(
      Array(docker[(image - 2)...]) == ["--entrypoint", "/bin/sh", "ghcr.io/microsoft/garnet:1.0", "-c", docker.last!])
    #expect(cache.engineEnvironment == ["GARNET_PASSWORD": "GeneratedCachePassword1"])
  }

  @Test func rootlessEnginesWriteBindMountsAsContainerRoot() throws {
    let plan = try plan(
      #"{"resources": {"cache": {"type": "redis", "dataBindMount": {"source": "/srv/cache"}}}}"#, rootless: true)
    let cache = try #require(plan.container("cache"))
    #expect(cache.user == "0:0")
    // Redis 8's entrypoint would otherwise drop to its redis user and re-own the user's folder.
    #expect(cache.runArguments(flavor: .podman, owner: nil).contains(["--env", "SKIP_DROP_PRIVS=1"]))
  }

  enum PasswordCase: String, CaseIterable {
    case generated, none, literal, environment

    var json: String {
      switch self {
      case .generated: #""password": true"#
      case .none: #""password": false"#
      case .literal: #""password": "literal pass 'quoted'""#
      case .environment: #""password": {"env": "CACHE_PASSWORD"}"#
      }
    }

    var value: String? {
      switch self {
      case .generated: "GeneratedCachePassword1"
      case .none: nil
      case .literal: "literal pass 'quoted'"
      case .environment: "from-environment"
      }
    }
  }

  enum StorageCase: String, CaseIterable {
    case none, volume, readOnlyVolume, bind, readOnlyBind

    var json: String {
      switch self {
      case .none: ""
      case .volume: #", "dataVolume": true"#
      case .readOnlyVolume: #", "dataVolume": {"name": "shared-data", "readOnly": true}"#
      case .bind: #", "dataBindMount": {"source": "./data"}"#
      case .readOnlyBind: #", "dataBindMount": {"source": "/usr/share", "readOnly": true}"#
      }
    }

    var writable: Bool { self == .volume || self == .bind }
  }

  enum PersistenceCase: String, CaseIterable {
    case automatic, off, explicit

    var json: String {
      switch self {
      case .automatic: ""
      case .off: #", "persistence": false"#
      case .explicit: #", "persistence": {"intervalSeconds": 30, "keysChangedThreshold": 5}"#
      }
    }
  }

  static let serverCases: [(ServerKind, PasswordCase)] = ServerKind.allCases.flatMap { server in
    PasswordCase.allCases.map { (server, $0) }
  }

  /// Every server kind with every password, storage, persistence and lifetime setting.
  @Test(arguments: serverCases)
  func serverMatrix(server: ServerKind, password: PasswordCase) throws {
    for storage in StorageCase.allCases {
      for persistence in PersistenceCase.allCases {
        if persistence == .explicit && (storage == .readOnlyVolume || storage == .readOnlyBind) { continue }
        for lifetime in Lifetime.allCases {
          try checkServer(server, password, storage, persistence, lifetime)
        }
      }
    }
  }

  func checkServer(
    _ server: ServerKind, _ password: PasswordCase, _ storage: StorageCase, _ persistence: PersistenceCase,
    _ lifetime: Lifetime
  ) throws {
    let text = """
      {"name": "shop", "resources": {"c": {"type": "\(server.rawValue)", \(password.json)\(storage.json)\(persistence.json), "lifetime": "\(lifetime.rawValue)"}}}
      """
    let context = "\(server) \(password) \(storage) \(persistence) \(lifetime)"
    let plan = try plan(
      text, environment: ["CACHE_PASSWORD": "from-environment"], passwords: ["c": "GeneratedCachePassword1"])
    let cache = try #require(plan.container("c"))
    let variable = ServerCommand.passwordVariable(server)
    for flavor in EngineFlavor.allCases {
      let argv = cache.runArguments(flavor: flavor, owner: owner)
      let command = try #require(argv.last)
      // The password is never in an argument; the server reads it from its environment.
      if let secret = password.value {
        #expect(!argv.joined(separator: " ").contains(secret), "\(context): password in argv")
        #expect(argv.contains(["--env", variable]), "\(context)")
        #expect(command.contains("\"$\(variable)\""), "\(context)")
        #expect(cache.engineEnvironment == [variable: secret], "\(context)")
        #expect(cache.health == .resp(password: .secret(secret)), "\(context)")
      } else {
        #expect(!argv.contains(variable) && !command.contains(variable), "\(context)")
        #expect(cache.engineEnvironment.isEmpty, "\(context)")
        #expect(cache.health == .resp(password: nil), "\(context)")
      }
      #expect(argv.contains(["--entrypoint", "/bin/sh"]) && argv[argv.count - 2] == "-c", "\(context)")
      #expect(argv.contains(["--publish", "127.0.0.1::6379"]), "\(context)")
      #expect(!argv.contains("--network"), "\(context)")
      #expect(argv.contains(["--label", "apphost.lifetime=\(lifetime.rawValue)"]), "\(context)")
      #expect(argv.contains(["--label", "apphost.owner-pid=4242"]) == (lifetime == .session), "\(context)")

      // Storage
      switch storage {
      case .none:
        #expect(!argv.contains("--volume") && !argv.contains("--user"), "\(context)")
      case .volume:
        #expect(argv.contains(["--volume", "shop-c-data:/data"]) && !argv.contains("--user"), "\(context)")
      case .readOnlyVolume:
        #expect(argv.contains(["--volume", "shared-data:/data:ro"]), "\(context)")
      case .bind:
        let option = flavor == .podman ? ":Z" : ""
        #expect(argv.contains(["--volume", "/projects/shop/data:/data\(option)"]), "\(context)")
        #expect(argv.contains(["--user", "1000:1001"]), "\(context)")
      case .readOnlyBind:
        let option = flavor == .podman ? ":ro,Z" : ":ro"
        #expect(argv.contains(["--volume", "/usr/share:/data\(option)"]), "\(context)")
      }

      // Persistence: on with writable storage unless switched off; explicit values win.
      let interval: Int? =
        switch persistence {
        case .off: nil
        case .explicit: 30
        case .automatic: storage.writable ? 60 : nil
        }
      #expect(cache.savesBeforeStop == (interval != nil), "\(context)")
      switch server {
      case .redis, .valkey:
        // With a password, a private file carries it: the servers rewrite their arguments only some
        // milliseconds into start-up.
        // Redis through its image's entrypoint, the settings on standard input (`-` first).
        let binary = server == .redis ? "docker-entrypoint.sh redis-server" : "valkey-server"
        let settings = server == .redis ? "-" : "/tmp/apphost-redis.conf"
        let start = password.value != nil ? "exec \(binary) \(settings) --save" : "exec \(binary) --save"
        if server == .redis {
          #expect(command.hasSuffix(" < /tmp/apphost-redis.conf") == (password.value != nil), "\(context)")
          // Rootful: the entrypoint drops privileges itself (or keeps the --user it was given).
          #expect(!cache.environment.contains { $0.name == "SKIP_DROP_PRIVS" }, "\(context)")
        }
        #expect(command.contains(start), "\(context): \(command)")
        #expect(command.hasPrefix("(umask 077 && printf") == (password.value != nil), "\(context)")
        #expect(!command.contains("--requirepass"), "\(context)")
        let keys = persistence == .explicit ? 5 : 1
        #expect(command.contains(interval.map { "--save \($0) \(keys)" } ?? "--save ''"), "\(context): \(command)")
      case .garnet:
        // With a password, a private file carries it: Garnet's own arguments stay visible for its whole life.
        let server =
          password.value != nil
          ? "exec /app/GarnetServer --config-import-path /tmp/apphost-garnet.conf --config-import-format RedisConf "
            + "--protected-mode no --auth Password"
          : "exec /app/GarnetServer --protected-mode no"
        #expect(command.contains(server), "\(context): \(command)")
        #expect(command.hasPrefix("(umask 077 && printf") == (password.value != nil), "\(context)")
        #expect(!command.contains("--password"), "\(context)")
        let flags = interval.map { "--checkpointdir /data/checkpoints --recover --aof --aof-commit-freq \($0 * 1000)" }
        if let flags {
          #expect(command.hasSuffix(flags), "\(context): \(command)")
        } else {
          #expect(!command.contains("--aof"), "\(context)")
        }
      }
    }
  }

  @Test func extraArgumentsAreQuotedForTheShell() throws {
    let plan = try plan(
      #"{"resources": {"cache": {"type": "redis", "password": false, "args": ["--maxmemory", "256mb", "--notify-keyspace-events", "KEA $x 'y'"]}}}"#
    )
    let command = try #require(plan.container("cache")?.command.last)
    #expect(
      command
        == #"exec docker-entrypoint.sh redis-server --save '' --maxmemory 256mb --notify-keyspace-events 'KEA $x '\''y'\'''"#
    )
  }

  @Test func userEnvironmentIsPassedInlineAndPasswordsByName() throws {
    let plan = try plan(
      #"{"resources": {"cache": {"type": "valkey", "env": {"TZ": "UTC", "VALKEY_PASSWORD": "mine"}}}}"#)
    let argv = try #require(plan.container("cache")).runArguments(flavor: .docker, owner: nil)
    #expect(argv.contains(["--env", "TZ=UTC"]))
    #expect(argv.contains(["--env", "VALKEY_PASSWORD"]))
    #expect(!argv.contains("mine"))
  }

  @Test(arguments: [
    (#"{}"#, [String: String](), "docker.io/library/redis:8.6"),
    (#"{"tag": "7.4"}"#, [:], "docker.io/library/redis:7.4"),
    (#"{"image": "redis"}"#, [:], "docker.io/library/redis:8.6"),
    (#"{"image": "bitnami/redis", "tag": "7"}"#, [:], "docker.io/bitnami/redis:7"),
    (#"{"image": "redis:7.2-alpine"}"#, [:], "docker.io/library/redis:7.2-alpine"),
    (#"{"image": "mirror.example:5000/library/redis"}"#, [:], "mirror.example:5000/library/redis:8.6"),
    (#"{}"#, ["APPHOST_IMAGE_REGISTRY": "localhost/apphost-fixtures"], "localhost/apphost-fixtures/library/redis:8.6"),
    (
      #"{"image": "ghcr.io/acme/redis", "tag": "1"}"#, ["APPHOST_IMAGE_REGISTRY": "mirror.example/"],
      "mirror.example/acme/redis:1"
    ),
  ])
  func images(settings: String, environment: [String: String], image: String) throws {
    let settingsBody = settings.dropFirst().dropLast()
    let extra = settingsBody.isEmpty ? "" : ", " + settingsBody
    let plan = try plan(#"{"resources": {"cache": {"type": "redis"\#(extra)}}}"#, environment: environment)
    #expect(plan.container("cache")?.image == image)
  }

  @Test func defaultImagesFollowTheReference() throws {
    let plan = try plan(
      #"{"resources": {"r": {"type": "redis"}, "v": {"type": "valkey"}, "g": {"type": "garnet"}, "i": {"type": "redisinsight"}, "c": {"type": "rediscommander"}}}"#,
      environment: ["APPHOST_IMAGE_REGISTRY": "localhost/apphost-fixtures"])
    #expect(
      plan.containers.map(\.image) == [
        "localhost/apphost-fixtures/library/redis:8.6", "localhost/apphost-fixtures/valkey/valkey:9.0",
        "localhost/apphost-fixtures/microsoft/garnet:1.0", "localhost/apphost-fixtures/redis/redisinsight:3.0",
        "localhost/apphost-fixtures/joeferner/redis-commander:latest",
      ])
  }

  @Test func configHashChangesWithWhatShapesTheContainerOnly() throws {
    func hash(_ cache: String, passwords: [String: String] = ["cache": "one"]) throws -> String {
      try #require(
        plan(#"{"name": "shop", "resources": {"cache": \#(cache)}}"#, passwords: passwords).container("cache")
      ).configHash
    }
    let base = try hash(#"{"type": "redis"}"#)
    #expect(try hash(#"{"type": "redis"}"#) == base)
    #expect(try hash(#"{"type": "redis"}"#, passwords: ["cache": "two"]) != base)
    #expect(try hash(#"{"type": "redis", "hostPort": 7000}"#) != base)
    #expect(try hash(#"{"type": "redis", "tag": "7"}"#) != base)
    #expect(try hash(#"{"type": "redis", "args": ["--maxmemory", "1mb"]}"#) != base)
    #expect(try hash(#"{"type": "redis", "env": {"A": "b"}}"#) != base)
    #expect(try hash(#"{"type": "redis", "dataVolume": true}"#) != base)
    #expect(try hash(#"{"type": "redis", "lifetime": "persistent"}"#) != base)
    #expect(base.count == 16)
  }

  @Test func missingEnvironmentVariableNamesTheVariableAndThePath() {
    #expect {
      try plan(#"{"resources": {"cache": {"type": "redis", "password": {"env": "MY_SECRET"}}}}"#)
    } throws: { error in
      guard case AppHostError.missingEnvironmentVariable(let variable, let path, _) = error else { return false }
      return variable == "MY_SECRET" && path.description == "resources.cache.password"
        && (error as? AppHostError)?.kind == .invalidManifest
        && error.localizedDescription.contains("export MY_SECRET=")
    }
  }

  @Test func aPasswordFromTheEnvironmentWithAControlCharacterIsRefused() {
    #expect {
      try plan(
        #"{"resources": {"cache": {"type": "garnet", "password": {"env": "MY_SECRET"}}}}"#,
        environment: ["MY_SECRET": "first\nsecond"])
    } throws: { error in
      guard case AppHostError.invalidEnvironmentValue(let variable, let path, _, let reason) = error else {
        return false
      }
      return variable == "MY_SECRET" && path.description == "resources.cache.password"
        && reason.contains("control character (U+000A)") && !error.localizedDescription.contains("first")
    }
  }

  @Test func projectNameDefaultsToTheFolderName() throws {
    let plan = try plan(#"{"resources": {"cache": {"type": "redis"}}}"#, folder: "/home/me/My Shop_2")
    #expect(plan.project == "my-shop-2")
    #expect(plan.container("cache")?.containerName == "my-shop-2-cache")
    #expect(plan.network == nil)
    #expect(ManifestLoader.defaultProjectName(folder: "___") == "apphost")
  }
}
