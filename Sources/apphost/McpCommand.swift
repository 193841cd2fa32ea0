import AppHostKit
import AppHostMCP
import ArgumentParser
import Foundation

extension AppHost {
  struct Mcp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "mcp",
      abstract: "Serve the project to coding agents over the Model Context Protocol (stdio).",
      discussion: """
        Speaks MCP on standard input and output until standard input ends; an agent starts it (see the \
        README for the configuration snippet). Tools: resources, environment, logs, wait, and cache_info, \
        cache_stats, cache_scan, cache_get, cache_slowlog, cache_monitor (read-only). With --allow-write, \
        also cache_command, which sends any command to a cache. Resources: the manifest, the resolved plan \
        (config --json) and the manifest reference. Passwords never appear in replies; every reply is \
        bounded in size.
        """)

    @OptionGroup var options: ManifestOptions

    @Flag(help: "Offer cache_command, which sends any command (writes included) to a cache.")
    var allowWrite = false

    func run() async throws {
      let options = MCPOptions(file: self.options.file, engine: self.options.engine, allowWrite: allowWrite)
      try await MCPServer.run(options, version: BuildVersion.description)
    }
  }
}
