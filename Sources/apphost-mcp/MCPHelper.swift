import AppHostBuildInfo
import AppHostKit
import AppHostMCP
import ArgumentParser
import Foundation

/// The program `apphost mcp` replaces itself with (execv), found beside `apphost` or in
/// `libexec/apphost/`: the MCP server, kept out of `apphost` so that the libraries the SDK brings are
/// loaded only here. `apphost mcp` has parsed and checked the options; they arrive in this form.
@main
struct MCPHelper: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apphost-mcp", abstract: "The MCP server behind `apphost mcp` (run that instead).")

  @Option(name: .customLong("file")) var file: String = "apphost.json"
  @Option var engine: String?
  @Flag var allowWrite = false
  @Flag var verbose = false

  func run() async throws {
    signal(SIGPIPE, SIG_IGN)
    if verbose { Log.enable() }
    let flavor = try engine.map { name in
      guard let flavor = EngineFlavor(rawValue: name) else { throw ValidationError("unknown engine \(name)") }
      return flavor
    }
    let commit = String(cString: apphost_build_commit())
    let version = "\(AppHostVersion.current) (\(commit.isEmpty ? "unknown commit" : "commit \(commit)"))"
    try await MCPServer.run(MCPOptions(file: file, engine: flavor, allowWrite: allowWrite), version: version)
  }
}
