import Foundation

/// Every failure apphost reports, grouped by concern. Each message names the value at fault and what
/// to do about it; the command line maps `kind` to an exit code.
package enum AppHostError: Error, Sendable, LocalizedError {
  // The manifest
  case manifestNotFound(path: String, asGiven: String)
  case manifestUnreadable(path: String, reason: String)
  case invalidManifest(file: String, diagnostics: [Diagnostic])
  case manifestExists(path: String)

  // Resolving the plan
  case missingEnvironmentVariable(variable: String, path: JSONPath, file: String)
  case invalidEnvironmentValue(variable: String, path: JSONPath, file: String, reason: String)
  case unknownResource(name: String, known: [String])
  case invalidEngineVariable(value: String)

  // The container engine
  case engineNotInstalled(requested: EngineFlavor?)
  /// The native engine cannot find a cache's server program.
  case nativeServerMissing(resource: String, server: ServerKind, command: String)
  case engineUnreachable(flavor: EngineFlavor, reason: String)
  case noEngineAnswers(reasons: [String])
  case engineFailed(command: String, reason: String)
  case engineOutput(command: String, reason: String)
  case portInUse(port: Int?, resource: String, reason: String)
  /// A cluster node's port, chosen by apphost and remembered, is taken by something else.
  case clusterPortInUse(port: Int, node: String, memory: String)
  case imageUnavailable(image: String, resource: String, flavor: EngineFlavor, reason: String)
  case containerNameTaken(name: String, resource: String, ownerDirectory: String?)

  // Running the project
  case projectBusy(pid: Int32, lockFile: String)
  case startFailed([ResourceFailure])
  case notRunning(resources: [String])
  case commandNotFound(resource: String, command: String)
  case cacheUnreachable(address: String, reason: String)
  case cacheRefused(address: String, reason: String)
  case notACache(name: String, reason: String)
  case cannotStart(resource: String, command: String, reason: String)
  case cancelled

  // State kept in .apphost/
  case stateUnwritable(path: String, reason: String)
  case stateCorrupt(path: String, reason: String)

  // The control socket of a running `up` (`restart`, `stop`, `start`, `events`, ...)
  /// No `up` runs for the project (no one listens on its control socket).
  case noSession(socket: String)
  /// `apphost dashboard`: no running up serves one for the project.
  case noDashboard(project: String)
  /// The running `up` answered with an error, or the conversation with it broke.
  case controlFailed(reason: String)
  // apphost publish
  /// A value the published files cannot carry as it is (a password an env_file would misread).
  case cannotPublish(resource: String, reason: String)

  package enum Kind: Sendable {
    /// Invalid input the user wrote: exit 65.
    case invalidManifest
    /// Wrong use of the command line: exit 64.
    case usage
    /// No container engine: exit 69.
    case engineUnavailable
    /// Anything that went wrong while doing the work: exit 1.
    case runtime
  }

  package var kind: Kind {
    switch self {
    case .manifestNotFound, .invalidManifest, .missingEnvironmentVariable, .invalidEnvironmentValue:
      .invalidManifest
    case .unknownResource, .invalidEngineVariable, .notACache:
      .usage
    case .engineNotInstalled, .engineUnreachable, .noEngineAnswers, .nativeServerMissing:
      .engineUnavailable
    case .manifestUnreadable, .manifestExists, .stateUnwritable, .stateCorrupt, .engineFailed, .engineOutput,
      .portInUse, .clusterPortInUse, .imageUnavailable, .containerNameTaken, .projectBusy, .startFailed, .notRunning,
      .cancelled,
      .commandNotFound, .cannotStart, .cacheUnreachable, .cacheRefused, .cannotPublish, .noSession, .noDashboard,
      .controlFailed:
      .runtime
    }
  }

  package var errorDescription: String? {
    switch self {
    case .manifestNotFound(let path, let asGiven):
      return asGiven == "apphost.json" || asGiven == "./apphost.json"
        ? "no apphost.json in \((path as NSString).deletingLastPathComponent); run `apphost init` to create one, "
          + "or pass -f PATH"
        : "the manifest \(asGiven) (\(path)) does not exist; check the path given with -f"
    case .manifestUnreadable(let path, let reason):
      return "cannot read \(path): \(reason)"
    case .invalidManifest(let file, let diagnostics):
      let errors = diagnostics.filter { $0.severity == .error }.count
      let lines = diagnostics.map { $0.rendered(file: file) }
      return (lines + ["\(file): \(errors) error\(errors == 1 ? "" : "s"); nothing was started"])
        .joined(separator: "\n")
    case .manifestExists(let path):
      return "\(path) already exists; apphost init does not overwrite it (remove it, or run init in another folder)"
    case .missingEnvironmentVariable(let variable, let path, let file):
      return "\(file): \(path): the environment variable \(variable) is not set; export \(variable)=... before "
        + "running apphost, or write the value into the manifest"
    case .invalidEnvironmentValue(let variable, let path, let file, let reason):
      return "\(file): \(path): the value of the environment variable \(variable) \(reason)"
    case .unknownResource(let name, let known):
      return "there is no resource \(quoted(name)) in the manifest\(didYouMean(name, among: known)); the resources are "
        + (known.isEmpty ? "(none)" : listing(known, conjunction: "and"))
    case .invalidEngineVariable(let value):
      return "APPHOST_ENGINE is \(quoted(value)); set it to docker, podman or native, or unset it to use the "
        + "first engine that answers"
    case .engineNotInstalled(let requested):
      if let requested {
        return "\(requested.rawValue) is not installed (or not on PATH); install it (\(installHint(requested))), "
          + "or choose the other engine with --engine or APPHOST_ENGINE"
      }
      return "no container engine found: apphost needs docker or podman on PATH. Install one "
        + "(\(installHint(.docker)), or \(installHint(.podman))) and start it"
    case .nativeServerMissing(let resource, let server, let command):
      return "\(resource): the native engine needs \(command), which is "
        + (command.contains("/") ? "not an executable file" : "not on PATH")
        + "; install it (\(nativeInstallHint(server))), set \"nativeCommand\" to the server's path, or run the "
        + "caches in containers with --engine docker or --engine podman"
    case .engineUnreachable(let flavor, let reason):
      return "\(flavor.rawValue) does not answer: \(reason)\n\(startHint(flavor))"
    case .noEngineAnswers(let reasons):
      return "no container engine answers:\n" + reasons.map { "  \($0)" }.joined(separator: "\n")
        + "\n\(startHint(.docker)); or use podman (--engine podman)"
    case .engineFailed(let command, let reason):
      return "\(command) failed: \(reason)"
    case .engineOutput(let command, let reason):
      return "could not read what \(command) printed: \(reason)"
    case .portInUse(let port, let resource, let reason):
      if let port {
        return "port \(port) on 127.0.0.1 is already in use, so \(resource) cannot publish it. Stop what uses it "
          + "(`ss -ltnp 'sport = :\(port)'` shows it), or change resources.\(resource).hostPort (or leave it out "
          + "to let the engine pick a free port)" + (reason.isEmpty ? "" : "\n  engine: \(reason)")
      }
      return "\(resource): the engine could not publish its port: \(reason)"
    case .clusterPortInUse(let port, let node, let memory):
      return "port \(port) on 127.0.0.1 is already in use, so \(node) cannot listen on it (apphost chose the port "
        + "when it first planned it: a cluster node, or a server sentinels watch, listens on the port clients reach "
        + "it at, and a UI showing them reaches it and its other caches at theirs). Stop "
        + "what uses it (`ss -ltnp 'sport = :\(port)'` shows it), or remove \"\(node)\" from \(memory) so that the "
        + "next `up` chooses another (the node's container is made again; its volume and data stay)"
    case .imageUnavailable(let image, let resource, let flavor, let reason):
      return "the image \(image) is not on this machine and could not be pulled:\n  "
        + reason.replacingOccurrences(of: "\n", with: "\n  ") + "\n"
        + "Check resources.\(resource).image and tag, pull it yourself (`\(flavor.rawValue) pull \(image)`), or set "
        + "APPHOST_IMAGE_REGISTRY to a registry mirror you can reach"
    case .containerNameTaken(let name, let resource, let ownerDirectory):
      let owner = ownerDirectory.map { "the apphost project in \($0)" } ?? "something other than apphost"
      return "\(resource): a container named \(name) already exists and belongs to \(owner). Give this project "
        + "another \"name\" in apphost.json, or remove that container (`docker rm -f \(name)`) if it is not needed"
    case .projectBusy(let pid, let lockFile):
      return "another apphost up (pid \(pid)) is running for this project; stop it first (Ctrl-C in its terminal, "
        + "or `apphost down`). Lock: \(lockFile)"
    case .startFailed(let failures):
      // A timeout may only mean a slow or busy machine: the remedy then is more time.
      let timedOut = failures.contains { $0.reason.contains("in time") }
      return failures.map(\.description).joined(separator: "\n")
        + "\nEverything this run started was removed; fix the cause and run apphost up again"
        + (timedOut
          ? " (if it only needs longer, as on a slow or busy machine, with a longer --timeout, e.g. --timeout 180)."
          : ".")
    case .notRunning(let resources):
      return "\(listing(resources, conjunction: "and")) \(resources.count == 1 ? "is" : "are") not running; start "
        + "\(resources.count == 1 ? "it" : "them") with `apphost up -d`"
    case .commandNotFound(let resource, let command):
      return "resources.\(resource).command: \(quoted(command)) is not on PATH; install it, give its full path, or "
        + "a path relative to apphost.json"
    case .cacheUnreachable(let address, let reason):
      return "cannot talk to \(address): \(reason)"
    case .cacheRefused(let address, let reason):
      return "\(address) refused the password: \(reason)"
    case .notACache(let name, let reason):
      return "\(name) \(reason)"
    case .cannotStart(let resource, let command, let reason):
      return "\(resource): \(command) could not be started: \(reason)"
    case .cancelled:
      return "stopped before it finished"
    case .stateUnwritable(let path, let reason):
      return "cannot write \(path): \(reason); check that the project folder is writable"
    case .stateCorrupt(let path, let reason):
      return "\(path) is damaged (\(reason)); move it away and run again (generated passwords will change)"
    case .noDashboard(let project):
      return "no dashboard is running for \(project): `apphost up` serves one (unless --no-dashboard), and "
        + "`apphost up -d` does while it runs programs"
    case .noSession(let socket):
      return "no apphost up is running for this project (nothing listens on \(socket)); start it with "
        + "`apphost up` or `apphost up -d`"
    case .controlFailed(let reason):
      return reason
    case .cannotPublish(let resource, let reason):
      return "cannot publish \(resource): \(reason)"
    }
  }
}

/// Why a resource did not start, with the end of its log.
package struct ResourceFailure: Error, Sendable, Equatable, CustomStringConvertible {
  package var resource: String
  package var reason: String
  package var logTail: [String]

  package init(resource: String, reason: String, logTail: [String] = []) {
    self.resource = resource
    self.reason = reason
    self.logTail = logTail
  }

  package var description: String {
    var text = "\(resource) did not start: \(reason)"
    if !logTail.isEmpty {
      text += "\n  last lines of its log:\n" + logTail.map { "    \($0)" }.joined(separator: "\n")
    }
    return text
  }
}

private func nativeInstallHint(_ server: ServerKind) -> String {
  switch server {
  case .redis: "Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`"
  case .valkey: "Debian 13+/Ubuntu 24.04+: `apt-get install valkey-server`; macOS: `brew install valkey`"
  case .garnet: "`dotnet tool install --global garnet-server`, which needs the .NET SDK"
  }
}

private func installHint(_ flavor: EngineFlavor) -> String {
  switch flavor {
  case .docker: "https://docs.docker.com/engine/install/, or `apt-get install docker.io`"
  case .podman: "`apt-get install podman` or `dnf install podman`"
  case .native: "redis-server on PATH: `apt-get install redis-server` or `brew install redis`"
  }
}

private func startHint(_ flavor: EngineFlavor) -> String {
  switch flavor {
  case .docker:
    "Start the docker daemon (`sudo systemctl start docker`, or open Docker Desktop) and check that you may use it "
      + "(`docker ps`; on Linux, membership of the docker group)"
  case .podman: "Check that `podman ps` works for your user"
  case .native: "Check that the cache servers start by hand"
  }
}
