/// Placeholders in an executable's `env` values and `args`: `{NAME.host}`, `{NAME.port}`,
/// `{NAME.password}`, `{NAME.connectionString}`, `{NAME.uri}`, `{NAME.url}`, `{replica}`, and for a named
/// endpoint of a program `{NAME.ENDPOINT.host}`, `{NAME.ENDPOINT.port}`, `{NAME.ENDPOINT.url}`.
///
/// `{{` and `}}` stand for literal braces; `${...}` (shell syntax) and braces around anything that is
/// not a word or `word.word` (JSON text, say) are left as they are.
package enum TemplateProperty: String, Sendable, CaseIterable, Codable {
  case host, port, password, connectionString, uri, url

  /// What a program's endpoint has.
  package static let ofEndpoints: [TemplateProperty] = [.host, .port, .url]
}

package enum TemplatePart: Sendable, Equatable {
  case text(String)
  case reference(resource: String, property: TemplateProperty)
  /// `{NAME.ENDPOINT.PROPERTY}`: a named endpoint of a program.
  case endpoint(resource: String, endpoint: String, property: TemplateProperty)
  case replica
}

package struct TemplateError: Error, Sendable, Equatable {
  package var placeholder: String
  package var message: String
}

package struct Template: Sendable, Equatable {
  package var parts: [TemplatePart]

  package init(parts: [TemplatePart]) {
    self.parts = parts
  }

  /// The resources the template names, in order of first use.
  package var referencedResources: [String] {
    var names: [String] = []
    for part in parts {
      switch part {
      case .reference(let name, _), .endpoint(let name, _, _):
        if !names.contains(name) { names.append(name) }
      default: break
      }
    }
    return names
  }

  package static func parse(_ text: String) -> Result<Template, TemplateError> {
    var parts: [TemplatePart] = []
    var literal = ""
    let characters = Array(text)
    var index = 0
    func flush() {
      if !literal.isEmpty {
        parts.append(.text(literal))
        literal = ""
      }
    }
    while index < characters.count {
      let character = characters[index]
      let next = index + 1 < characters.count ? characters[index + 1] : nil
      if character == "{" && next == "{" || character == "}" && next == "}" {
        literal.append(character)
        index += 2
        continue
      }
      guard character == "{", index == 0 || characters[index - 1] != "$",
        let close = characters[(index + 1)...].firstIndex(where: { !isPlaceholderCharacter($0) }),
        characters[close] == "}", close > index + 1
      else {
        literal.append(character)
        index += 1
        continue
      }
      let body = String(characters[(index + 1)..<close])
      let placeholder = "{\(body)}"
      let pieces = body.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      switch pieces.count {
      case 1 where body == "replica":
        flush()
        parts.append(.replica)
      case 1:
        let hint = suggestion(for: body, among: ["replica"]).map { " (did you mean {\($0)}?)" } ?? ""
        return .failure(
          TemplateError(
            placeholder: placeholder,
            message: "unknown placeholder \(placeholder)\(hint); placeholders are {replica} and "
              + "{NAME.PROPERTY} with PROPERTY one of \(propertyList); write {{ and }} for literal braces"))
      case 2 where !pieces[0].isEmpty:
        guard let property = TemplateProperty(rawValue: pieces[1]) else {
          let known = TemplateProperty.allCases.map(\.rawValue)
          let hint = suggestion(for: pieces[1], among: known).map { " (did you mean {\(pieces[0]).\($0)}?)" } ?? ""
          return .failure(
            TemplateError(
              placeholder: placeholder,
              message: "unknown property \(quoted(pieces[1])) in \(placeholder)\(hint); "
                + "properties are \(propertyList)"))
        }
        flush()
        parts.append(.reference(resource: pieces[0], property: property))
      case 3 where !pieces[0].isEmpty && !pieces[1].isEmpty:
        guard let property = TemplateProperty(rawValue: pieces[2]), TemplateProperty.ofEndpoints.contains(property)
        else {
          let known = TemplateProperty.ofEndpoints.map(\.rawValue)
          let hint =
            suggestion(for: pieces[2], among: known).map { " (did you mean {\(pieces[0]).\(pieces[1]).\($0)}?)" } ?? ""
          return .failure(
            TemplateError(
              placeholder: placeholder,
              message: "\(placeholder) is not a placeholder: \(quoted(pieces[2])) is not a property of an endpoint"
                + "\(hint); {NAME.ENDPOINT.PROPERTY} takes \(listing(known)), {NAME.PROPERTY} takes \(propertyList)"))
        }
        flush()
        parts.append(.endpoint(resource: pieces[0], endpoint: pieces[1], property: property))
      default:
        return .failure(
          TemplateError(
            placeholder: placeholder,
            message: "\(placeholder) is not a placeholder; write {NAME.PROPERTY} with PROPERTY one of "
              + "\(propertyList), {NAME.ENDPOINT.port} (or host, url) for a program's endpoint, or {{ and }} for "
              + "literal braces"))
      }
      index = close + 1
    }
    flush()
    return .success(Template(parts: parts))
  }

  private static var propertyList: String {
    listing(TemplateProperty.allCases.map(\.rawValue))
  }
}

private func isPlaceholderCharacter(_ character: Character) -> Bool {
  character.isASCII
    && (character.isLetter || character.isNumber || character == "-" || character == "_" || character == ".")
}
