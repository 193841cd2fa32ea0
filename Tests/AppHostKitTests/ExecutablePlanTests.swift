import Foundation
import TestSupport
import Testing

@testable import AppHostKit

@Suite struct ExecutablePlanTests {
  func environment(_ plan: Plan, _ name: String, ports: [String: Int] = [:], replica: Int? = nil) -> [String: String] {
    var values: [String: String] = [:]
    for variable in plan.executable(name)?.environment ?? [] {
      values[variable.name] = variable.value.revealed(ports: ports, replica: replica)
    }
    return values
  }

  @Test func oneReferenceGivesTheContractVariables() throws {
    let plan = try plan(
      #"{"resources": {"cache": {"type": "redis", "hostPort": 6380}, "api": {"type": "executable", "command": "sh", "references": ["cache"]}}}"#
    )
    let api = try #require(plan.executable("api"))
    #expect(
      api.environment.map(\.name) == [
        "ConnectionStrings__cache", "CACHE_HOST", "CACHE_PORT", "CACHE_PASSWORD", "CACHE_URI", "CACHE_URL",
        "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_URL",
      ])
    #expect(
      environment(plan, "api") == [
        "ConnectionStrings__cache": "127.0.0.1:6380,password=GeneratedCachePassword1",
        "CACHE_HOST": "127.0.0.1",
        "CACHE_PORT": "6380",
        "CACHE_PASSWORD": "GeneratedCachePassword1",
        "CACHE_URI": "redis://:GeneratedCachePassword1@127.0.0.1:6380",
        "CACHE_URL": "redis://default:GeneratedCachePassword1@127.0.0.1:6380/0",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6380",
        "REDIS_PASSWORD": "GeneratedCachePassword1",
        "REDIS_URL": "redis://default:GeneratedCachePassword1@127.0.0.1:6380/0",
      ])
    #expect(api.waitFor == ["cache"])
    #expect(api.workingDirectory == "/projects/shop")
    #expect(plan.stages == [["cache"], ["api"]])
  }

  @Test func severalReferencesEachGetTheirVariablesAndTheFirstGivesRedisVariables() throws {
    let plan = try plan(
      """
      {"resources": {
        "cache": {"type": "redis", "password": false},
        "my-sessions": {"type": "valkey", "password": "p@ss:w/rd"},
        "legacy": {"type": "connectionString", "value": "legacy.example:6390,password=old,ssl=true"},
        "api": {"type": "executable", "command": "sh", "references": ["my-sessions", "cache", "legacy"]}
      }}
      """)
    let values = environment(plan, "api", ports: ["cache": 32768, "my-sessions": 32769])
    #expect(values["ConnectionStrings__my-sessions"] == "127.0.0.1:32769,password=p@ss:w/rd")
    #expect(values["MY_SESSIONS_URI"] == "valkey://:p%40ss%3Aw%2Frd@127.0.0.1:32769")
    #expect(values["MY_SESSIONS_URL"] == "redis://default:p%40ss%3Aw%2Frd@127.0.0.1:32769/0")
    #expect(values["MY_SESSIONS_PORT"] == "32769")
    #expect(values["ConnectionStrings__cache"] == "127.0.0.1:32768")
    #expect(values["CACHE_PASSWORD"] == nil)
    #expect(values["CACHE_URI"] == "redis://127.0.0.1:32768")
    #expect(values["CACHE_URL"] == "redis://127.0.0.1:32768/0")
    #expect(values["ConnectionStrings__legacy"] == "legacy.example:6390,password=old,ssl=true")
    #expect(values["LEGACY_HOST"] == "legacy.example")
    #expect(values["LEGACY_PORT"] == "6390")
    #expect(values["LEGACY_PASSWORD"] == "old")
    #expect(values["LEGACY_URI"] == "rediss://:old@legacy.example:6390")
    #expect(values["LEGACY_URL"] == "rediss://default:old@legacy.example:6390/0")
    // The first reference gives REDIS_*; REDIS_URL is its NAME_URL: redis:// even for valkey.
    #expect(values["REDIS_HOST"] == "127.0.0.1")
    #expect(values["REDIS_PORT"] == "32769")
    #expect(values["REDIS_PASSWORD"] == "p@ss:w/rd")
    #expect(values["REDIS_URL"] == "redis://default:p%40ss%3Aw%2Frd@127.0.0.1:32769/0")
    // Connection strings need nothing to be started.
    #expect(plan.executable("api")?.waitFor == ["my-sessions", "cache"])
  }

  @Test func assignedPortsAreUnknownUntilTheEngineGivesThem() throws {
    let plan = try plan(
      #"{"resources": {"cache": {"type": "redis"}, "api": {"type": "executable", "command": "sh", "references": ["cache"]}}}"#
    )
    let port = try #require(plan.executable("api")?.environment["CACHE_PORT"])
    #expect(port.revealed() == nil)
    #expect(port.masked() == "{cache.port}")
    #expect(port.revealed(ports: ["cache": 49153]) == "49153")
    #expect(port.portsNeeded == ["cache"])
  }

  @Test func manifestEnvironmentWinsAndTemplatesResolve() throws {
    let plan = try plan(
      """
      {"resources": {
        "cache": {"type": "redis", "hostPort": 7000},
        "web": {"type": "executable", "command": "sh", "references": ["cache"], "replicas": 3,
          "args": ["--port", "80{replica}", "{cache.connectionString}"],
          "env": {"REDIS_HOST": "override.example", "URL": "{cache.uri}/0", "ADDR": "{cache.host}:{cache.port}",
                  "PW": "{cache.password}", "NAME": "web-{replica}", "JSON": "{\\"a\\": 1}", "SHELL": "${HOME}",
                  "BRACES": "{{literal}}"}}
      }}
      """)
    let web = try #require(plan.executable("web"))
    let values = environment(plan, "web", replica: 2)
    #expect(values["REDIS_HOST"] == "override.example")
    #expect(web.environment.filter { $0.name == "REDIS_HOST" }.count == 1)
    #expect(values["URL"] == "redis://:GeneratedCachePassword1@127.0.0.1:7000/0")
    #expect(values["ADDR"] == "127.0.0.1:7000")
    #expect(values["PW"] == "GeneratedCachePassword1")
    #expect(values["NAME"] == "web-2")
    #expect(values["JSON"] == #"{"a": 1}"#)
    #expect(values["SHELL"] == "${HOME}")
    #expect(values["BRACES"] == "{literal}")
    #expect(
      web.arguments.map { $0.revealed(replica: 1) } == [
        "--port", "801", "127.0.0.1:7000,password=GeneratedCachePassword1",
      ])
    #expect(web.arguments.map { $0.masked() } == ["--port", "80{replica}", "127.0.0.1:7000,password=********"])
    #expect(web.displayName(replica: 2) == "web-2")
  }

  @Test func templatesAddToWhatAnExecutableWaitsFor() throws {
    let plan = try plan(
      """
      {"resources": {
        "cache": {"type": "redis"}, "other": {"type": "garnet"},
        "a": {"type": "executable", "command": "sh", "env": {"X": "{other.port}"}},
        "b": {"type": "executable", "command": "sh", "waitFor": ["a"], "env": {"X": "{other.port}"}}
      }}
      """)
    #expect(plan.executable("a")?.waitFor == ["other"])
    #expect(plan.executable("a")?.environment.map(\.name) == ["X"])
    #expect(plan.executable("b")?.waitFor == ["a"])
    #expect(plan.stages == [["cache", "other"], ["a"], ["b"]])
  }

  @Test func aResourceNamedRedisKeepsItsOwnVariables() throws {
    let plan = try plan(
      """
      {"resources": {"cache": {"type": "redis", "hostPort": 7000, "password": false},
        "redis": {"type": "redis", "hostPort": 7001, "password": false},
        "api": {"type": "executable", "command": "sh", "references": ["cache", "redis"]}}}
      """)
    let values = environment(plan, "api")
    #expect(values["REDIS_PORT"] == "7001")
    // REDIS_URL is the resource "redis"'s own NAME_URL, consistent with its REDIS_HOST and REDIS_PORT.
    #expect(values["REDIS_URL"] == "redis://127.0.0.1:7001/0")
    #expect(values["CACHE_URL"] == "redis://127.0.0.1:7000/0")
    #expect(plan.executable("api")?.environment.filter { $0.name == "REDIS_PORT" }.count == 1)
  }

  @Test func commandsResolveOnPathOrRelativeToTheManifest() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let script = folder.write("bin/run.sh", "#!/bin/sh\n")
    chmod(script, 0o755)
    let plan = try plan(
      """
      {"resources": {"a": {"type": "executable", "command": "./bin/run.sh", "workingDirectory": "bin"},
        "b": {"type": "executable", "command": "sh"}}}
      """, folder: folder.path, environment: ["PATH": "/usr/bin:/bin"])
    #expect(plan.executable("a")?.resolvedCommand == script)
    #expect(plan.executable("a")?.workingDirectory == folder.path + "/bin")
    #expect(plan.executable("b")?.resolvedCommand == "/usr/bin/sh")
  }

  @Test func connectionStringFromTheEnvironment() throws {
    let text = """
      {"resources": {"legacy": {"type": "connectionString", "value": {"env": "LEGACY"}},
        "api": {"type": "executable", "command": "sh", "references": ["legacy"]}}}
      """
    let planned = try plan(text, environment: ["LEGACY": "redis://:secret@10.0.0.5:6400/2"])
    #expect(environment(planned, "api")["LEGACY_URI"] == "redis://:secret@10.0.0.5:6400")
    // The database of the connection string stays in NAME_URL.
    #expect(environment(planned, "api")["LEGACY_URL"] == "redis://default:secret@10.0.0.5:6400/2")
    #expect(
      planned.executable("api")?.environment["ConnectionStrings__legacy"]?.masked()
        == "redis://:********@10.0.0.5:6400/2")
    #expect(planned.executable("api")?.waitFor == [])
    #expect {
      try plan(text, environment: ["LEGACY": "password=only"])
    } throws: { error in
      guard case AppHostError.invalidEnvironmentValue(let variable, _, _, let reason) = error else { return false }
      return variable == "LEGACY" && reason.contains("names no host")
    }
  }

  @Test func connectionEnvironmentWithoutReferencesIsEmpty() {
    #expect(ConnectionEnvironment.variables(for: []).isEmpty)
    #expect(ConnectionEnvironment.environmentName("my-cache-2") == "MY_CACHE_2")
  }
}
