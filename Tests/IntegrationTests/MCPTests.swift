import Foundation
import TestSupport
import Testing

/// `apphost mcp` in a real MCP client session over stdio: scripts/mcp-session-check.py, with the `mcp`
/// package from PyPI, lists the tools and resources and calls each against a running project, checking
/// the bounds and that the cache's password appears in no reply. Natively (fast) and on docker (podman
/// cannot publish ports here).
@Suite(.serialized)
struct MCPTests {
  static let manifest = """
    "cache": {"type": "redis"},
    "api": {"type": "executable", "command": "sh", "references": ["cache"],
            "args": ["-c", "i=0; while [ $i -lt 400 ]; do echo hello from api $i; i=$((i+1)); done; exec sleep 600"]}
    """

  /// Whether python3 has the `mcp` and `redis` packages (scripts/test installs them; in CI a missing one
  /// fails the test instead of skipping it).
  static var clientInstalled: Bool {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import mcp, redis"]
    probe.standardOutput = FileHandle.nullDevice
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return false }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
  }

  /// Runs the session script against the project in `folder`, whose cache variables are `variables`;
  /// `serverEnvironment` is what the server gets on top of the test's environment.
  static func session(folder: String, variables: [String: String], serverEnvironment: [String: String?])
    async throws
  {
    let password = try #require(variables["CACHE_PASSWORD"], "\(variables)")
    let url = try #require(variables["CACHE_URL"])
    let overrides = try JSONSerialization.data(
      withJSONObject: serverEnvironment.mapValues { $0 as Any? ?? NSNull() }, options: [.sortedKeys])
    let result = try await execute(
      "python3", [Binary.repository + "/scripts/mcp-session-check.py", Binary.path, folder],
      environment: [
        "MCP_TEST_PASSWORD": password, "REDIS_URL": url,
        "MCP_TEST_SERVER_ENV": String(decoding: overrides, as: UTF8.self),
      ])
    #expect(result.status == 0, "\(result)")
    // The script counts its checks: a session that stopped early (or checked little) says fewer.
    let held = result.output.firstMatch(of: /mcp-session-check: all (\d+) checks held/).flatMap { Int($0.1) }
    #expect((held ?? 0) >= 150, "\(result)")
    let failed = result.output.split(separator: "\n").filter { $0.hasPrefix("FAILED") }
    #expect(failed.isEmpty, "\(failed)")
    // The script's own output holds no secret either (it prints what failed, with the reply).
    #expect(!result.output.contains(password))
  }

  @Test(.enabled(if: NativeProject.wanted && (clientInstalled || TestEngines.inCI)))
  func anAgentSessionNatively() async throws {
    try await NativeProject.run("mcp") { project in
      project.manifest(Self.manifest)
      try await project.succeed("up", "-d")
      try await Self.session(
        folder: project.path, variables: try await project.environment(), serverEnvironment: project.environment)
    }
  }

  @Test(
    .enabled(if: TestEngines.all.contains("docker") && (clientInstalled || TestEngines.inCI)), arguments: ["docker"])
  func anAgentSessionOnDocker(engine: String) async throws {
    try await EngineProject.run(engine: engine, "mcp") { project in
      project.manifest(Self.manifest)
      try await project.succeed("up", "-d")
      try await Self.session(
        folder: project.path, variables: try await project.environment(),
        serverEnvironment: ["APPHOST_ENGINE": engine, "NO_COLOR": "1"])
    }
  }
}
