import Foundation
import TestSupport
import Testing

/// Every connection variable, tried with the clients programs use: redis-cli 7.0 (`-u`, `-h -p -a`),
/// redis-py and node-redis 4 (Debian's `node-redis`, when installed), with passwords full of characters
/// that URLs must encode. Natively (fast) and on every container engine.
@Suite(.serialized)
struct ClientURLTests {
  /// A password with every character a URL's user-info part must encode.
  static let passwords = ["cache": "p@ss:w/rd?#%+ x", "sessions": "100%+sure #1/2@?"]

  static func manifest(garnet: Bool) -> String {
    var resources = """
      "cache": {"type": "redis", "password": "\(passwords["cache"]!)"},
      "sessions": {"type": "valkey", "password": "\(passwords["sessions"]!)"},
      "open": {"type": "redis", "password": false}
      """
    if garnet { resources += #", "garnet": {"type": "garnet"}"# }
    return resources
  }

  @Test(.enabled(if: NativeProject.wanted))
  func everyVariableWorksWithTheClientsNatively() async throws {
    try await NativeProject.run("urls") { project in
      project.manifest(Self.manifest(garnet: false))
      try await project.succeed("up", "-d")
      try await Self.check(try await project.environment(), caches: ["cache", "sessions", "open"])
    }
  }

  @Test(.enabled(if: TestEngines.available), arguments: TestEngines.all)
  func everyVariableWorksWithTheClientsOnEngines(engine: String) async throws {
    try await EngineProject.run(engine: engine, "urls") { project in
      project.manifest(Self.manifest(garnet: true))
      try await project.succeed("up", "-d")
      try await Self.check(try await project.environment(), caches: ["cache", "sessions", "open", "garnet"])
    }
  }

  static func check(_ variables: [String: String], caches: [String]) async throws {
    for cache in caches {
      let name = cache.uppercased()
      let port = try #require(variables["\(name)_PORT"])
      let password = variables["\(name)_PASSWORD"]
      if let given = passwords[cache] { #expect(password == given) }
      let url = try #require(variables["\(name)_URL"])
      let uri = try #require(variables["\(name)_URI"])

      // NAME_URL: the one form every client takes.
      if let password {
        let encoded = try #require(
          password.addingPercentEncoding(
            withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))))
        #expect(url == "redis://default:\(encoded)@127.0.0.1:\(port)/0")
      } else {
        #expect(url == "redis://127.0.0.1:\(port)/0")
      }
      #expect(try await redisCLI(url: url) == "PONG", "redis-cli -u \(name)_URL")
      #expect(try await python(url: url) == "PONG", "redis-py \(name)_URL")
      if let node = try await node(url: url) { #expect(node == "PONG", "node-redis \(name)_URL") }

      // NAME_URI: Aspire's form. redis-py and node-redis take redis://:PWD@; redis-cli 7.0 sends an empty
      // user name with it (WRONGPASS), and neither library knows valkey://.
      if uri.hasPrefix("valkey://") {
        #expect(try await python(url: uri).contains("must specify one of the following schemes"))
        if let node = try await node(url: uri) { #expect(node.contains("Invalid protocol"), "\(node)") }
      } else {
        #expect(try await python(url: uri) == "PONG", "redis-py \(name)_URI")
        if let node = try await node(url: uri) { #expect(node == "PONG", "node-redis \(name)_URI") }
        let cli = try await redisCLI(url: uri)
        if password == nil {
          #expect(cli == "PONG", "redis-cli -u \(name)_URI: \(cli)")
        } else {
          #expect(cli.contains("WRONGPASS") && cli.contains("NOAUTH"), "redis-cli -u \(name)_URI: \(cli)")
        }
      }

      // NAME_HOST, NAME_PORT, NAME_PASSWORD and ConnectionStrings__NAME (StackExchange.Redis's format).
      #expect(variables["\(name)_HOST"] == "127.0.0.1")
      var arguments = ["-h", "127.0.0.1", "-p", port, "--no-auth-warning"]
      if let password { arguments += ["-a", password] }
      #expect(try await run("redis-cli", arguments + ["PING"]) == "PONG")
      #expect(
        variables["ConnectionStrings__\(cache)"] == "127.0.0.1:\(port)" + (password.map { ",password=\($0)" } ?? ""))
    }
    // REDIS_URL is the first cache's NAME_URL.
    let first = caches[0].uppercased()
    #expect(variables["REDIS_URL"] == variables["\(first)_URL"])
    #expect(try await redisCLI(url: try #require(variables["REDIS_URL"])) == "PONG")
    #expect(try await python(url: try #require(variables["REDIS_URL"])) == "PONG")
  }

  static func run(_ program: String, _ arguments: [String], environment: [String: String?] = [:]) async throws
    -> String
  {
    let result = try await execute(program, arguments, environment: environment)
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func redisCLI(url: String) async throws -> String {
    try await run("redis-cli", ["--no-auth-warning", "-u", url, "PING"])
  }

  /// PONG, or the client's error.
  static func python(url: String) async throws -> String {
    let script = """
      import sys, redis
      try:
          print("PONG" if redis.Redis.from_url(sys.argv[1], socket_timeout=5).ping() else "no")
      except Exception as error:
          print(error)
      """
    return try await run("python3", ["-c", script, url])
  }

  static let nodeModules = "/usr/share/nodejs"

  /// PONG, or the client's error; nil when node-redis is not installed (`apt-get install node-redis`).
  static func node(url: String) async throws -> String? {
    guard FileManager.default.fileExists(atPath: nodeModules + "/redis/package.json") else {
      print("node-redis is not installed (apt-get install node-redis): not checked")
      return nil
    }
    let script = """
      const { createClient } = require('redis');
      (async () => {
        try {
          const client = createClient({ url: process.argv[1], socket: { connectTimeout: 5000, reconnectStrategy: false } });
          client.on('error', () => {});
          await client.connect();
          console.log(await client.ping());
          await client.quit();
        } catch (error) { console.log(error.message); }
      })();
      """
    return try await run("node", ["-e", script, url], environment: ["NODE_PATH": nodeModules])
  }
}
