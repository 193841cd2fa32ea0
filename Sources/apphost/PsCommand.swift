import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Ps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "ps",
      abstract: "Show each resource: type, state, health, endpoint or URL.",
      discussion: "Caches show their endpoint (127.0.0.1:PORT), UIs their URL. No secrets are shown.")

    @OptionGroup var options: ManifestOptions

    @Flag(help: "Print a JSON array of objects.")
    var json = false

    func run() async throws {
      let console = Console()
      let session = try await reportingFailures(console) { () async throws(AppHostError) in
        try await ProjectSession.open(options, console: console)
      }
      let rows = await StatusReport.collect(
        plan: session.plan, containers: session.containers, programs: ExecutableState.load(session.project.state))
      if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        console.output(String(decoding: try encoder.encode(rows), as: UTF8.self))
        return
      }
      var table = [["NAME", "TYPE", "STATE", "HEALTH", "ENDPOINT", "PID", "NOTE"]]
      for row in rows {
        table.append([
          row.name, row.type + (row.role.map { " (\($0))" } ?? ""), row.state, row.health ?? "",
          row.endpoint ?? row.url ?? "",
          row.pid.map(String.init) ?? "", row.note ?? "",
        ])
      }
      console.output(renderTable(table))
    }
  }
}

/// Columns padded to their widest cell; trailing spaces trimmed.
func renderTable(_ rows: [[String]]) -> String {
  let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
  return rows.map { row in
    row.enumerated().map { index, cell in
      index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
    }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
  }.joined(separator: "\n")
}
