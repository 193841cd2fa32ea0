import Foundation
import TestSupport
import Testing

/// `apphost cli` prints what redis-cli 7.0 prints, byte for byte, into a pipe and on a terminal (a pty
/// made by `script`), for the same commands on the same server; and what a terminal adds to a typed line
/// (arrow keys) never reaches the server.
@Suite(.enabled(if: NativeProject.wanted && findExecutable("script") != nil), .serialized)
struct CliOutputTests {
  static let commands: [[String]] = [
    ["GET", "greeting"], ["INCR", "counter"], ["LRANGE", "list", "0", "-1"], ["LRANGE", "numbers", "0", "-1"],
    ["HGETALL", "hash"], ["GET", "binary"], ["GET", "missing"], ["LRANGE", "missing", "0", "-1"],
    ["NO-SUCH-COMMAND", "x"], ["INFO", "server"], ["SET", "k", "v"], ["CONFIG", "GET", "port"],
    ["EVAL", "return {1, {2, 'x', {}}, {err = 'inner'}, 'y'}", "0"], ["CLIENT", "INFO"],
  ]

  @Test func repliesArePrintedAsRedisCLIPrintsThem() async throws {
    try await NativeProject.run("cli-output") { project in
      project.manifest(#""cache": {"type": "redis", "password": "pw with space"}"#)
      try await project.succeed("up", "-d")
      let variables = try await project.environment()
      let port = try #require(variables["CACHE_PORT"])
      let setup = [
        ["SET", "greeting", "hello world"], ["RPUSH", "list", "a", "b c", "q\"x", "", "é", "12"],
        ["RPUSH", "numbers"] + (1...11).map(String.init), ["HSET", "hash", "f1", "v1", "f2", ""],
        ["SET", "binary", "a\u{1}\nb\t\\"],
      ]
      for command in setup {
        #expect(try await Self.apphost(project, ["cli", "cache", "--"] + command).status == 0)
      }
      let redisCLI = ["redis-cli", "-p", port, "-a", "pw with space", "--no-auth-warning"]
      for command in Self.commands {
        // INCR answers a new number each time: reset it before each.
        _ = try await Self.apphost(project, ["cli", "cache", "--", "SET", "counter", "41"])
        let expected = try await execute(redisCLI[0], Array(redisCLI.dropFirst()) + command)
        _ = try await Self.apphost(project, ["cli", "cache", "--", "SET", "counter", "41"])
        let piped = try await Self.apphost(project, ["cli", "cache", "--"] + command)
        let label = command.joined(separator: " ")
        #expect(Self.stable(piped.output) == Self.stable(expected.output), "piped: \(label)")
        #expect(!piped.output.isEmpty || command[0] == "GET", "piped: \(label)")
        #expect(piped.status == (piped.output.hasPrefix("ERR") ? 1 : 0), "piped: \(label): \(piped)")

        _ = try await Self.apphost(project, ["cli", "cache", "--", "SET", "counter", "41"])
        let terminalExpected = try await Self.onTerminal(redisCLI + command)
        _ = try await Self.apphost(project, ["cli", "cache", "--", "SET", "counter", "41"])
        let terminal = try await Self.onTerminal(
          [Binary.path, "cli", "cache", "--"] + command, project: project)
        #expect(Self.stable(terminal) == Self.stable(terminalExpected), "terminal: \(label)")
      }
      // On a terminal, strings are quoted; into a pipe they are as they are.
      let quoted = try await Self.onTerminal(
        [Binary.path, "cli", "cache", "--", "GET", "greeting"], project: project)
      #expect(quoted == "\"hello world\"\r\n")
      #expect(
        try await project.succeed("cli", "cache", "--no-raw", "--", "GET", "greeting").output == "\"hello world\"\n")
      #expect(
        try await project.succeed("cli", "cache", "--raw", "--", "LRANGE", "list", "0", "1").output == "a\nb c\n")
    }
  }

  @Test func arrowKeysAtThePromptAreNotSentToTheServer() async throws {
    try await NativeProject.run("cli-keys") { project in
      project.manifest(#""cache": {"type": "redis"}"#)
      try await project.succeed("up", "-d")
      // What a terminal in canonical mode passes on when arrow keys, Home and F5 are pressed in a line.
      let typed = "SET key \u{1B}[Avalue\u{1B}[D\u{1B}OH\n\u{1B}[15~GET key\u{1B}[1;5C\n"
      let script = "printf '%s' \"$LINES\" | \(shellQuote(Binary.path)) cli cache"
      let result = try await execute(
        "/bin/sh", ["-c", script], in: project.path,
        environment: project.environment.merging(["LINES": typed]) { _, given in given })
      #expect(result.output == "OK\nvalue\n", "\(result)")
      let keys = try await project.succeed("cli", "cache", "--", "KEYS", "*")
      #expect(keys.output == "key\n")
    }
  }

  static func apphost(_ project: NativeProject, _ arguments: [String]) async throws -> CommandResult {
    try await execute(Binary.path, arguments, in: project.path, environment: project.environment)
  }

  /// Without the lines of INFO and CLIENT INFO that change from one call to the next (clock, uptime,
  /// client id and port).
  static func stable(_ text: String) -> String {
    let volatile = ["server_time_usec:", "uptime_in_seconds:", "uptime_in_days:", "lru_clock:", "id="]
    // Split by scalars: "\r\n" is one Character.
    let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map {
      String(String.UnicodeScalarView($0))
    }
    return lines.filter { line in !volatile.contains { line.hasPrefix($0) } }.joined(separator: "\n")
  }

  /// What a program writes on a terminal (`script` gives it a pty; the pty turns "\n" into "\r\n").
  static func onTerminal(_ arguments: [String], project: NativeProject? = nil) async throws -> String {
    let line = arguments.map(shellQuote).joined(separator: " ") + " 2>/dev/null"
    let result = try await execute(
      "script", ["-q", "-e", "-c", line, "/dev/null"], in: project?.path,
      environment: project?.environment ?? [:])
    return result.output
  }
}
