/// A small YAML writer for the files `apphost publish` writes: block style, keys in the order given
/// (so the same input always gives the same bytes), strings quoted whenever YAML could read them as
/// something else.
package indirect enum YAML: Sendable, Equatable {
  case string(String)
  case integer(Int)
  case boolean(Bool)
  case list([YAML])
  case map([YAMLEntry])

  package static func map(_ entries: [(String, YAML)]) -> YAML {
    .map(entries.map { YAMLEntry($0.0, $0.1) })
  }

  /// Renders a document, with `comment` lines (without `#`) before it.
  package func document(comment: [String] = []) -> String {
    var lines = comment.map { $0.isEmpty ? "#" : "# \($0)" }
    render(into: &lines, indent: 0)
    return lines.joined(separator: "\n") + "\n"
  }

  private func render(into lines: inout [String], indent: Int) {
    let pad = String(repeating: " ", count: indent)
    switch self {
    case .map(let entries):
      if entries.isEmpty {
        lines.append(pad + "{}")
        return
      }
      for entry in entries {
        for comment in entry.comment { lines.append(pad + (comment.isEmpty ? "#" : "# \(comment)")) }
        let key = YAML.scalar(entry.key)
        switch entry.value {
        case .map(let inner) where !inner.isEmpty:
          lines.append("\(pad)\(key):")
          entry.value.render(into: &lines, indent: indent + 2)
        case .list(let items) where !items.isEmpty:
          lines.append("\(pad)\(key):")
          entry.value.render(into: &lines, indent: indent)
        default:
          lines.append("\(pad)\(key): \(entry.value.inline)")
        }
      }
    case .list(let items):
      if items.isEmpty {
        lines.append(pad + "[]")
        return
      }
      for item in items {
        switch item {
        case .map(let entries) where !entries.isEmpty:
          // "- key: value" with the rest of the map under it.
          var nested: [String] = []
          item.render(into: &nested, indent: indent + 2)
          let first = nested.firstIndex { !$0.trimmingPrefix(" ").hasPrefix("#") } ?? 0
          for (index, line) in nested.enumerated() {
            lines.append(index == first ? pad + "- " + line.dropFirst(indent + 2) : line)
          }
        case .list(let inner) where !inner.isEmpty:
          lines.append(pad + "-")
          item.render(into: &lines, indent: indent + 2)
        default:
          lines.append(pad + "- " + item.inline)
        }
      }
    default:
      lines.append(pad + inline)
    }
  }

  /// A value on the same line as its key.
  private var inline: String {
    switch self {
    case .string(let text): YAML.scalar(text)
    case .integer(let number): String(number)
    case .boolean(let flag): flag ? "true" : "false"
    case .list(let items) where items.isEmpty: "[]"
    case .map(let entries) where entries.isEmpty: "{}"
    case .list, .map: ""
    }
  }

  /// A string as YAML: bare when nothing in it could be read as something else, else double-quoted.
  package static func scalar(_ text: String) -> String {
    let plain = text.unicodeScalars.allSatisfy { scalar in
      ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        || "_-./".unicodeScalars.contains(scalar)
    }
    let reserved = [
      "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ].contains(text.lowercased())
    let numeric = Double(text) != nil || text.hasPrefix("0") || text.hasPrefix(".") || text.hasPrefix("-")
    if plain && !text.isEmpty && !reserved && !numeric { return text }
    return quoted(text)
  }
}

package struct YAMLEntry: Sendable, Equatable {
  package var key: String
  package var value: YAML
  /// Comment lines (without `#`) written before the entry.
  package var comment: [String]

  package init(_ key: String, _ value: YAML, comment: [String] = []) {
    self.key = key
    self.value = value
    self.comment = comment
  }
}
