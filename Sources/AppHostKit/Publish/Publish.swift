import Foundation

/// What `apphost publish` writes: files (name relative to the output folder, text, whether it holds
/// secrets) for docker compose or Kubernetes, made from the same plan `apphost up` runs.
package struct PublishedFile: Sendable, Equatable {
  package var name: String
  package var text: String
  /// Written with mode 0600 and listed in the output's .gitignore.
  package var secret: Bool

  package init(name: String, text: String, secret: Bool = false) {
    self.name = name
    self.text = text
    self.secret = secret
  }
}

package enum PublishTarget: String, Sendable, CaseIterable {
  case compose, kubernetes
}

/// The secrets of a plan, each given a variable name: the caches' passwords (`CACHE_PASSWORD`, or the
/// user's own variable for `{"env": "VAR"}`), and passwords inside connection strings. A password that
/// URIs carry percent-encoded (`p@ss` as `p%40ss`) has that form as a second secret,
/// `CACHE_PASSWORD_URLENCODED`: neither compose nor Kubernetes can encode a value they substitute.
package struct PublishedSecrets: Sendable {
  package struct Secret: Sendable, Equatable {
    package var variable: String
    package var resource: String
    package var value: String
    /// True when the manifest reads it from the environment: compose then reads the same variable.
    package var fromEnvironment: Bool
    /// The variable this one is the percent-encoded form of.
    package var encodes: String?

    /// The key in the resource's Kubernetes Secret: `password`, or `password-urlencoded`.
    package var key: String { encodes == nil ? "password" : "password-urlencoded" }
  }

  package var all: [Secret] = []

  package init(plan: Plan, manifest: Manifest) {
    for endpoint in plan.endpoints {
      guard let value = endpoint.password?.revealed() else { continue }
      var variable = "\(ConnectionEnvironment.environmentName(endpoint.resource))_PASSWORD"
      var fromEnvironment = false
      if case .given(.environment(let name)) = manifest[endpoint.resource]?.cache?.password {
        variable = name
        fromEnvironment = true
      }
      guard !all.contains(where: { $0.value == value }) else { continue }
      all.append(
        Secret(variable: variable, resource: endpoint.resource, value: value, fromEnvironment: fromEnvironment))
      let encoded = percentEncodedUserInfo(value)
      if encoded != value, !all.contains(where: { $0.value == encoded }) {
        all.append(
          Secret(
            variable: variable + "_URLENCODED", resource: endpoint.resource, value: encoded,
            fromEnvironment: fromEnvironment, encodes: variable))
      }
    }
  }

  package func variable(for value: String) -> Secret? {
    all.first { $0.value == value }
  }
}

extension Plan {
  /// How the caches are reached from inside the project's network (compose, Kubernetes): at their
  /// name, port 6379. Connection strings stay as they are.
  package var networkEndpoints: [Endpoint] {
    endpoints.map { endpoint in
      guard endpoint.isManaged else { return endpoint }
      var inside = endpoint
      inside.host = endpoint.resource
      inside.port = .text(String(Planner.cachePort))
      inside.connectionString = .text("\(endpoint.resource):\(Planner.cachePort)")
      if let password = endpoint.password {
        inside.connectionString = inside.connectionString + ",password=" + password
      }
      return inside
    }
  }
}

package enum Publisher {
  package static func files(_ target: PublishTarget, plan: Plan, manifest: Manifest, outputDirectory: String)
    -> [PublishedFile]
  {
    let secrets = PublishedSecrets(plan: plan, manifest: manifest)
    var files: [PublishedFile]
    switch target {
    case .compose:
      files = ComposeWriter(plan: plan, manifest: manifest, secrets: secrets, outputDirectory: outputDirectory).files()
    case .kubernetes:
      files = KubernetesWriter(plan: plan, manifest: manifest, secrets: secrets).files()
    }
    let ignored = files.filter(\.secret).map(\.name)
    if !ignored.isEmpty {
      files.append(
        PublishedFile(
          name: ".gitignore",
          text: "# Written by apphost publish: these files hold passwords.\n" + ignored.joined(separator: "\n") + "\n"))
    }
    return files
  }

  /// Writes the files into `directory` (created if needed), secret ones with mode 0600.
  package static func write(_ files: [PublishedFile], to directory: String) throws(AppHostError) {
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw .stateUnwritable(path: directory, reason: "the folder cannot be created")
    }
    for file in files {
      let path = (directory as NSString).appendingPathComponent(file.name)
      try writeFileAtomically(path, contents: Array(file.text.utf8), mode: file.secret ? 0o600 : 0o644)
    }
  }
}

/// A path as seen from `base`: relative when both share a parent folder, else absolute.
package func relativePath(_ path: String, from base: String) -> String {
  let target = path.split(separator: "/")
  let origin = base.split(separator: "/")
  var common = 0
  while common < min(target.count, origin.count) && target[common] == origin[common] { common += 1 }
  if common == 0 { return path }
  let up = Array(repeating: "..", count: origin.count - common)
  let rest = target[common...].map(String.init)
  let parts = up + rest
  return parts.isEmpty ? "." : (parts.first == ".." ? "" : "./") + parts.joined(separator: "/")
}
