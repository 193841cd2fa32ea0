import AppHostKit
import ArgumentParser
import Foundation

extension AppHost {
  struct Dashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "dashboard",
      abstract: "Print the address (with its login token) of the web dashboard a running up serves.",
      discussion: """
        `apphost up` (in the foreground, and the background part of `up -d` when it runs programs) serves \
        a dashboard on 127.0.0.1; this prints its address with this run's token. --open opens it in the \
        browser (xdg-open, or open on macOS).
        """)

    @OptionGroup var options: ManifestOptions

    @Flag(help: "Open it in the browser.")
    var open = false

    func run() async throws {
      let console = Console()
      let record = try reportingFailures(console) { () throws(AppHostError) -> DashboardRecord in
        let project = try Project.load(file: options.file)
        guard let record = DashboardProcess.running(project.state) else {
          throw .noDashboard(project: project.name)
        }
        return record
      }
      console.output(record.loginURL)
      guard open else { return }
      #if os(macOS)
        let opener = "open"
      #else
        let opener = "xdg-open"
      #endif
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = [opener, record.loginURL]
      process.standardInput = FileHandle.nullDevice
      process.standardOutput = FileHandle.nullDevice
      do {
        try process.run()
      } catch {
        console.error("apphost: cannot run \(opener): \(error)")
        throw ExitCode(1)
      }
    }
  }
}
