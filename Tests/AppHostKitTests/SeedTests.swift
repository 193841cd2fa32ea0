import Foundation
import TestSupport
import Testing

@testable import AppHostKit

/// `"seed"`: read and checked at load time, loaded by `up` into an empty dataset only.
@Suite struct SeedTests {
  @Test func seedFilesAreSplitAsRedisCLISplitsThem() {
    let (commands, problems) = CacheSeed.parseCommands(
      "# users\nSET user:1 \"Ada Lovelace\"\n\nHSET h f1 v1 f2 'v 2'\r\nSET broken \"open\n")
    #expect(commands.map(\.words) == [["SET", "user:1", "Ada Lovelace"], ["HSET", "h", "f1", "v1", "f2", "v 2"]])
    #expect(commands.map(\.line) == [2, 4])
    #expect(problems.map(\.line) == [5])
  }

  @Test func keyCountReadsEveryDatabase() {
    #expect(Seeding.keyCount(inKeyspace: "# Keyspace\r\n") == 0)
    #expect(
      Seeding.keyCount(inKeyspace: "# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\ndb2:keys=4,expires=1,avg_ttl=9\r\n")
        == 7)
  }

  @Test func whatCannotSeedIsAManifestError() {
    let folder = TemporaryFolder("apphost-seed")
    defer { folder.remove() }
    folder.write("seed.redis", "SET a 1\nFLUSHALL\nSET b \"x\n")
    folder.write("not.rdb", "SET a 1\n")
    folder.write("dump.rdb", "REDIS0010...")
    let found = diagnostics(
      #"""
      {"resources": {
        "a": {"type": "redis", "seed": "seed.redis"},
        "b": {"type": "redis", "seed": {"rdb": "not.rdb"}},
        "c": {"type": "garnet", "seed": {"rdb": "dump.rdb"}},
        "d": {"type": "valkey", "seed": "missing.redis"},
        "e": {"type": "redis", "seed": {"file": "x"}}
      }}
      """#, folder: folder.path)
    let messages = found.map { "\($0.path): \($0.message)" }
    #expect(messages.contains { $0.hasPrefix("resources.a.seed: seed.redis:2: FLUSHALL has no place") })
    #expect(messages.contains { $0.hasPrefix("resources.a.seed: seed.redis:3: unbalanced quotes") })
    #expect(messages.contains { $0.hasPrefix("resources.b.seed.rdb:") && $0.contains("is not an RDB file") })
    #expect(messages.contains { $0.hasPrefix("resources.c.seed.rdb: Garnet cannot load an RDB file") })
    #expect(messages.contains { $0.hasPrefix("resources.d.seed:") && $0.contains("does not exist") })
    #expect(messages.contains { $0.hasPrefix("resources.e.seed") })
    #expect(found.allSatisfy { $0.location != nil })
  }

  @Test func anRDBIsMountedAndCopiedOnlyIntoAnEmptyDataFolder() throws {
    let folder = TemporaryFolder("apphost-seed")
    defer { folder.remove() }
    folder.write("dump.rdb", "REDIS0010...")
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "dataVolume": true, "seed": {"rdb": "./dump.rdb"}}}}"#,
      folder: folder.path)
    let container = try #require(plan.container("cache"))
    #expect(
      container.mounts.contains(
        Mount(source: .bind(folder.path + "/dump.rdb"), target: "/usr/local/etc/apphost/seed.rdb", readOnly: true)))
    let command = try #require(container.command.last)
    #expect(
      command.hasPrefix(
        "{ [ -e /data/dump.rdb ] || [ -e /data/appendonlydir ] || [ -e /data/appendonly.aof ] || "
          + "cp /usr/local/etc/apphost/seed.rdb /data/dump.rdb; } && (umask 077"))
    #expect(container.server?.seedRDB == folder.path + "/dump.rdb")
  }

  @Test func theNativeEngineCopiesAnRDBOnlyIntoAFolderWithoutADataset() throws {
    let folder = TemporaryFolder("apphost-seed")
    defer { folder.remove() }
    let source = folder.write("dump.rdb", "REDIS0010 seed")
    let data = folder.path + "/data"
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    try NativeEngine.seedRDB(source, into: data)
    #expect(folder.read("data/dump.rdb") == "REDIS0010 seed")
    folder.write("data/dump.rdb", "REDIS0010 newer")
    try NativeEngine.seedRDB(source, into: data)
    #expect(folder.read("data/dump.rdb") == "REDIS0010 newer")
  }

  @Test func upSeedsAfterTheCacheAnswersAndNotWhenReused() async throws {
    let folder = TemporaryFolder("apphost-seed")
    defer { folder.remove() }
    folder.write("seed.redis", "SET a 1\nSET b 2\n")
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "seed": "seed.redis"}, "other": {"type": "redis"}}}"#,
      folder: folder.path)
    let engine = FakeEngine()
    let calls = SeedCalls()
    let events = EventLog()
    var launcher = LauncherTests.launcher(plan, engine, events: events)
    launcher.seeding = { port, password, _, commands, source in
      calls.add("\(source) \(commands.map { $0.words.joined(separator: " ") }) \(password ?? "-")")
      return .seeded(commands: commands.count)
    }
    _ = try await LauncherTests.start(launcher, engine)
    #expect(calls.all == ["seed.redis [\"SET a 1\", \"SET b 2\"] GeneratedCachePassword1"])
    #expect(
      events.all.contains { event in
        if case .seed("cache", "seeded with 2 commands from seed.redis") = event { return true }
        return false
      })
    _ = try await LauncherTests.start(launcher, engine)
    #expect(calls.all.count == 1)
  }

  @Test func aFailedSeedFailsTheStartAndRemovesWhatItMade() async throws {
    let folder = TemporaryFolder("apphost-seed")
    defer { folder.remove() }
    folder.write("seed.redis", "SET a 1\n")
    let plan = try plan(
      #"{"name": "shop", "resources": {"cache": {"type": "redis", "seed": "seed.redis"}}}"#, folder: folder.path)
    let engine = FakeEngine()
    var launcher = LauncherTests.launcher(plan, engine)
    launcher.seeding = { _, _, _, _, _ in .failed("seed.redis:1: SET failed: ERR wrong") }
    await #expect(throws: AppHostError.self) { try await LauncherTests.start(launcher, engine) }
    #expect(engine.containerNames.isEmpty)
  }

  /// Against Debian's redis-server: an empty dataset is seeded (pipelined, every command), one with keys
  /// in any database is not touched, and an error reply names its line.
  @Test func realSeedingLoadsOnlyAnEmptyDataset() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server"), "install redis-server")
    let folder = TemporaryFolder("apphost-seeding")
    defer { folder.remove() }
    let port = try ProbeTests.Server.freePort()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", folder.path, "--save", ""]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    defer {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    #expect(try await Probe.waitUntilReady(.resp(password: nil), port: port, deadline: .now + .seconds(30)) == .ready)
    let commands = (1...600).map { CacheSeed.Command(line: $0, words: ["SET", "k\($0)", "v \($0)"]) }
    #expect(await Seeding.seed(port: port, password: nil, commands: commands, source: "s") == .seeded(commands: 600))
    let connection = try Connection.open(port: port, timeout: .seconds(1))
    defer { connection.close() }
    #expect(try connection.call(["DBSIZE"], timeout: .seconds(2)) == .integer(600))
    #expect(try connection.call(["GET", "k600"], timeout: .seconds(2)) == .bulk("v 600"))
    // Keys in another database count too: nothing is sent.
    _ = try connection.call(["FLUSHALL"], timeout: .seconds(2))
    _ = try connection.call(["SELECT", "3"], timeout: .seconds(2))
    _ = try connection.call(["SET", "other", "1"], timeout: .seconds(2))
    #expect(await Seeding.seed(port: port, password: nil, commands: commands, source: "s") == .skipped(keys: 1))
    _ = try connection.call(["FLUSHALL"], timeout: .seconds(2))
    let broken = [
      CacheSeed.Command(line: 1, words: ["SET", "a", "1"]), CacheSeed.Command(line: 7, words: ["INCR", "a", "b"]),
    ]
    let outcome = await Seeding.seed(port: port, password: nil, commands: broken, source: "seed.redis")
    guard case .failed(let reason) = outcome else {
      Issue.record("\(outcome)")
      return
    }
    #expect(reason.hasPrefix("seed.redis:7: INCR failed: ERR wrong number of arguments"), "\(reason)")
  }
}

final class SeedCalls: @unchecked Sendable {
  private let lock = NSLock()
  private var calls: [String] = []
  func add(_ call: String) { lock.withLock { calls.append(call) } }
  var all: [String] { lock.withLock { calls } }
}
