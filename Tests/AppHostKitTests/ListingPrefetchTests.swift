import Foundation
import Testing

@testable import AppHostKit

/// The engine listing started as apphost starts (`ListingPrefetch`): used only when the session asks for
/// exactly that command, and never left running. Serialized: the prefetch is the process's one.
@Suite(.serialized) struct ListingPrefetchTests {
  /// A project folder whose `.apphost/listing` names a fake engine CLI (a script printing its arguments).
  private func project(script: String) throws -> (folder: String, program: String) {
    let folder = "/tmp/apphost-prefetch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder + "/.apphost", withIntermediateDirectories: true)
    let program = folder + "/fake-docker"
    try "#!/bin/sh\n\(script)\n".write(toFile: program, atomically: true, encoding: .utf8)
    chmod(program, 0o755)
    return (folder, program)
  }

  @Test func theSameCommandGetsTheOutputOfTheOneStartedFirst() async throws {
    let (folder, program) = try project(script: "echo \"listed $*\"; echo warning >&2; exit 3")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let arguments = EngineCommands.listContainers(.docker, project: "prefetched")
    ListingPrefetch.remember([program] + arguments, in: StateDirectory(projectDirectory: folder))
    ListingPrefetch.start(projectDirectory: folder)

    #expect(await ListingPrefetch.take(program: program, arguments: ["ps", "--all"]) == nil, "another command")
    let output = try #require(await ListingPrefetch.take(program: program, arguments: arguments))
    #expect(output.output == "listed \(arguments.joined(separator: " "))\n")
    #expect(output.errors == "warning\n")
    #expect(output.status == 3)
    #expect(await ListingPrefetch.take(program: program, arguments: arguments) == nil, "taken once")
    await ListingPrefetch.settle()
  }

  @Test func aListingNoOneTookIsStoppedAtExit() async throws {
    let (folder, program) = try project(script: "echo $$ > \"$(dirname \"$0\")/pid\"; exec sleep 30")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    ListingPrefetch.remember([program, "ps"], in: StateDirectory(projectDirectory: folder))
    ListingPrefetch.start(projectDirectory: folder)
    var pid: pid_t?
    for _ in 0..<200 where pid == nil {
      pid = (try? String(contentsOfFile: folder + "/pid", encoding: .utf8)).flatMap {
        pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      try await Task.sleep(for: .milliseconds(10))
    }
    let started = try #require(pid)
    let began = ContinuousClock.now
    await ListingPrefetch.settle()
    #expect(ContinuousClock.now - began < .seconds(5), "not the 30 s of the command")
    #expect(kill(started, 0) != 0, "the listing is gone and reaped")
  }

  @Test func aCommandWithNothingRememberedOrGoneStartsNothing() async throws {
    let (folder, program) = try project(script: "exit 0")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    ListingPrefetch.start(projectDirectory: folder)
    #expect(await ListingPrefetch.take(program: program, arguments: ["ps"]) == nil)
    ListingPrefetch.remember([folder + "/not-there", "ps"], in: StateDirectory(projectDirectory: folder))
    ListingPrefetch.start(projectDirectory: folder)
    #expect(await ListingPrefetch.take(program: folder + "/not-there", arguments: ["ps"]) == nil)
    await ListingPrefetch.settle()
  }

  @Test func theListingIsRememberedOnlyInAStateFolderThatExists() throws {
    let folder = "/tmp/apphost-prefetch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let state = StateDirectory(projectDirectory: folder)
    ListingPrefetch.remember(["/usr/bin/docker", "ps"], in: state)
    #expect(!FileManager.default.fileExists(atPath: state.path), "no .apphost/ made for it")
    try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: true)
    ListingPrefetch.remember(["/usr/bin/docker", "ps", "--filter", "label=a b"], in: state)
    #expect(
      try String(contentsOfFile: state.path + "/listing", encoding: .utf8) == "/usr/bin/docker\0ps\0--filter\0label=a b"
    )
    ListingPrefetch.remember(nil, in: state)
    #expect(!FileManager.default.fileExists(atPath: state.path + "/listing"), "the native engine lists nothing")
  }
}
