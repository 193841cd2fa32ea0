import Foundation
import TestSupport
import Testing

/// Redis 8 started the way its image means it to start: through its entrypoint, which drops to the redis
/// user, sets umask 0077 and loads every module in /usr/local/lib/redis/modules/. The stand-in carries a
/// real module (scripts/fixture-module) whose APPHOST.WHOAMI tells the server's uid and umask.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct RedisImageTests {
  @Test(arguments: TestEngines.all)
  func redisRunsAsItsImageMeansModulesLoadedPrivilegesDropped(engine: String) async throws {
    try await EngineProject.run(engine: engine, "redis8") { project in
      project.folder.write("redis.conf", "maxmemory 33554432\n")
      chmod(project.folder.path + "/redis.conf", 0o644)
      project.manifest(
        #""cache": {"type": "redis", "dataVolume": true, "configFile": "redis.conf"}, "open": {"type": "redis", "password": false}"#
      )
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 0, "\(up)")
      let environment = try await project.environment()
      let port = environment["CACHE_PORT"]
      let password = try #require(environment["CACHE_PASSWORD"])
      // The module the entrypoint loaded answers, from a server that runs as redis with umask 0077.
      #expect(try await project.redis(port: port, password: password, "APPHOST.WHOAMI") == "uid=999 gid=999 umask=0077")
      #expect(
        try await project.redis(port: environment["OPEN_PORT"], password: nil, "APPHOST.WHOAMI")
          == "uid=999 gid=999 umask=0077")
      #expect(try await project.redis(port: port, password: password, "MODULE", "LIST").contains("apphost"))
      // Its settings still came from the private file on standard input, the configFile included.
      #expect(
        try await project.redis(port: port, password: password, "CONFIG", "GET", "maxmemory") == "maxmemory\n33554432")
      #expect(try await project.redis(port: port, password: nil, "PING").contains("NOAUTH"))
      // Files it writes are the redis user's, private.
      #expect(try await project.redis(port: port, password: password, "SAVE") == "OK")
      let stat = try await project.cli("exec", "\(project.name)-cache", "stat", "-c", "%u %a", "/data/dump.rdb")
      #expect(stat.output.trimmingCharacters(in: .whitespacesAndNewlines) == "999 600", "\(stat)")
      // No password in the container's process list.
      let processes = try await project.cli(
        "exec", "\(project.name)-cache", "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
      #expect(!processes.output.contains(password), "\(processes)")
    }
  }

  @Test(arguments: TestEngines.all)
  func aBindMountKeepsTheUsersOwnIdentity(engine: String) async throws {
    try await EngineProject.run(engine: engine, "redis8bind") { project in
      project.manifest(#""cache": {"type": "redis", "dataBindMount": {"source": "./data"}}"#)
      try await project.succeed("up", "-d")
      let environment = try await project.environment()
      let whoami = try await project.redis(
        port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "APPHOST.WHOAMI")
      // --user (root's own with SKIP_DROP_PRIVS): the entrypoint keeps it (no drop, no re-owning), and
      // still loads the modules and sets the umask.
      #expect(whoami == "uid=\(getuid()) gid=\(getgid()) umask=0077", "\(whoami)")
      #expect(
        try await project.redis(port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "SAVE")
          == "OK")
      let owner = try FileManager.default.attributesOfItem(atPath: project.folder.path + "/data/dump.rdb")[
        .ownerAccountID]
      #expect((owner as? NSNumber)?.uint32Value == getuid())
    }
  }
}
