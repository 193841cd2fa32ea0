import Foundation

/// How `apphost env` prints variables.
package enum EnvironmentFormat: String, Sendable, CaseIterable {
  /// `KEY=value` lines, values quoted only when they need it (docker compose `env_file`, python-dotenv).
  case dotenv
  /// One JSON object, name -> value.
  case json
  /// `export KEY='value'` lines for `eval "$(apphost env --format shell)"`.
  case shell

  package func render(_ variables: [(name: String, value: String)]) -> String {
    switch self {
    case .dotenv:
      return variables.map { "\($0.name)=\(dotenvQuoted($0.value))" }.joined(separator: "\n")
    case .shell:
      return variables.map { "export \($0.name)=\(singleQuoted($0.value))" }.joined(separator: "\n")
    case .json:
      var object: [String: String] = [:]
      for variable in variables { object[variable.name] = variable.value }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      return String(decoding: (try? encoder.encode(object)) ?? Data("{}".utf8), as: UTF8.self)
    }
  }
}

/// Always single-quoted, so that the shell expands nothing: `'it'\''s'`.
package func singleQuoted(_ value: String) -> String {
  "'" + value.replacing("'", with: #"'\''"#) + "'"
}

/// Plain when safe, else double-quoted with `\`, `"`, `$` and newlines escaped.
package func dotenvQuoted(_ value: String) -> String {
  let safe = value.unicodeScalars.allSatisfy { scalar in
    scalar.value > 0x20 && scalar.value < 0x7F && !"\"'`$\\#".unicodeScalars.contains(scalar)
  }
  if safe { return value }
  var text = "\""
  for character in value {
    switch character {
    case "\\": text += "\\\\"
    case "\"": text += "\\\""
    case "$": text += "\\$"
    case "\n": text += "\\n"
    default: text.append(character)
    }
  }
  return text + "\""
}
