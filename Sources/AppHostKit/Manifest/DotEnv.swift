import Foundation

/// `.env` files: `.env` beside apphost.json (for `{"env": "VAR"}` values not in apphost's environment) and a
/// program's `envFile`. The format docker compose reads: `KEY=value` lines, `export ` allowed before the
/// key, `#` comments and blank lines ignored, values unquoted (trailing ` #comment` dropped), in single
/// quotes (literal) or in double quotes (`\n`, `\t`, `\"`, `\\` understood).
package enum DotEnv {
  /// The variables in file order (a later line wins over an earlier one of the same name), or why the
  /// text is not a dotenv file.
  package static func parse(_ text: String) -> Result<[(name: String, value: String)], DotEnvProblem> {
    var entries: [(name: String, value: String)] = []
    for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
      var line = rawLine
      line = line.drop(while: { $0 == " " || $0 == "\t" })
      if line.isEmpty || line.hasPrefix("#") { continue }
      if line.hasPrefix("export ") { line = line.dropFirst("export ".count).drop(while: { $0 == " " }) }
      guard let equals = line.firstIndex(of: "=") else {
        return .failure(DotEnvProblem(line: index + 1, reason: "expected KEY=value"))
      }
      let name = line[..<equals].trimmingCharacters(in: .whitespaces)
      guard name.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_.]*/) != nil else {
        return .failure(DotEnvProblem(line: index + 1, reason: "\(quoted(name)) is not a variable name"))
      }
      let rest = line[line.index(after: equals)...].drop(while: { $0 == " " || $0 == "\t" })
      var value = ""
      if let quote = rest.first, quote == "\"" || quote == "'" {
        var closed = false
        var escaped = false
        for character in rest.dropFirst() {
          if escaped {
            switch character {
            case "n": value.append("\n")
            case "t": value.append("\t")
            case "r": value.append("\r")
            default: value.append(character)
            }
            escaped = false
          } else if character == "\\" && quote == "\"" {
            escaped = true
          } else if character == quote {
            closed = true
            break
          } else {
            value.append(character)
          }
        }
        guard closed else {
          return .failure(DotEnvProblem(line: index + 1, reason: "the value's \(quote) is not closed on this line"))
        }
      } else {
        var unquoted = String(rest)
        if let comment = unquoted.range(of: " #") { unquoted = String(unquoted[..<comment.lowerBound]) }
        value = unquoted.trimmingCharacters(in: .whitespaces)
      }
      entries.removeAll { $0.name == name }
      entries.append((name, value))
    }
    return .success(entries)
  }

  package static func parse(contentsOf path: String) -> Result<[(name: String, value: String)], DotEnvProblem> {
    guard let data = FileManager.default.contents(atPath: path) else {
      return .failure(DotEnvProblem(line: 0, reason: "cannot be read"))
    }
    return parse(String(decoding: data, as: UTF8.self))
  }

  /// The values of `.env` beside apphost.json, or none when there is no such file (or it cannot be read).
  package static func projectValues(projectDirectory: String) -> [String: String] {
    let path = (projectDirectory as NSString).appendingPathComponent(".env")
    guard FileManager.default.fileExists(atPath: path), case .success(let entries) = parse(contentsOf: path) else {
      return [:]
    }
    return Dictionary(entries.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
  }
}

package struct DotEnvProblem: Error, Sendable, Equatable, CustomStringConvertible {
  package var line: Int
  package var reason: String

  package var description: String { line > 0 ? "line \(line): \(reason)" : reason }
}
