import Foundation
import Testing

@testable import AppHostKit

@Suite struct OrphanScanTests {
  /// A `sleep` with `environment` added, in a process group of its own (stopping signals the group).
  func spawn(_ environment: [String: String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sleep")
    process.arguments = ["60"]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
    try process.run()
    try #require(getpgid(process.processIdentifier) != getpgrp(), "the test's own process group")
    return process
  }

  /// What an engine command leaves running (podman's aardvark-dns, rootless port forwarders) belongs to
  /// the engine: a later `up` or `down` stops a dead apphost's programs and leaves those alone.
  @Test func onlyTheProgramsOfADeadApphostAreStopped() async throws {
    let folder = "/tmp/apphost-orphans-\(UUID().uuidString)"
    let deadOwner = "999999/0/\(folder)"
    let program = try spawn([OrphanScan.variable: deadOwner])
    let daemon = try spawn([OrphanScan.engineVariable: deadOwner])
    defer {
      for process in [program, daemon] where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    try await Task.sleep(for: .milliseconds(100))
    #expect(OrphanScan.orphans(projectDirectory: folder).map(\.pid) == [program.processIdentifier])
    #expect(
      OrphanScan.orphans(projectDirectory: folder, variable: OrphanScan.engineVariable).map(\.pid)
        == [daemon.processIdentifier])

    #expect(await OrphanScan.stop(projectDirectory: folder, grace: .milliseconds(300)) == 1)
    program.waitUntilExit()
    #expect(daemon.isRunning, "the engine's daemon keeps running")
    // Settling waits only for docker and podman commands: a daemon is not one.
    await OrphanScan.settleEngineCommands(projectDirectory: folder, timeout: .seconds(5))
    #expect(daemon.isRunning)
  }

  @Test func engineCommandsCarryTheEngineMarkOnly() {
    let engine = CLIEngine(flavor: .podman, program: "/usr/bin/podman", ownerMark: "1/2//p")
    #expect(engine.markEnvironment == ["APPHOST_OWNER": nil, "APPHOST_ENGINE_OWNER": "1/2//p"])
  }
}
