import Foundation
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
    let plan = try plan(manifest)
    let loaded = try load(manifest)
    let secrets = PublishedSecrets(plan: plan, manifest: loaded.manifest)
    #expect(secrets.all.map(\.variable) == ["CACHE_PASSWORD", "CACHE_PASSWORD_URLENCODED"])
    #expect(secrets.all.map(\.value) == ["p@ss/w rd", "p%40ss%2Fw%20rd"])

    let compose = try Publisher.files(.compose, plan: plan, manifest: loaded.manifest, outputDirectory: "/p/out")
    let composeFile = try #require(compose.first { $0.name == ComposeWriter.fileName }?.text)
    #expect(!composeFile.contains(Value.mask))
    #expect(
      composeFile.contains(
        #"REDIS_URL: "redis://default:${CACHE_PASSWORD_URLENCODED:?set CACHE_PASSWORD_URLENCODED in .env}@cache:6379/0""#
      ))
    #expect(
      composeFile.contains(
        #"CACHE_URI: "redis://:${CACHE_PASSWORD_URLENCODED:?set CACHE_PASSWORD_URLENCODED in .env}@cache:6379""#))
    #expect(
      composeFile.contains(#"REDIS_PASSWORD: "${CACHE_PASSWORD:?set CACHE_PASSWORD in .env}""#))
    let dotenv = try #require(compose.first { $0.name == ".env" }?.text)
    #expect(dotenv.contains("CACHE_PASSWORD_URLENCODED=p%40ss%2Fw%20rd\n"))

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
