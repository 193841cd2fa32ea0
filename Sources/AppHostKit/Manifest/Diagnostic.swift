/// A place in the manifest, written the way users read it: `resources.cache.hostPort`, `args[2]`.
package struct JSONPath: Sendable, Hashable, CustomStringConvertible {
  package enum Component: Sendable, Hashable {
    case key(String)
    case index(Int)
  }

  package var components: [Component]

  package init(_ components: [Component] = []) {
    self.components = components
  }

  package static let root = JSONPath()

  package func appending(_ key: String) -> JSONPath {
    JSONPath(components + [.key(key)])
  }

  package func appending(index: Int) -> JSONPath {
    JSONPath(components + [.index(index)])
  }

  package static func resource(_ name: String) -> JSONPath {
    JSONPath([.key("resources"), .key(name)])
  }

  package var description: String {
    var text = ""
    for component in components {
      switch component {
      case .key(let key):
        if key.isPlainIdentifier {
          text += text.isEmpty ? key : ".\(key)"
        } else {
          text += "[\(quoted(key))]"
        }
      case .index(let index):
        text += "[\(index)]"
      }
    }
    return text.isEmpty ? "(top level)" : text
  }
}

extension String {
  /// Letters, digits, `_`, `$` and `-`, not starting with a digit or `-`.
  fileprivate var isPlainIdentifier: Bool {
    guard let first = unicodeScalars.first, first != "-", !("0"..."9").contains(first) else { return false }
    return unicodeScalars.allSatisfy { scalar in
      ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        || scalar == "_" || scalar == "$" || scalar == "-"
    }
  }
}

/// A finding about a manifest: an error (the manifest is invalid) or a warning (it works, but
/// probably not as meant).
package struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
  package enum Severity: String, Sendable {
    case error, warning
  }

  package var severity: Severity
  package var path: JSONPath
  package var location: TextLocation?
  /// What is wrong and what would be valid, readable after the path.
  package var message: String

  package init(_ severity: Severity, _ path: JSONPath, _ message: String, at location: TextLocation? = nil) {
    self.severity = severity
    self.path = path
    self.location = location
    self.message = message
  }

  /// `12:5: error: resources.cache.hostPort: ...`.
  package var description: String {
    let place = location.map { "\($0): " } ?? ""
    let subject = path.components.isEmpty ? "" : "\(path): "
    return "\(place)\(severity.rawValue): \(subject)\(message)"
  }

  /// `apphost.json:12:5: error: resources.cache.hostPort: ...`, the form editors and terminals link.
  package func rendered(file: String) -> String {
    "\(file):\(location == nil ? " " : "")\(self)"
  }
}

/// Quotes a value in double quotes, escaping `"`, `\` and control characters (`\n`, `\u001B`): the form
/// messages show values in, and valid YAML and JSON too.
package func quoted(_ text: String) -> String {
  var result = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": result += "\\\""
    case "\\": result += "\\\\"
    case "\n": result += "\\n"
    case "\t": result += "\\t"
    case "\r": result += "\\r"
    case _ where scalar.value < 0x20 || scalar.value == 0x7F:
      result += "\\u" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
    default: result.unicodeScalars.append(scalar)
    }
  }
  return result + "\""
}

/// The closest candidate to a misspelt word, if one is close enough to be what was meant.
package func suggestion(for word: String, among candidates: [String]) -> String? {
  let lowered = word.lowercased()
  if let sameLetters = candidates.first(where: { $0.lowercased() == lowered }) { return sameLetters }
  let limit = max(1, min(3, word.count / 3))
  var best: (candidate: String, distance: Int)?
  for candidate in candidates {
    let distance = editDistance(lowered, candidate.lowercased())
    if distance <= limit, distance < (best?.distance ?? .max) {
      best = (candidate, distance)
    }
  }
  return best?.candidate
}

/// ` (did you mean "x"?)` when a candidate is close to `word`, else an empty string.
package func didYouMean(_ word: String, among candidates: [String]) -> String {
  suggestion(for: word, among: candidates).map { " (did you mean \(quoted($0))?)" } ?? ""
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
package func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a)
  let b = Array(b)
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previousPrevious = [Int](repeating: 0, count: b.count + 1)
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      let cost = a[i - 1] == b[j - 1] ? 0 : 1
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
        current[j] = min(current[j], previousPrevious[j - 2] + 1)
      }
    }
    (previousPrevious, previous, current) = (previous, current, previousPrevious)
  }
  return previous[b.count]
}

/// "a", "a or b", "a, b or c".
package func listing(_ items: [String], conjunction: String = "or") -> String {
  switch items.count {
  case 0: return ""
  case 1: return items[0]
  default: return items.dropLast().joined(separator: ", ") + " \(conjunction) " + items[items.count - 1]
  }
}
