import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Mcp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "mcp",
      abstract: "Serve the project to coding agents over the Model Context Protocol (stdio).",
      discussion: """
        Speaks MCP on standard input and output until standard input ends; an agent starts it (see the \
        README for the configuration snippet). Tools: resources, environment, logs, wait, restart, stop, \
        start, and cache_info, cache_stats, cache_scan, cache_get, cache_slowlog, cache_monitor (read-only). \
        With --allow-write, \
        also cache_command, which sends any command to a cache. Resources: the manifest, the resolved plan \
        (config --json) and the manifest reference. Passwords never appear in replies; every reply is \
        bounded in size.
        """)

    @OptionGroup var options: ManifestOptions

    @Flag(help: "Offer cache_command, which sends any command (writes included) to a cache.")
    var allowWrite = false

    func run() async throws {
      let console = Console()
      guard let helper = Self.helper() else {
        console.error(
          "apphost: apphost-mcp, the server behind `apphost mcp`, is not installed beside \(Self.ownPath() ?? "apphost") "
            + "(nor in ../libexec/apphost/); scripts/install installs both, `swift build` builds both")
        throw ExitCode(69)
      }
      var arguments = [helper, "--file", options.file]
      if let engine = options.engine { arguments += ["--engine", engine.rawValue] }
      if allowWrite { arguments.append("--allow-write") }
      if VerboseOption.requested(in: CommandLine.arguments) { arguments.append("--verbose") }
      // Replaces this process: the agent's pipes are the helper's, and no apphost stays in between.
      let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
      execv(helper, argv)
      console.error("apphost: cannot run \(helper): \(String(cString: strerror(errno)))")
      throw ExitCode(69)
    }

    /// `apphost-mcp` beside this binary (a build folder, `bin/` of an install), else in
    /// `../libexec/apphost/` (where scripts/install puts it, off PATH).
    static func helper() -> String? {
      guard let own = ownPath() else { return nil }
      let folder = (own as NSString).deletingLastPathComponent
      let candidates = [
        (folder as NSString).appendingPathComponent("apphost-mcp"),
        ((folder as NSString).appendingPathComponent("../libexec/apphost/apphost-mcp") as NSString).standardizingPath,
      ]
      return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// This binary's path, links resolved.
    static func ownPath() -> String? {
      try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }
  }
}
