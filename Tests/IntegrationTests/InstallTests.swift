import AppHostKit
import Foundation
import TestSupport
import Testing

/// `scripts/install` into a prefix of the tests' own, as a user would run it, and what it installed: the
/// binary, the completion scripts, the manual page; `--uninstall`. No container engine needed.
///
/// The install is a release build, made once per test run and shared by these tests. `swift test` holds
/// the lock of `.build` while tests run, so it builds in a scratch folder of its own,
/// `.build-install-tests/` in the repository (kept between runs: later builds are incremental).
/// Its limit is long: the cold release build runs beside every other suite (DECISIONS.md, 2026-12-04).
@Suite(.timeLimit(.minutes(50)))
struct InstallTests {
  static let scratchPath = Binary.repository + "/.build-install-tests"

  /// One install per run, into `.build-install-tests/test-prefix` (emptied first; kept afterwards for a
  /// look, and replaced by the next run).
  static let shared = Task { () async throws -> Installation in
    let prefix = scratchPath + "/test-prefix"
    try? FileManager.default.removeItem(atPath: prefix)
    return try await Installation.install(into: prefix)
  }

  struct Installation: Sendable {
    var prefix: String
    var result: CommandResult
    var binary: String { prefix + "/bin/apphost" }

    static let files = [
      "bin/apphost", "libexec/apphost/apphost-mcp", "libexec/apphost/apphost-dashboard",
      "share/bash-completion/completions/apphost",
      "share/zsh/site-functions/_apphost",
      "share/fish/vendor_completions.d/apphost.fish", "share/man/man1/apphost.1",
    ]

    static func install(into prefix: String, uninstall: Bool = false) async throws -> Installation {
      let result = try await execute(
        Binary.repository + "/scripts/install",
        ["--prefix", prefix, "--scratch-path", InstallTests.scratchPath] + (uninstall ? ["--uninstall"] : []),
        in: Binary.repository, environment: ["APPHOST_BUILD_COMMIT": nil])
      return Installation(prefix: prefix, result: result)
    }
  }

  /// The shared install, required to have succeeded.
  static func installed() async throws -> Installation {
    let installation = try await shared.value
    try #require(installation.result.status == 0, "scripts/install: \(installation.result)")
    return installation
  }

  @Test func installsTheBinaryCompletionsAndManualUnderThePrefixAndTheBinaryRuns() async throws {
    let installation = try await Self.installed()
    let prefix = installation.prefix
    for file in Installation.files {
      let attributes = try FileManager.default.attributesOfItem(atPath: prefix + "/" + file)
      #expect(
        (attributes[.posixPermissions] as? Int)
          == (file.hasPrefix("bin/") || file.hasPrefix("libexec/") ? 0o755 : 0o644), "\(file)")
    }
    let manifest = try String(contentsOfFile: prefix + "/share/apphost/installed-files", encoding: .utf8)
    let listedFiles = manifest.split(separator: "\n").filter { !$0.hasSuffix("/") }.map(String.init)
    #expect(listedFiles == Installation.files.map { prefix + "/" + $0 })
    #expect(installation.result.output.contains("uninstall with: scripts/install --uninstall --prefix \(prefix)"))

    // The version names the commit of the checkout it was built from.
    let version = try await execute(installation.binary, ["--version"])
    #expect(version.status == 0, "\(version)")
    let head = try await execute("git", ["-C", Binary.repository, "rev-parse", "--short=12", "HEAD"])
    try #require(head.status == 0, "\(head)")
    let commit = head.output.trimmingCharacters(in: .whitespacesAndNewlines)
    let line = version.output.trimmingCharacters(in: .newlines)
    #expect(
      line == "\(AppHostVersion.current) (commit \(commit))"
        || line == "\(AppHostVersion.current) (commit \(commit)-dirty)", "\(version)")

    // The installed binary does real work: a starter project and its plan.
    let project = ProjectFolder("apphost-installed")
    defer { project.remove() }
    let initialized = try await execute(installation.binary, ["init"], in: project.path)
    #expect(initialized.status == 0, "\(initialized)")
    let config = try await execute(
      installation.binary, ["config"], in: project.path, environment: ["APPHOST_IMAGE_REGISTRY": nil])
    #expect(config.status == 0, "\(config)")
    #expect(config.output.contains("cache (redis, session)"), "\(config)")
    // `apphost mcp` finds its server in libexec/apphost/; with standard input at its end it ends at once.
    let mcp = try await execute(installation.binary, ["mcp"], in: project.path)
    #expect(mcp.status == 0 && mcp.output.isEmpty, "\(mcp)")

    // The completion scripts are swift-argument-parser's, with the resource-name completions.
    for (shell, file) in [
      ("bash", "share/bash-completion/completions/apphost"), ("zsh", "share/zsh/site-functions/_apphost"),
      ("fish", "share/fish/vendor_completions.d/apphost.fish"),
    ] {
      let generated = try await execute(installation.binary, ["--generate-completion-script", shell])
      let installed = try String(contentsOfFile: prefix + "/" + file, encoding: .utf8)
      #expect(installed == generated.output, "\(file)")
      #expect(installed.contains("---completion logs -- positional@0"), "\(file)")
      #expect(installed.contains("---completion cli -- positional@0"), "\(file)")
      #expect(installed.contains("---completion env -- positional@0"), "\(file)")
    }
  }

  /// A plain `swift build` (the binary the other tests run) says what it knows.
  @Test func aPlainBuildSaysWhichCommitOrThatItIsUnknown() async throws {
    let version = try await execute(Binary.path, ["--version"])
    #expect(version.status == 0, "\(version)")
    let line = version.output.trimmingCharacters(in: .newlines)
    let pattern = /(?<version>[0-9.]+) \((commit [0-9A-Za-z._+-]+|unknown commit)\)/
    let match = try #require(line.wholeMatch(of: pattern), "\(version)")
    #expect(match.output.version == AppHostVersion.current)
  }

  @Test func theManualPageRendersWithEverySubcommandOfHelp() async throws {
    let installation = try await Self.installed()
    let page = installation.prefix + "/share/man/man1/apphost.1"
    let rendered = try await execute(
      "man", ["-l", page], environment: ["MANWIDTH": "100", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"])
    #expect(
      rendered.status == 0,
      "man -l \(page) (needs man-db and groff: apt-get install man-db; scripts/test installs it): \(rendered)")
    #expect(rendered.errors.isEmpty, "groff warnings: \(rendered.errors)")
    let text = rendered.output
    #expect(text.contains("APPHOST(1)"))
    #expect(text.contains("Start Redis, Valkey and Garnet containers and your own programs, wired together."))
    #expect(text.contains("--engine engine"))
    #expect(text.contains("apphost cli cache -- SET greeting hello"))

    // The same subcommands as --help: none more (the internal __supervise), none fewer.
    let help = try await execute(installation.binary, ["--help"])
    let subcommands = help.output.split(separator: "\n").drop { $0 != "SUBCOMMANDS:" }.dropFirst()
      .compactMap { line -> String? in
        guard line.hasPrefix("  "), let first = line.dropFirst(2).first, first.isLowercase else { return nil }
        return String(line.dropFirst(2).prefix { $0 != " " })
      }
    #expect(subcommands.count >= 10, "\(help)")
    let entries = text.split(separator: "\n").compactMap { line -> String? in
      // A subcommand's entry: its name alone, indented by 5, at the start of the DESCRIPTION list.
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      guard line.hasPrefix("     "), !line.hasPrefix("      "), !trimmed.isEmpty else { return nil }
      return String(trimmed.prefix { $0 != " " })
    }
    for name in subcommands { #expect(entries.contains(name), "no entry for \(name) in the manual") }
    #expect(!text.contains("__supervise"))
    #expect(!text.contains("(internal)"))
  }

  @Test func bashCompletesTheResourceNamesOfTheProject() async throws {
    let installation = try await Self.installed()
    let project = ProjectFolder("apphost-completion")
    defer { project.remove() }
    project.write(
      "apphost.json",
      """
      {
        // comments are allowed, as in every manifest
        "resources": {
          "cache":    {"type": "redis"},
          "sessions": {"type": "valkey"},
          "insight":  {"type": "redisinsight"},
          "api":      {"type": "executable", "command": "python3"},
          "legacy":   {"type": "connectionString", "value": "localhost:6379"}
        }
      }
      """)
    project.write("other/apphost.json", #"{"resources": {"queue": {"type": "garnet"}}}"#)
    project.write("broken/apphost.json", #"{"resources": {"#)

    func complete(_ line: String, in folder: String? = nil) async throws -> [String] {
      let result = try await bashComplete(line, installation: installation, in: folder ?? project.path)
      #expect(result.status == 0 && result.errors.isEmpty, "\(line): \(result)")
      return result.output.split(separator: "\n").map(String.init)
    }
    #expect(try await complete("apphost logs ") == ["cache", "sessions", "insight", "api"])
    #expect(try await complete("apphost logs se") == ["sessions"])
    #expect(try await complete("apphost logs cache ") == ["sessions", "insight", "api"])
    #expect(try await complete("apphost logs -f --tail 5 ") == ["cache", "sessions", "insight", "api"])
    #expect(try await complete("apphost cli ") == ["cache", "sessions", "legacy"])
    #expect(try await complete("apphost env ") == ["cache", "sessions", "api", "legacy"])
    #expect(try await complete("apphost cli --file other/apphost.json ") == ["queue"])
    #expect(try await complete("apphost cli -f other/apphost.json ") == ["queue"])
    #expect(try await complete("apphost logs --file other/apphost.json ") == ["queue"])
    #expect(try await complete("apphost logs ", in: project.path + "/other") == ["queue"])
    // Errors print nothing: a broken manifest, none at all, a file that is not one.
    #expect(try await complete("apphost logs ", in: project.path + "/broken") == [])
    #expect(try await complete("apphost logs --file missing.json ") == [])
    #expect(try await complete("apphost cli --file other ") == [])

    // bash-completion (when installed; scripts/test installs it) finds the script under the prefix by
    // itself, as it does in an interactive shell.
    if FileManager.default.fileExists(atPath: bashCompletionLoader) {
      let loaded = try await bashComplete(
        "apphost logs ", installation: installation, in: project.path, viaBashCompletion: true)
      #expect(loaded.status == 0 && loaded.errors.isEmpty, "\(loaded)")
      #expect(loaded.output == "cache\nsessions\ninsight\napi\n", "\(loaded)")
    }
  }

  @Test func uninstallRemovesExactlyWhatTheInstallPutThere() async throws {
    _ = try await Self.installed()  // the release build is made; this install only copies
    let root = TemporaryFolder("apphost-uninstall")
    defer { root.remove() }
    let prefix = root.path + "/prefix"
    // What was there before: another program, a manual folder.
    root.write("prefix/bin/other-tool", "#!/bin/sh\n")
    try FileManager.default.createDirectory(
      atPath: prefix + "/share/man/man1", withIntermediateDirectories: true)
    let before = try tree(root.path)

    let installed = try await Installation.install(into: prefix)
    try #require(installed.result.status == 0, "\(installed.result)")
    for file in Installation.files { #expect(FileManager.default.fileExists(atPath: prefix + "/" + file)) }
    // Installing again changes nothing but the files' contents.
    let once = try tree(root.path)
    let again = try await Installation.install(into: prefix)
    try #require(again.result.status == 0, "\(again.result)")
    #expect(try tree(root.path) == once)

    let removed = try await Installation.install(into: prefix, uninstall: true)
    #expect(removed.result.status == 0, "\(removed.result)")
    #expect(
      removed.result.output.contains("removed \(Installation.files.count) files of apphost from \(prefix)"),
      "\(removed.result)")
    #expect(try tree(root.path) == before)

    let twice = try await Installation.install(into: prefix, uninstall: true)
    #expect(twice.result.status == 1)
    #expect(twice.result.errors.contains("nothing to uninstall under \(prefix)"), "\(twice.result)")
  }
}

/// Every path under `folder` (folders ending in `/`), sorted.
private func tree(_ folder: String) throws -> [String] {
  let paths = try FileManager.default.subpathsOfDirectory(atPath: folder)
  return paths.map { path in
    var isFolder: ObjCBool = false
    _ = FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isFolder)
    return isFolder.boolValue ? path + "/" : path
  }.sorted()
}

private let bashCompletionLoader = "/usr/share/bash-completion/bash_completion"

/// What bash offers for `line` (completed at its end) with the installed completion script: the
/// function `complete -p apphost` names, called with COMP_WORDS and friends set as bash sets them for
/// words separated by spaces. One candidate a line. The script is sourced, or with `viaBashCompletion`
/// found by bash-completion's own loader, which looks in `share/bash-completion/completions` of
/// `~/.local` and of every `XDG_DATA_DIRS` folder (default `/usr/local/share:/usr/share`).
private func bashComplete(
  _ line: String, installation: InstallTests.Installation, in folder: String, viaBashCompletion: Bool = false
) async throws -> CommandResult {
  let load =
    viaBashCompletion
    ? "source \(bashCompletionLoader); __load_completion apphost || { echo 'not found' >&2; exit 3; }"
    : #"source "$1""#
  let script = """
    \(load)
    set -u
    spec=$(complete -p apphost) || { echo "no completion for apphost: $spec" >&2; exit 3; }
    function=$(sed -E 's/.*-F ([^ ]+).*/\\1/' <<<"$spec")
    COMP_LINE=$2
    COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<<"$COMP_LINE"
    if [[ $COMP_LINE == *" " ]]; then COMP_WORDS+=(""); fi
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_TYPE=9
    COMPREPLY=()
    "$function" apphost "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    if ((${#COMPREPLY[@]})); then printf '%s\\n' "${COMPREPLY[@]}"; fi
    """
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  return try await execute(
    "bash",
    [
      "--norc", "--noprofile", "-c", script, "bash",
      installation.prefix + "/share/bash-completion/completions/apphost", line,
    ],
    in: folder,
    environment: [
      "PATH": installation.prefix + "/bin:" + path,
      // The prefix as a data folder (as ~/.local/share and /usr/local/share are by default), and not a
      // copy installed in ~/.local.
      "BASH_COMPLETION_USER_DIR": "/nonexistent", "XDG_DATA_DIRS": installation.prefix + "/share",
    ])
}
