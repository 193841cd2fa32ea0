/// A value that may hold a secret or a port not known until the engine assigns it.
///
/// The planner builds every environment value and connection string from parts, so that what is
/// printed (`config`, `ps`, logs) masks exactly the secrets and nothing else, whatever the password.
package enum ValuePart: Sendable, Hashable {
  case text(String)
  case secret(String)
  /// The host port of a container resource, known once the engine has assigned it.
  case hostPort(resource: String)
  /// The replica number of an executable's copy (0-based).
  case replica
}

package struct Value: Sendable, Hashable, ExpressibleByStringLiteral {
  package var parts: [ValuePart]

  package init(_ parts: [ValuePart]) {
    self.parts = parts
  }

  package init(stringLiteral text: String) {
    self.parts = [.text(text)]
  }

  package static func text(_ text: String) -> Value { Value([.text(text)]) }
  package static func secret(_ text: String) -> Value { Value([.secret(text)]) }

  package static func + (lhs: Value, rhs: Value) -> Value { Value(lhs.parts + rhs.parts) }

  package var containsSecret: Bool {
    parts.contains { if case .secret = $0 { true } else { false } }
  }

  /// The resources whose assigned host port this value needs.
  package var portsNeeded: [String] {
    parts.compactMap { if case .hostPort(let resource) = $0 { resource } else { nil } }
  }

  /// The value with secrets replaced by `********` and unknown ports by `{NAME.port}`.
  package func masked(ports: [String: Int] = [:], replica: Int? = nil) -> String {
    render(secrets: false, ports: ports, replica: replica)
  }

  /// The real value; nil when a port it needs is not known (yet).
  package func revealed(ports: [String: Int] = [:], replica: Int? = nil) -> String? {
    if portsNeeded.contains(where: { ports[$0] == nil }) { return nil }
    return render(secrets: true, ports: ports, replica: replica)
  }

  private func render(secrets: Bool, ports: [String: Int], replica: Int?) -> String {
    var text = ""
    for part in parts {
      switch part {
      case .text(let literal): text += literal
      case .secret(let secret): text += secrets ? secret : Value.mask
      case .hostPort(let resource): text += ports[resource].map(String.init) ?? "{\(resource).port}"
      case .replica: text += replica.map(String.init) ?? "{replica}"
      }
    }
    return text
  }

  package static let mask = "********"
}

/// An environment variable of a container or an executable.
package struct EnvironmentVariable: Sendable, Hashable {
  package var name: String
  package var value: Value

  package init(_ name: String, _ value: Value) {
    self.name = name
    self.value = value
  }
}

extension [EnvironmentVariable] {
  /// Sets `variable`, replacing an earlier one of the same name in place.
  package mutating func set(_ variable: EnvironmentVariable) {
    if let index = firstIndex(where: { $0.name == variable.name }) {
      self[index] = variable
    } else {
      append(variable)
    }
  }

  package subscript(name: String) -> Value? {
    first { $0.name == name }?.value
  }
}
