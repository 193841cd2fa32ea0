import Foundation
import TestSupport
import Testing

@testable import AppHostKit

@Suite struct LineSplitterTests {
  @Test func holdsBackALineUntilItsEndArrives() {
    var splitter = LineSplitter()
    #expect(splitter.lines(in: Array("one\ntw".utf8)) == ["one"])
    #expect(splitter.lines(in: Array("o\r".utf8)) == [])
    #expect(splitter.lines(in: Array("\nthree\n\nfour".utf8)) == ["two", "three", ""])
    #expect(splitter.finish() == "four")
    #expect(splitter.finish() == nil)
  }

  @Test func splitsEveryByteBoundary() {
    let text = "alpha\r\nβeta\n\ngamma\n"
    for cut in 0...text.utf8.count {
      var splitter = LineSplitter()
      let bytes = Array(text.utf8)
      let lines = splitter.lines(in: Array(bytes[..<cut])) + splitter.lines(in: Array(bytes[cut...]))
      #expect(lines == ["alpha", "βeta", "", "gamma"], "cut at \(cut)")
    }
  }

  @Test func veryLongLinesAreNotHeldForever() {
    var splitter = LineSplitter(maximumLineLength: 10)
    #expect(splitter.lines(in: Array("0123456789abc".utf8)) == ["0123456789abc"])
    #expect(splitter.lines(in: Array("def\n".utf8)) == ["def"])
  }
}

@Suite struct ProcessSpecTests {
  @Test func specsResolvePortsReplicasAndStages() throws {
    let plan = try plan(
      """
      {"resources": {"cache": {"type": "redis"},
        "web": {"type": "executable", "command": "sh", "args": ["-c", "{cache.port}:{replica}"], "references": ["cache"], "replicas": 2},
        "job": {"type": "executable", "command": "sh", "waitFor": ["web"], "env": {"APPHOST_REPLICA": "mine"}}}}
      """, environment: ["PATH": "/usr/bin:/bin"])
    let specs = try ProcessSpec.specs(plan: plan, ports: ["cache": 41000], selection: ["cache", "web", "job"])
    #expect(specs.map(\.displayName) == ["web-0", "web-1", "job"])
    #expect(specs.map(\.stage) == [1, 1, 2])
    #expect(specs[1].arguments == ["-c", "41000:1"])
    #expect(specs[1].environment["APPHOST_REPLICA"] == "1")
    #expect(specs[0].environment["REDIS_PORT"] == "41000")
    #expect(specs[2].environment["APPHOST_REPLICA"] == "mine", "the manifest's env wins")
    #expect(specs[0].program == "/usr/bin/sh")
    // The same plan again (a new `up`): the same fingerprint, whatever order the environment's
    // dictionary iterates in; any change to what a program gets: another fingerprint.
    let again = try ProcessSpec.specs(plan: plan, ports: ["cache": 41000], selection: ["cache", "web", "job"])
    #expect(ProcessSpec.fingerprint(again) == ProcessSpec.fingerprint(specs))
    #expect(ProcessSpec.fingerprint(specs).count >= 16, "a real hash, not an empty string")
    var changed = specs
    changed[2].environment["EXTRA"] = "1"
    #expect(ProcessSpec.fingerprint(changed) != ProcessSpec.fingerprint(specs))
    changed = specs
    changed[0].arguments.append("x")
    #expect(ProcessSpec.fingerprint(changed) != ProcessSpec.fingerprint(specs))
    changed = specs
    changed[1].restart = changed[1].restart == .no ? .always : .no
    #expect(ProcessSpec.fingerprint(changed) != ProcessSpec.fingerprint(specs))
    let moved = try ProcessSpec.specs(plan: plan, ports: ["cache": 41001], selection: ["cache", "web", "job"])
    #expect(ProcessSpec.fingerprint(moved) != ProcessSpec.fingerprint(specs))
    #expect(throws: AppHostError.self) { try ProcessSpec.specs(plan: plan, ports: [:], selection: ["web"]) }
  }

  @Test func aProgramNotOnPathIsAManifestErrorWithASuggestion() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let link = folder.write("bin/python3", "#!/bin/sh\n")
    chmod(link, 0o755)
    let text =
      #"{"resources": {"x": {"type": "executable", "command": "pyhton3"}, "y": {"type": "task", "command": "zz-none"}}}"#
    var reader = ManifestReader()
    let manifest = try #require(reader.read(try JSONParser.parse(Array(text.utf8))))
    let diagnostics = ManifestValidator.validate(
      manifest, project: "p", projectDirectory: folder.path, locations: reader.locations,
      searchPath: folder.path + "/bin")
    #expect(diagnostics.count == 2, "both are reported, not only the first")
    #expect(diagnostics.first?.path.description == "resources.x.command")
    #expect(diagnostics.first?.message.contains(#""pyhton3" is not on PATH (did you mean "python3"?)"#) == true)
    #expect(diagnostics.last?.path.description == "resources.y.command")
  }
}

/// Real processes (/bin/sh): process groups, output, exit codes.
@Suite struct ChildProcessTests {
  func spec(_ script: String) -> ProcessSpec {
    ProcessSpec(
      resource: "t", replica: 0, displayName: "t", program: "/bin/sh", arguments: ["-c", script],
      workingDirectory: "/tmp", environment: ["GREETING": "hello"], restart: .no, stage: 1)
  }

  final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String] = []
    func add(_ lines: [String]) {
      lock.lock()
      values += lines
      lock.unlock()
    }
    var all: [String] {
      lock.lock()
      defer { lock.unlock() }
      return values
    }
  }

  @Test func runsWithTheEnvironmentAndReportsTheExitCode() async throws {
    let lines = Lines()
    let status = try await ChildProcess.run(
      spec("echo $GREETING; echo to-stderr >&2; printf 'no newline'; exit 3"), started: { _ in },
      output: { lines.add($0) })
    #expect(status == 3)
    #expect(Set(lines.all) == ["hello", "to-stderr", "no newline"])
  }

  @Test func theProgramHasItsOwnProcessGroupAndLeavesNothingBehind() async throws {
    let lines = Lines()
    let recorded = Lines()
    let status = try await ChildProcess.run(
      spec("sleep 300 & echo $!; exit 0"), started: { pid in recorded.add([String(pid), String(getpgid(pid))]) },
      output: { lines.add($0) })
    #expect(status == 0)
    #expect(recorded.all[0] == recorded.all[1], "the program leads its own process group")
    let straggler = try #require(lines.all.first.flatMap { Int32($0) })
    try await Task.sleep(for: .milliseconds(100))
    let stat = try? String(contentsOfFile: "/proc/\(straggler)/stat", encoding: .utf8)
    #expect(stat == nil || stat!.contains(") Z "), "the background sleep was stopped with its program")
  }

  @Test func aSignalGivesOneHundredTwentyEightPlusIt() async throws {
    let status = try await ChildProcess.run(spec("kill -TERM $$"), started: { _ in }, output: { _ in })
    #expect(status == 143)
  }

  @Test func aMissingProgramCannotStart() async {
    var missing = spec("")
    missing.program = "/nonexistent/program"
    await #expect(throws: AppHostError.self) {
      try await ChildProcess.run(missing, started: { _ in }, output: { _ in })
    }
  }
}
