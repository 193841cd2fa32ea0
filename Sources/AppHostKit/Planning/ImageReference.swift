/// A container image reference, normalised the way the engines read it: `redis` is
/// `docker.io/library/redis`, `bitnami/redis` is `docker.io/bitnami/redis`.
package struct ImageReference: Sendable, Hashable, CustomStringConvertible {
  package var registry: String
  package var repository: String
  package var tag: String?
  package var digest: String?

  package init(registry: String, repository: String, tag: String? = nil, digest: String? = nil) {
    self.registry = registry
    self.repository = repository
    self.tag = tag
    self.digest = digest
  }

  package static let defaultRegistry = "docker.io"

  package init(parsing text: String) {
    var rest = Substring(text)
    if let at = rest.firstIndex(of: "@") {
      digest = String(rest[rest.index(after: at)...])
      rest = rest[..<at]
    }
    if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
      tag = String(rest[rest.index(after: colon)...])
      rest = rest[..<colon]
    }
    let components = rest.split(separator: "/", omittingEmptySubsequences: false)
    if components.count > 1,
      let first = components.first, first.contains(".") || first.contains(":") || first == "localhost"
    {
      registry = String(first)
      repository = components.dropFirst().joined(separator: "/")
    } else {
      registry = Self.defaultRegistry
      repository = components.count == 1 ? "library/\(rest)" : String(rest)
    }
  }

  /// True when the text names a tag or digest (`redis:7`, `redis@sha256:...`).
  package static func hasTagOrDigest(_ text: String) -> Bool {
    let reference = ImageReference(parsing: text)
    return reference.tag != nil || reference.digest != nil
  }

  package var description: String {
    var text = "\(registry)/\(repository)"
    if let tag { text += ":\(tag)" }
    if let digest { text += "@\(digest)" }
    return text
  }

  /// `APPHOST_IMAGE_REGISTRY`: the same repository and tag from another registry (a mirror, or local
  /// test images such as `localhost/apphost-fixtures`).
  package func replacingRegistry(with registry: String) -> ImageReference {
    var copy = self
    var replacement = registry
    while replacement.hasSuffix("/") { replacement.removeLast() }
    copy.registry = replacement
    return copy
  }
}

extension ContainerKind {
  /// The images apphost runs unless the manifest says otherwise (docs/reference.md).
  package var defaultImage: ImageReference {
    switch self {
    case .redis: ImageReference(registry: "docker.io", repository: "library/redis", tag: "8.6")
    case .valkey: ImageReference(registry: "docker.io", repository: "valkey/valkey", tag: "9.0")
    case .garnet: ImageReference(registry: "ghcr.io", repository: "microsoft/garnet", tag: "1.0")
    case .redisinsight: ImageReference(registry: "docker.io", repository: "redis/redisinsight", tag: "3.0")
    case .rediscommander: ImageReference(registry: "ghcr.io", repository: "joeferner/redis-commander", tag: "latest")
    }
  }
}
