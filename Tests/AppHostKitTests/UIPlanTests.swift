import Foundation
import Testing

@testable import AppHostKit

@Suite struct UIPlanTests {
  @Test func redisInsightGetsEveryCacheWithItsPasswordByName() throws {
    let plan = try plan(
      """
      {"name": "shop", "resources": {
        "cache": {"type": "redis"}, "sessions": {"type": "valkey", "password": false},
        "insight": {"type": "redisinsight", "hostPort": 5540}
      }}
      """)
    let insight = try #require(plan.container("insight"))
    #expect(insight.caches == ["cache", "sessions"])
    #expect(
      insight.environment.map { "\($0.name)=\($0.value.masked())" } == [
        "RI_REDIS_HOST1=cache", "RI_REDIS_PORT1=6379", "RI_REDIS_ALIAS1=cache", "RI_REDIS_PASSWORD1=********",
        "RI_REDIS_HOST2=sessions", "RI_REDIS_PORT2=6379", "RI_REDIS_ALIAS2=sessions",
      ])
    let argv = insight.runArguments(flavor: .docker, owner: nil)
    #expect(argv.contains(["--env", "RI_REDIS_PASSWORD1"]))
    #expect(!argv.contains("RI_ACCEPT_TERMS_AND_CONDITIONS=true"), "terms are the user's choice")
    #expect(argv.contains(["--volume", "shop-insight-data:/data"]))
    #expect(argv.contains(["--publish", "127.0.0.1:5540:5540"]))
    #expect(!argv.contains("--entrypoint"))
    #expect(argv.last == "docker.io/redis/redisinsight:3.0")
    #expect(insight.engineEnvironment == ["RI_REDIS_PASSWORD1": "GeneratedCachePassword1"])
    #expect(insight.health == .http(path: "/api/health"))
    #expect(insight.url(hostPort: nil) == "http://127.0.0.1:5540")
    #expect(plan.volumes.map(\.name) == ["shop-insight-data"])
    #expect(plan.stages == [["cache", "sessions", "insight"]])
  }

  @Test func acceptingTheTermsIsExplicit() throws {
    let plan = try plan(
      #"{"resources": {"cache": {"type": "redis"}, "insight": {"type": "redisinsight", "acceptTerms": true, "dataVolume": false}}}"#
    )
    let argv = try #require(plan.container("insight")).runArguments(flavor: .docker, owner: nil)
    #expect(argv.contains(["--env", "RI_ACCEPT_TERMS_AND_CONDITIONS=true"]))
    #expect(!argv.contains("--volume"))
    #expect(plan.volumes.isEmpty)
  }

  @Test func redisCommanderGetsHostsWithPasswordsByName() throws {
    let plan = try plan(
      """
      {"resources": {"cache": {"type": "redis"}, "other": {"type": "garnet", "password": false},
        "commander": {"type": "rediscommander", "caches": ["other", "cache"]}}}
      """)
    let commander = try #require(plan.container("commander"))
    #expect(commander.environment.map(\.name) == ["REDIS_HOSTS"])
    #expect(commander.environment["REDIS_HOSTS"]?.masked() == "other:other:6379:0,cache:cache:6379:0:********")
    #expect(
      commander.engineEnvironment == ["REDIS_HOSTS": "other:other:6379:0,cache:cache:6379:0:GeneratedCachePassword1"])
    #expect(commander.runArguments(flavor: .docker, owner: nil).contains(["--env", "REDIS_HOSTS"]))
    #expect(commander.runArguments(flavor: .docker, owner: nil).contains(["--publish", "127.0.0.1::8081"]))
    #expect(commander.health == .http(path: "/healthcheck"))
    #expect(commander.url(hostPort: 49200) == "http://127.0.0.1:49200")
  }

  @Test func commanderRefusesAPasswordFromTheEnvironmentThatBreaksItsSetting() {
    #expect {
      try plan(
        #"{"resources": {"cache": {"type": "redis", "password": {"env": "PW"}}, "ui": {"type": "rediscommander"}}}"#,
        environment: ["PW": "a,b"])
    } throws: { error in
      guard case AppHostError.invalidEnvironmentValue(let variable, _, _, let reason) = error else { return false }
      return variable == "PW" && reason.contains("Redis Commander")
    }
  }

  @Test(arguments: [
    ("two words", "a space"), ("say\"hi", "'\"'"), ("back\\slash", "'\\'"), ("no\u{A0}break", "whitespace (U+00A0)"),
  ])
  func commanderRefusesAPasswordFromTheEnvironmentItsEntrypointBreaksOn(password: String, problem: String) {
    #expect {
      try plan(
        #"{"resources": {"cache": {"type": "redis", "password": {"env": "PW"}}, "ui": {"type": "rediscommander"}}}"#,
        environment: ["PW": password])
    } throws: { error in
      guard case AppHostError.invalidEnvironmentValue(let variable, let path, _, let reason) = error else {
        return false
      }
      return variable == "PW" && path.description == "resources.cache.password"
        && reason.hasPrefix("contains \(problem), which Redis Commander (resources.ui) cannot take;")
        && reason.contains("or leave cache out of resources.ui.caches")
    }
    // Not shown by the UI: nothing to refuse.
    #expect(throws: Never.self) {
      try plan(
        #"{"resources": {"cache": {"type": "redis", "password": {"env": "PW"}}, "other": {"type": "redis"}, "ui": {"type": "rediscommander", "caches": ["other"]}}}"#,
        environment: ["PW": password])
    }
  }

  @Test func redisCommanderPasswordRules() {
    #expect(RedisCommanderPassword.problem("Plain-Password_1.~!$&*()") == nil)
    #expect(RedisCommanderPassword.problem("a:b") == "':'")
    #expect(RedisCommanderPassword.problem("a,b") == "','")
    #expect(RedisCommanderPassword.problem("tab\tin") == "whitespace (U+0009)")
  }
}
