import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Cli: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cli",
      abstract: "Talk to a cache with its password, without knowing it.",
      discussion: """
        With a command: prints its reply as redis-cli does and exits (1 when the reply is an error):

          apphost cli cache -- SET greeting hello
          apphost cli cache -- GET greeting

        Without one: a prompt (`cache> `); `quit` or Ctrl-D ends it. MONITOR, SUBSCRIBE, PSUBSCRIBE and \
        SSUBSCRIBE print what the server sends until Ctrl-C — to watch what programs send through a cache:

          apphost cli cache -- MONITOR

        Replies are printed as redis-cli 7.0 prints them: on a terminal quoted ("hello"), with         (integer) and numbered items; into a pipe or file as they are, one item a line (--raw and         --no-raw choose). INFO, CLIENT LIST and the like are printed as they are in both.

        Works for every cache kind (Garnet's image has no redis-cli) and for connection strings without TLS.
        """)

    @OptionGroup var options: ManifestOptions

    @Flag(help: "Print replies as they are, one item a line (the default when standard output is not a terminal).")
    var raw = false

    @Flag(name: .customLong("no-raw"), help: "Print replies as on a terminal, even into a pipe or a file.")
    var noRaw = false

    @Argument(
      help: "The cache (or connection string) to talk to.", completion: ResourceCompletion.names(.connectable))
    var name: String

    @Argument(parsing: .postTerminator, help: "A command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
      if raw && noRaw { throw ValidationError("--raw and --no-raw cannot be given together; choose one") }
    }

    func run() async throws {
      let console = Console()
      let signals = SignalWatcher()
      // Nothing to clean up: Ctrl-C ends a stream or the prompt at once.
      signals.onSignal { number, _ in Foundation.exit(SignalWatcher.exitCode(for: number)) }
      let (shell, cluster) = try await reportingFailures(console) {
        () async throws(AppHostError) -> (RedisShell, Redirect?) in
        let session = try await ProjectSession.open(options, console: console)
        let plan = session.plan
        guard let endpoint = plan.endpoint(name) else {
          if plan.resourceNames.contains(name) {
            throw .notACache(name: name, reason: "is not a cache; apphost cli talks to caches and connection strings")
          }
          throw .unknownResource(name: name, known: plan.endpoints.map(\.resource))
        }
        let ports = StatusReport.ports(plan: plan, containers: session.containers)
        // The primary where it is now: sentinels move it.
        guard let port = await plan.primaryPort(of: name, ports: ports) else {
          throw .notRunning(resources: [name])
        }
        let shell = try await RedisShell.connect(
          host: endpoint.host, port: port, password: endpoint.password?.revealed(), user: endpoint.user,
          tls: endpoint.tlsClient)
        // A cluster's nodes answer MOVED for the keys of other shards: followed, as `redis-cli -c` does.
        let redirect =
          plan.cluster(name) == nil
          ? nil : Redirect(password: endpoint.password?.revealed(), user: endpoint.user, tls: endpoint.tlsClient)
        return (shell, redirect)
      }
      defer { shell.close() }
      let mode: RESP.OutputMode =
        raw ? .raw : noRaw ? .terminal : (isatty(STDOUT_FILENO) == 1 ? .terminal : .raw)
      if !command.isEmpty {
        throw ExitCode(try await execute(command, shell: shell, console: console, mode: mode, cluster: cluster))
      }
      let interactive = isatty(STDIN_FILENO) == 1
      var status: Int32 = 0
      while true {
        if interactive { FileHandle.standardOutput.write(Data("\(name)> ".utf8)) }
        guard let line = readLine() else { break }
        switch splitCommandLine(strippingTerminalEscapes(line)) {
        case .failure(let problem):
          console.error("(error) \(problem.reason)")
        case .success(let words) where words.isEmpty:
          continue
        case .success(let words) where ["quit", "exit"].contains(words[0].lowercased()):
          throw ExitCode(status)
        case .success(let words):
          status = try await execute(words, shell: shell, console: console, mode: mode, cluster: cluster)
        }
      }
      throw ExitCode(status)
    }

    /// How to reach another node of a cluster, the one a `MOVED` or `ASK` reply names.
    struct Redirect {
      var password: String?
      var user: String?
      var tls: TLSClient?

      /// `MOVED 3999 127.0.0.1:6381` (or `ASK ...`): the slot, the node's port, and whether `ASKING` goes first.
      static func target(of reply: RESPValue) -> (slot: String, host: String, port: Int, asking: Bool)? {
        guard case .error(let message) = reply else { return nil }
        let words = message.split(separator: " ")
        guard words.count == 3, words[0] == "MOVED" || words[0] == "ASK",
          let colon = words[2].lastIndex(of: ":"), let port = Int(words[2][words[2].index(after: colon)...])
        else { return nil }
        return (String(words[1]), String(words[2][..<colon]), port, words[0] == "ASK")
      }
    }

    /// Sends one command and prints its reply (or, for MONITOR and the SUBSCRIBEs, every reply until
    /// Ctrl-C). Returns 1 for an error reply, else 0. In a cluster, a redirect is followed (up to 5 times),
    /// said as `redis-cli -c` says it.
    private func execute(
      _ words: [String], shell: RedisShell, console: Console, mode: RESP.OutputMode, cluster: Redirect? = nil
    ) async throws -> Int32 {
      var reply = try await reportingFailures(console) { () async throws(AppHostError) in
        try await shell.execute(words)
      }
      var hops = 0
      while let cluster, hops < 5, let target = Redirect.target(of: reply) {
        hops += 1
        console.output("-> Redirected to slot [\(target.slot)] located at \(target.host):\(target.port)")
        reply = try await reportingFailures(console) { () async throws(AppHostError) in
          let node = try await RedisShell.connect(
            host: target.host, port: target.port, password: cluster.password, user: cluster.user, tls: cluster.tls)
          defer { node.close() }
          if target.asking { _ = try await node.execute(["ASKING"]) }
          return try await node.execute(words)
        }
      }
      console.outputBytes(RESP.format(reply, mode: mode, command: words))
      if case .error = reply { return 1 }
      if RedisShell.streams(words) {
        try await reportingFailures(console) { () async throws(AppHostError) in
          try await shell.stream { value in console.outputBytes(RESP.format(value, mode: mode)) }
        }
      }
      return 0
    }
  }
}
