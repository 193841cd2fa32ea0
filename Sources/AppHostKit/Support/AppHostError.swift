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

  // State kept in .apphost/
  case stateUnwritable(path: String, reason: String)
  case stateCorrupt(path: String, reason: String)

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
    case .unknownResource, .invalidEngineVariable:
      .usage
    case .manifestUnreadable, .manifestExists, .stateUnwritable, .stateCorrupt:
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
      return "APPHOST_ENGINE is \(quoted(value)); set it to docker or podman, or unset it to use the first "
        + "engine that answers"
    case .stateUnwritable(let path, let reason):
      return "cannot write \(path): \(reason); check that the project folder is writable"
    case .stateCorrupt(let path, let reason):
      return "\(path) is damaged (\(reason)); move it away and run again (generated passwords will change)"
    }
  }
}
