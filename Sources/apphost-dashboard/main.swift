import AppHostKit
import FlyingFox
import FlyingSocks
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

// apphost-dashboard --file apphost.json --engine docker --port 18888, the token in APPHOST_DASHBOARD_TOKEN:
// started by `up` (and by the background supervisor of `up -d`); ends when the control socket hangs up.

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("apphost-dashboard: \(message)\n".utf8))
  exit(1)
}

var file = "apphost.json"
var engineFlag: EngineFlavor?
var port: UInt16 = 18888
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
  switch argument {
  case "--file": file = arguments.popFirst() ?? file
  case "--engine": engineFlag = arguments.popFirst().flatMap { EngineFlavor(rawValue: $0) }
  case "--port": port = arguments.popFirst().flatMap { UInt16($0) } ?? port
  default: fail("unknown argument \(argument)")
  }
}
guard let token = ProcessInfo.processInfo.environment[DashboardAccess.tokenVariable], token.count == 64 else {
  fail("\(DashboardAccess.tokenVariable) must hold the token of this run (64 hex digits)")
}
signal(SIGPIPE, SIG_IGN)
// The `up` (or background supervisor) that started this one: when it is gone before its control socket
// opened (killed while its resources started), there is nothing to wait for.
let owner = getppid()

let session: ProjectSession
do {
  session = try await ProjectSession.open(file: file, engine: engineFlag, notice: { _ in })
} catch {
  fail(error.errorDescription ?? "\(error)")
}

let hub = Hub()
let dashboard = Dashboard(session: session, hub: hub, token: token)
/// Serves on `port`, or (taken meanwhile, by another project's dashboard) on the next free one.
func listen(first: UInt16) async -> (HTTPServer, Task<Void, Never>, UInt16)? {
  var candidates = [first]
  for _ in 0..<5 {
    guard let candidate = candidates.popLast() else { break }
    let server = HTTPServer(
      address: try! sockaddr_in.inet(ip4: "127.0.0.1", port: candidate), timeout: 30, logger: .disabled,
      handler: ClosureHTTPHandler { request in await dashboard.handle(request) })
    let ended = OnceFlag()
    let serving = Task {
      do { try await server.run() } catch {}
      ended.set()
    }
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline && !ended.isSet {
      if await server.isListening { return (server, serving, candidate) }
      try? await Task.sleep(for: .milliseconds(5))
    }
    serving.cancel()
    candidates.append(UInt16(DashboardRecord.choosePort(session.project.state)))
  }
  return nil
}

guard let (server, serving, bound) = await listen(first: port) else {
  fail("cannot listen on 127.0.0.1:\(port) (nor on a free port after it)")
}
// The address `up` prints: what this process serves, with this run's token.
do {
  try DashboardRecord(port: Int(bound), token: token, pid: getpid()).save(session.project.state)
} catch {
  fail(error.errorDescription ?? "\(error)")
}
FileHandle.standardError.write(Data("apphost-dashboard: serving http://127.0.0.1:\(bound)/\n".utf8))

for terminating in [SIGTERM, SIGINT, SIGHUP] {
  signal(terminating, SIG_IGN)
  let source = DispatchSource.makeSignalSource(signal: terminating)
  source.setEventHandler { exit(0) }
  source.resume()
  signalSources.append(source)
}

// Until the control socket hangs up: the `up` it belongs to has ended.
await dashboard.run(ownerAlive: { getppid() == owner })
await hub.finishAll()
await server.stop(timeout: 1)
serving.cancel()
exit(0)
