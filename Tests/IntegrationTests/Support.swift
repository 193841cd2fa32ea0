import Foundation
import Subprocess
import TestSupport
import Testing

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

/// The built `apphost` binary: `$APPHOST_BIN`, else the one beside this test bundle.
enum Binary {
  static let path: String = {
    if let path = ProcessInfo.processInfo.environment["APPHOST_BIN"], !path.isEmpty { return path }
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var folder = bundle
    // The test runner may be inside the .xctest bundle or beside it.
    for _ in 0..<4 {
      let candidate = folder.appendingPathComponent("apphost").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      folder = folder.deletingLastPathComponent()
    }
    return bundle.appendingPathComponent("apphost").path
  }()

  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
}

struct CommandResult: CustomStringConvertible {
  var status: Int32
  var output: String
  var errors: String

  var description: String { "exit \(status)\n--- stdout\n\(output)\n--- stderr\n\(errors)" }
}

/// Runs a program to completion, collecting its output. `environment` values of nil remove a variable.
func execute(
  _ program: String, _ arguments: [String], in folder: String? = nil, environment: [String: String?] = [:]
) async throws -> CommandResult {
  var updates: [Environment.Key: String?] = [:]
  for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
  let result = try await Subprocess.run(
    program.contains("/") ? .path(FilePath(program)) : .name(program), arguments: Arguments(arguments),
    environment: .inherit.updating(updates), workingDirectory: folder.map { FilePath($0) },
    output: .string(limit: 512 << 20), error: .string(limit: 64 << 20))
  let status: Int32
  switch result.terminationStatus {
  case .exited(let code): status = code
  case .signaled(let signal): status = 128 + signal
  }
  return CommandResult(status: status, output: result.standardOutput, errors: result.standardError)
}

/// Runs the apphost binary.
func apphost(_ arguments: String..., in folder: String, environment: [String: String?] = [:]) async throws
  -> CommandResult
{
  try await execute(
    Binary.path, arguments, in: folder, environment: environment.merging(["NO_COLOR": "1"]) { a, _ in a })
}

/// A folder for a test project.
typealias ProjectFolder = TemporaryFolder

/// Runs `attempt` until `until` holds for its result or `timeout` passes, and returns the last result:
/// waiting for an event instead of a fixed pause.
func eventually<T>(
  timeout: Duration, every interval: Duration = .milliseconds(50), _ attempt: () async throws -> T,
  until done: (T) -> Bool
) async throws -> T {
  let deadline = ContinuousClock.now + timeout
  var result = try await attempt()
  while !done(result) && ContinuousClock.now < deadline {
    try await Task.sleep(for: interval)
    result = try await attempt()
  }
  return result
}

/// Writes the repository's sample (apphost.json, under `name`, and its program) into `folder`.
func writeSample(into folder: ProjectFolder, name: String) throws {
  var sample = try String(contentsOfFile: Binary.repository + "/apphost.json", encoding: .utf8)
  sample = sample.replacingOccurrences(of: #""name": "sample""#, with: #""name": "\#(name)""#)
  folder.write("apphost.json", sample)
  folder.write(
    "samples/visits.py", try String(contentsOfFile: Binary.repository + "/samples/visits.py", encoding: .utf8))
}

/// The rows of `apphost ps --json` by resource name, with their string fields.
func rowsByName(psJSON output: String) -> [String: [String: String]] {
  let rows = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]) ?? []
  var byName: [String: [String: String]] = [:]
  for row in rows {
    guard let name = row["name"] as? String else { continue }
    byName[name] = row.compactMapValues { $0 as? String }
  }
  return byName
}

/// The server's pid from its `INFO server` reply (`process_id:`): what a test kills to stop it at once.
func processID(fromInfo info: String) -> Int32? {
  info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }.flatMap {
    Int32($0.dropFirst("process_id:".count).trimmingCharacters(in: .whitespaces))
  }
}

/// `text` as the inside of a JSON string: `\` and `"` escaped (the tests' passwords have both).
func jsonEscaped(_ text: String) -> String {
  text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
}
