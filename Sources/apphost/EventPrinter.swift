import AppHostKit
import Foundation

/// Shows the orchestration's events as `name | message` lines.
struct EventPrinter: Sendable {
  var console: Console
  var width: Int
  /// Each name's colour, in the order the names come: up to ten resources never share one (a hash of the
  /// name could give two the same).
  var colours: [String: String]

  init(console: Console, names: [String]) {
    self.console = console
    self.width = names.map(\.count).max() ?? 0
    var colours: [String: String] = [:]
    for name in names where colours[name] == nil {
      colours[name] = Console.palette[colours.count % Console.palette.count]
    }
    self.colours = colours
  }

  func line(_ name: String, _ message: String) {
    console.output(console.prefix(name, width: width, colour: colours[name]) + message)
  }

  func callAsFunction(_ event: RunEvent) {
    switch event {
    case .connected(let flavor, let project):
      console.output("apphost: project \(project), engine \(flavor.rawValue)")
    case .removingLeftover(let resource, let container, let owner):
      line(resource, "removing \(container), left over from an apphost up that is gone (\(owner))")
    case .removingStale(let resource, let container):
      line(resource, "removing \(container): no longer in apphost.json")
    case .creating(let resource, let image):
      line(resource, "creating (\(image))")
    case .pulling(let resource, let image):
      line(resource, "pulling \(image)")
    case .pullProgress(let resource, let text):
      line(resource, text)
    case .pulled(let resource, let image, let seconds):
      line(resource, "pulled \(image) (\(String(format: "%.1f", seconds)) s)")
    case .seed(let resource, let message), .cluster(let resource, let message):
      line(resource, message)
    case .recreating(let resource, let reason):
      line(resource, "recreating: \(reason)")
    case .starting(let resource):
      line(resource, "starting the stopped container")
    case .unchanged(let resource):
      line(resource, "unchanged, running")
    case .saving(let resource):
      line(resource, "saving data before stopping")
    case .saveFailed(let resource, let reason):
      line(resource, console.paint("could not ask it to save (\(reason)); stopping it gracefully instead", "33"))
    case .ready(let resource, let address, let seconds):
      line(resource, "ready at \(address) (\(String(format: "%.2f", seconds)) s)")
    case .failed(let failure):
      line(failure.resource, console.paint("failed: \(failure.reason)", "31"))
    case .removed(let resource, let container):
      line(resource, "removed \(container)")
    case .removedNetwork(let name):
      console.output("apphost: removed network \(name)")
    case .removedVolume(let name):
      console.output("apphost: removed volume \(name)")
    case .log(let resource, let text):
      line(resource, text)
    case .logLines(let resource, let lines):
      // One write for the whole batch: fast writers are not slowed down line by line, and the lines
      // stay together.
      let prefix = console.prefix(resource, width: width, colour: colours[resource])
      console.output(lines.map { prefix + $0 }.joined(separator: "\n"))
    case .started(let resource, let pid):
      line(resource, "started (pid \(pid))")
    case .exited(let resource, let code):
      line(resource, code == 0 ? "exited (code 0)" : console.paint("exited with code \(code)", "31"))
    case .restarting(let resource, let after):
      line(resource, "restarting in \(String(format: "%g", after)) s")
    case .stopping(let resource):
      line(resource, "stopping")
    case .stopped(let resource, let code):
      line(resource, "stopped" + (code.map { " (code \($0))" } ?? ""))
    case .note(let text):
      console.output("apphost: \(text)")
    }
  }
}
