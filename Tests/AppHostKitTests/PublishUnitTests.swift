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
