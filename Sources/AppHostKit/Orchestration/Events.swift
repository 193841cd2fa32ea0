/// What the orchestration reports while it works; the command line decides how to show it.
package enum RunEvent: Sendable {
  case connected(EngineFlavor, project: String)
  case removingLeftover(resource: String, container: String, owner: String)
  case removingStale(resource: String, container: String)
  case creating(resource: String, image: String)
  /// An image is being pulled (`apphost pull`, or `up` for one not on this machine).
  case pulling(resource: String, image: String)
  /// A line of the engine's pull progress.
  case pullProgress(resource: String, line: String)
  case pulled(resource: String, image: String, seconds: Double)
  /// What seeding a cache did (seeded, or not because it holds data).
  case seed(resource: String, message: String)
  /// A step of forming a cluster (`"cluster"`), and the cluster ready.
  case cluster(resource: String, message: String)
  case recreating(resource: String, reason: String)
  case starting(resource: String)
  case unchanged(resource: String)
  case saving(resource: String)
  case saveFailed(resource: String, reason: String)
  case ready(resource: String, address: String, seconds: Double)
  case failed(ResourceFailure)
  case removed(resource: String, container: String)
  case removedNetwork(String)
  case removedVolume(String)
  /// A line of a resource's output.
  case log(resource: String, line: String)
  /// Lines of a program's output, in the order it wrote them.
  case logLines(resource: String, lines: [String])
  case started(resource: String, pid: Int32)
  case exited(resource: String, code: Int32)
  case restarting(resource: String, after: Double)
  case stopping(resource: String)
  /// A program's process ended because it was asked to (`stop`, `restart`, the end of `up`), with its exit
  /// status; a container stopped through the control socket (no code).
  case stopped(resource: String, code: Int32?)
  case note(String)
}

package typealias EventSink = @Sendable (RunEvent) -> Void
