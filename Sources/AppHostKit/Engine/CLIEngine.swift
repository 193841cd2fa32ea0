import Foundation
import Subprocess

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

/// `ContainerEngine` by running the `docker` or `podman` command line.
package struct CLIEngine: ContainerEngine {
  package let flavor: EngineFlavor
  /// The absolute path of the CLI.
  package let program: String
  /// `APPHOST_ENGINE_OWNER` for the commands it runs: if apphost is killed while one is in flight, the
  /// next `up` or `down` waits for it to finish before looking at the project (see `OrphanScan`).
  package var ownerMark: String?

  /// The mark, and no program mark an apphost running this one as a program gave it: the daemons an
  /// engine command starts must not look like programs of anyone.
  var markEnvironment: [Environment.Key: String?] {
    var updates: [Environment.Key: String?] = [Environment.Key(stringLiteral: OrphanScan.variable): nil]
    if let ownerMark { updates[Environment.Key(stringLiteral: OrphanScan.engineVariable)] = ownerMark }
    return updates
  }

  package init(flavor: EngineFlavor, program: String, ownerMark: String? = nil) {
    self.flavor = flavor
    self.program = program
    self.ownerMark = ownerMark
  }

  package struct Output: Sendable {
    package var status: Int32
    package var output: String
    package var errors: String
    package var succeeded: Bool { status == 0 }
  }

  /// Runs the CLI with `arguments`; `environment` is added to apphost's own (secrets passed by name).
  package func invoke(_ arguments: [String], environment: [String: String] = [:]) async throws(AppHostError)
    -> Output
  {
    var updates = markEnvironment
    for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
    let began = ContinuousClock.now
    // Secrets are passed by name only (`--env NAME`), so the argument list is safe to print.
    defer {
      Log.debug(
        "\(shellCommandLine([flavor.rawValue] + arguments)) (\(String(format: "%.3f", (ContinuousClock.now - began).seconds)) s)"
          + (environment.isEmpty ? "" : "; secrets by name: \(environment.keys.sorted().joined(separator: ", "))"))
    }
    do {
      return try checked(try await Self.run(program: program, arguments: arguments, environment: updates))
    } catch let error as AppHostError {
      throw error
    } catch is CancellationError {
      throw .cancelled
    } catch {
      if Task.isCancelled { throw .cancelled }
      throw .engineUnreachable(flavor: flavor, reason: "\(program) could not be run: \(error)")
    }
  }

  private static func run(program: String, arguments: [String], environment: [Environment.Key: String?])
    async throws -> Output
  {
    let result = try await Subprocess.run(
      .path(FilePath(program)), arguments: Arguments(arguments), environment: .inherit.updating(environment),
      platformOptions: ownProcessGroup, output: .string(limit: 64 << 20), error: .string(limit: 1 << 20))
    switch result.terminationStatus {
    case .exited(let code): return Output(status: code, output: result.standardOutput, errors: result.standardError)
    case .signaled(let signal):
      return Output(status: 128 + signal, output: result.standardOutput, errors: result.standardError)
    }
  }

  /// What a command's output says about the engine.
  private func checked(_ output: Output) throws(AppHostError) -> Output {
    // A command stopped because its task was cancelled tells nothing about the engine.
    if !output.succeeded && Task.isCancelled { throw AppHostError.cancelled }
    if !output.succeeded && EngineCommands.isUnavailable(output.errors) {
      throw AppHostError.engineUnreachable(flavor: flavor, reason: EngineCommands.essentialError(output.errors))
    }
    return output
  }

  /// Engine commands run in a process group of their own: a Ctrl-C at the terminal reaches apphost,
  /// which then decides what to stop, and never kills a `docker rm` halfway through the cleanup.
  private static var ownProcessGroup: PlatformOptions {
    var options = PlatformOptions()
    options.processGroupID = 0
    return options
  }

  /// Runs and requires success.
  @discardableResult
  private func succeed(_ arguments: [String], environment: [String: String] = [:]) async throws(AppHostError)
    -> Output
  {
    let output = try await invoke(arguments, environment: environment)
    guard output.succeeded else { throw failure(arguments, output) }
    return output
  }

  /// Runs and requires success, except that objects already gone are fine (removing, inspecting).
  @discardableResult
  private func succeedUnlessMissing(_ arguments: [String]) async throws(AppHostError) -> Output {
    let output = try await invoke(arguments)
    guard output.succeeded || EngineCommands.isNoSuchObject(output.errors) else {
      throw failure(arguments, output)
    }
    return output
  }

  private func failure(_ arguments: [String], _ output: Output) -> AppHostError {
    .engineFailed(
      command: "\(flavor.rawValue) \(arguments.prefix(2).joined(separator: " "))",
      reason: EngineCommands.essentialError(output.errors))
  }

  private func lines(_ text: String) -> [String] {
    text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
  }

  package func isRootless() async throws(AppHostError) -> Bool {
    EngineCommands.parseRootless(flavor, try await succeed(EngineCommands.rootless(flavor)).output)
  }

  package func containers(project: String) async throws(AppHostError) -> [ContainerRecord] {
    let arguments = EngineCommands.listContainers(flavor, project: project)
    var output: Output
    if let started = await ListingPrefetch.take(program: program, arguments: arguments) {
      Log.debug("\(shellCommandLine([flavor.rawValue] + arguments)) (started with apphost)")
      output = try checked(started)
      guard output.succeeded else { throw failure(arguments, output) }
    } else {
      output = try await succeed(arguments)
    }
    return try EngineCommands.parseList(flavor, output.output)
  }

  package func inspect(_ names: [String]) async throws(AppHostError) -> [ContainerRecord] {
    guard !names.isEmpty else { return [] }
    // Missing names make the command fail but it still prints the others.
    return try EngineCommands.parseInspect(try await succeedUnlessMissing(EngineCommands.inspect(names)).output)
  }

  package func createNetwork(_ network: NetworkPlan) async throws(AppHostError) -> Bool {
    // Podman 4 can fail a network creation that races with another project's network removal
    // ("route ip+net: no such network interface"); a second try succeeds.
    var attempt = 1
    while true {
      do {
        return try await create(network.createArguments())
      } catch .engineFailed where attempt < 3 {
        attempt += 1
        Log.debug("creating the network \(network.name) failed; trying again (attempt \(attempt))")
        try? await Task.sleep(for: .milliseconds(100 * attempt))
      }
    }
  }

  package func createVolume(_ volume: VolumePlan) async throws(AppHostError) -> Bool {
    try await create(volume.createArguments())
  }

  /// `network create` / `volume create`: "already exists" is fine (docker says nothing for volumes).
  private func create(_ arguments: [String]) async throws(AppHostError) -> Bool {
    let output = try await invoke(arguments)
    if output.succeeded { return true }
    if EngineCommands.isAlreadyExists(output.errors) { return false }
    throw failure(arguments, output)
  }

  package func networks(project: String, directory: String) async throws(AppHostError) -> [String] {
    lines(try await succeed(EngineCommands.listNetworks(project: project, directory: directory)).output)
  }

  package func removeNetworks(_ names: [String]) async throws(AppHostError) {
    guard !names.isEmpty else { return }
    try await succeedUnlessMissing(["network", "rm"] + names)
  }

  package func volumes(project: String, directory: String) async throws(AppHostError) -> [String] {
    lines(try await succeed(EngineCommands.listVolumes(project: project, directory: directory)).output)
  }

  package func removeVolumes(_ names: [String]) async throws(AppHostError) {
    guard !names.isEmpty else { return }
    try await succeedUnlessMissing(["volume", "rm"] + names)
  }

  package func run(_ container: ContainerPlan, owner: Owner?, detached: Bool) async throws(AppHostError) {
    let arguments = container.runArguments(flavor: flavor, owner: owner, detached: detached)
    let output = try await invoke(arguments, environment: container.engineEnvironment)
    guard !output.succeeded else { return }
    let reason = EngineCommands.essentialError(output.errors)
    if EngineCommands.portInUse(reason) {
      throw .portInUse(port: container.hostPort, resource: container.resource, reason: reason)
    }
    if EngineCommands.imageUnavailable(reason) {
      throw .imageUnavailable(image: container.image, resource: container.resource, flavor: flavor, reason: reason)
    }
    throw .engineFailed(command: "\(flavor.rawValue) run (\(container.resource))", reason: reason)
  }

  package func connect(_ container: String, to network: String, alias: String) async throws(AppHostError) {
    let arguments = EngineCommands.connect(container, to: network, alias: alias)
    let output = try await invoke(arguments)
    // Already attached is fine.
    guard output.succeeded || output.errors.lowercased().contains("already") else { throw failure(arguments, output) }
  }

  package func start(_ name: String) async throws(AppHostError) {
    try await succeed(["start", name])
  }

  package func stop(_ name: String, grace: Duration) async throws(AppHostError) {
    try await succeed(EngineCommands.stop([name], grace: grace))
  }

  package func hostPort(_ name: String, containerPort: Int) async throws(AppHostError) -> Int {
    let output = try await succeed(EngineCommands.port(name, containerPort: containerPort))
    guard let port = EngineCommands.parsePort(output.output) else {
      throw .engineOutput(command: "\(flavor.rawValue) port \(name)", reason: "no port in \(quoted(output.output))")
    }
    return port
  }

  package func remove(_ names: [String], grace: Duration?) async throws(AppHostError) {
    guard !names.isEmpty else { return }
    if let grace {
      // Errors are fine here: `rm --force` below is what must succeed.
      _ = try await invoke(EngineCommands.stop(names, grace: grace))
    }
    try await succeedUnlessMissing(EngineCommands.remove(names))
  }

  package func logs(_ name: String, tail: Int?, since: Date?, timestamps: Bool) async throws(AppHostError)
    -> [String]
  {
    let output = try await invoke(
      EngineCommands.logs(name, tail: tail, follow: false, since: since, timestamps: timestamps))
    return lines(output.output + output.errors)
  }

  package func followLogs(
    _ name: String, tail: Int?, since: Date?, timestamps: Bool, onLine: @escaping @Sendable (String) -> Void
  ) async throws(AppHostError) {
    let arguments = EngineCommands.logs(name, tail: tail, follow: true, since: since, timestamps: timestamps)
    Log.debug(
      "\(shellCommandLine([flavor.rawValue] + arguments)) (streaming)")
    do {
      _ = try await Subprocess.run(
        .path(FilePath(program)), arguments: Arguments(arguments),
        environment: .inherit.updating(markEnvironment),
        platformOptions: Self.ownProcessGroup, input: .none, output: .sequence, error: .sequence
      ) { execution in
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask {
            for try await line in execution.standardOutput.strings() { onLine(line) }
          }
          group.addTask {
            for try await line in execution.standardError.strings() { onLine(line) }
          }
          try await group.waitForAll()
        }
      }
    } catch {
      if Task.isCancelled { return }
      throw .engineFailed(command: "\(flavor.rawValue) logs --follow \(name)", reason: "\(error)")
    }
  }

  package func hasImage(_ image: String) async throws(AppHostError) -> Bool {
    let output = try await invoke(EngineCommands.imageInspect(image))
    if output.succeeded { return true }
    if EngineCommands.isNoSuchObject(output.errors) || EngineCommands.imageUnavailable(output.errors) { return false }
    throw failure(EngineCommands.imageInspect(image), output)
  }

  /// `docker pull` / `podman pull`, its output (stdout and stderr: podman writes its progress there)
  /// streamed line by line; the last lines of its errors make the message when it fails.
  package func pull(_ image: String, resource: String, progress: @escaping @Sendable (String) -> Void)
    async throws(AppHostError)
  {
    let arguments = EngineCommands.pull(image)
    let began = ContinuousClock.now
    let errors = PullErrors()
    let status: TerminationStatus
    do {
      status = try await Subprocess.run(
        .path(FilePath(program)), arguments: Arguments(arguments), environment: .inherit.updating(markEnvironment),
        platformOptions: Self.ownProcessGroup, input: .none, output: .sequence, error: .sequence
      ) { execution in
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask {
            for try await line in execution.standardOutput.strings() { progress(Self.trimmed(line)) }
          }
          group.addTask {
            for try await line in execution.standardError.strings() {
              errors.append(Self.trimmed(line))
              progress(Self.trimmed(line))
            }
          }
          try await group.waitForAll()
        }
      }.terminationStatus
    } catch {
      if Task.isCancelled { throw .cancelled }
      throw .engineUnreachable(flavor: flavor, reason: "\(program) could not be run: \(error)")
    }
    Log.debug(
      "\(shellCommandLine([flavor.rawValue] + arguments)) (\(String(format: "%.3f", (ContinuousClock.now - began).seconds)) s)"
    )
    if case .exited(0) = status { return }
    if Task.isCancelled { throw .cancelled }
    // Podman writes its progress to stderr too: the lines that say what went wrong, when some do.
    let essential = EngineCommands.essentialError(errors.text)
    let failing = essential.split(separator: "\n").filter { $0.lowercased().contains("error") }
    let reason = failing.isEmpty ? essential : failing.joined(separator: "\n")
    if EngineCommands.isUnavailable(errors.text) { throw .engineUnreachable(flavor: flavor, reason: reason) }
    throw .imageUnavailable(image: image, resource: resource, flavor: flavor, reason: reason)
  }

  private static func trimmed(_ line: String) -> String {
    String(line.trimmingCharacters(in: .newlines))
  }
}

/// The error lines of a pull, kept for its failure message.
private final class PullErrors: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []

  func append(_ line: String) {
    lock.withLock {
      lines.append(line)
      if lines.count > 40 { lines.removeFirst() }
    }
  }

  var text: String { lock.withLock { lines.joined(separator: "\n") } }
}
