import Foundation
import TestSupport
import Testing

/// `"seed"` on the real engines and natively: loaded into an empty dataset, never over existing data.
@Suite(.enabled(if: TestEngines.available, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct SeedIntegrationTests {
  static let commands = "# seed data\nSET greeting \"hello world\"\nHSET user:1 name Ada lang en\nRPUSH queue a b c\n"

  /// An RDB of Debian's redis-server (RDB 10, which the stand-ins read) holding `seeded-by-rdb`.
  static func makeRDB(in folder: TemporaryFolder) async throws -> String {
    let port = String(Int.random(in: 20_000...29_999))
    let started = try await execute(
      "redis-server", ["--port", port, "--bind", "127.0.0.1", "--dir", folder.path, "--save", "", "--daemonize", "yes"])
    try #require(started.status == 0, "\(started)")
    var answer = ""
    for _ in 0..<100 {
      answer = try await execute("redis-cli", ["-p", port, "SET", "seeded-by-rdb", "yes"]).output
      if answer.contains("OK") { break }
      try await Task.sleep(for: .milliseconds(50))
    }
    _ = try await execute("redis-cli", ["-p", port, "SAVE"])
    _ = try await execute("redis-cli", ["-p", port, "SHUTDOWN", "NOSAVE"])
    try #require(answer.contains("OK"))
    return folder.path + "/dump.rdb"
  }

  @Test(arguments: TestEngines.all)
  func seedCommandsLoadOnceAndNeverOverData(engine: String) async throws {
    try await EngineProject.run(engine: engine, "seed") { project in
      project.folder.write("seed.redis", Self.commands)
      project.manifest(
        #""cache": {"type": "redis", "dataVolume": true, "seed": "./seed.redis"}, "g": {"type": "garnet", "seed": "seed.redis"}"#
      )
      let up = try await project.apphost("up", "-d")
      #expect(up.status == 0, "\(up)")
      #expect(up.output.contains("cache | seeded with 3 commands from ./seed.redis"), "\(up.output)")
      var environment = try await project.environment()
      var port = environment["CACHE_PORT"]
      let password = environment["CACHE_PASSWORD"]
      #expect(try await project.redis(port: port, password: password, "GET", "greeting") == "hello world")
      #expect(try await project.redis(port: port, password: password, "LRANGE", "queue", "0", "-1") == "a\nb\nc")
      #expect(
        try await project.redis(
          port: environment["G_PORT"], password: environment["G_PASSWORD"], "HGET", "user:1", "name") == "Ada")
      // More data, and a seeded key changed: a second start must keep both as they are.
      #expect(try await project.redis(port: port, password: password, "SET", "extra", "kept") == "OK")
      #expect(try await project.redis(port: port, password: password, "SET", "greeting", "changed") == "OK")
      try await project.succeed("down")
      let again = try await project.apphost("up", "-d")
      #expect(again.status == 0, "\(again)")
      #expect(again.output.contains("cache | not seeded: the dataset is not empty (4 keys)"), "\(again.output)")
      environment = try await project.environment()
      port = environment["CACHE_PORT"]
      #expect(try await project.redis(port: port, password: password, "GET", "extra") == "kept")
      #expect(try await project.redis(port: port, password: password, "GET", "greeting") == "changed")
    }
  }

  @Test(arguments: TestEngines.all)
  func anRDBSeedsAnEmptyVolumeOnly(engine: String) async throws {
    let scratch = TemporaryFolder("apphost-rdb")
    defer { scratch.remove() }
    let rdb = try await Self.makeRDB(in: scratch)
    try await EngineProject.run(engine: engine, "rdb") { project in
      project.manifest(#""cache": {"type": "valkey", "dataVolume": true, "seed": {"rdb": "\#(rdb)"}}"#)
      try await project.succeed("up", "-d")
      var environment = try await project.environment()
      let password = environment["CACHE_PASSWORD"]
      #expect(
        try await project.redis(port: environment["CACHE_PORT"], password: password, "GET", "seeded-by-rdb") == "yes")
      #expect(
        try await project.redis(port: environment["CACHE_PORT"], password: password, "DEL", "seeded-by-rdb") == "1")
      #expect(try await project.redis(port: environment["CACHE_PORT"], password: password, "SET", "mine", "1") == "OK")
      try await project.succeed("down")
      try await project.succeed("up", "-d")
      environment = try await project.environment()
      #expect(
        try await project.redis(port: environment["CACHE_PORT"], password: password, "GET", "seeded-by-rdb") == "")
      #expect(try await project.redis(port: environment["CACHE_PORT"], password: password, "GET", "mine") == "1")
    }
  }
}

@Suite(.enabled(if: NativeProject.wanted), .serialized)
struct NativeSeedTests {
  @Test func nativeSeedsLoadOnceIntoTheVolumeFolder() async throws {
    let scratch = TemporaryFolder("apphost-rdb")
    defer { scratch.remove() }
    let rdb = try await SeedIntegrationTests.makeRDB(in: scratch)
    try await NativeProject.run("seed") { project in
      project.folder.write("seed.redis", SeedIntegrationTests.commands)
      project.manifest(
        #""cache": {"type": "redis", "dataVolume": true, "seed": "seed.redis"}, "snap": {"type": "redis", "dataVolume": true, "seed": {"rdb": "\#(rdb)"}}"#
      )
      let up = try await project.succeed("up", "-d")
      #expect(up.output.contains("seeded with 3 commands from seed.redis"), "\(up.output)")
      var environment = try await project.environment()
      #expect(
        try await project.redis(
          port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "GET", "greeting") == "hello world")
      #expect(
        try await project.redis(
          port: environment["SNAP_PORT"], password: environment["SNAP_PASSWORD"], "GET", "seeded-by-rdb") == "yes")
      #expect(
        try await project.redis(
          port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "SET", "extra", "kept") == "OK")
      try await project.succeed("down")
      let again = try await project.succeed("up", "-d")
      #expect(again.output.contains("not seeded: the dataset is not empty (4 keys)"), "\(again.output)")
      environment = try await project.environment()
      #expect(
        try await project.redis(
          port: environment["CACHE_PORT"], password: environment["CACHE_PASSWORD"], "GET", "extra") == "kept")
    }
  }
}
