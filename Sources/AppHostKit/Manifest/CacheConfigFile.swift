import Foundation

/// A cache's `"configFile"`: a redis.conf given to the server before apphost's own settings (mounted
/// read-only in containers, read in place natively). Read and checked when the manifest is loaded: a
/// `requirepass` in it is the cache's password, and what the server would not use as written is refused.
package struct CacheConfigFile: Sendable, Equatable {
  /// As written in the manifest (relative to apphost.json, absolute, or `~/`).
  package var source: String
  /// The absolute path; filled in when the manifest is loaded.
  package var path: String = ""
  /// The password `requirepass` sets, as the server reads it (unquoted for Redis and Valkey, the rest of
  /// the line for Garnet); nil when the file sets none.
  package var password: String? = nil
  /// A digest of the file's bytes: a changed file recreates the container.
  package var digest: String = ""

  package init(source: String) {
    self.source = source
  }

  /// Where containers see it.
  package static let containerPath = "/usr/local/etc/apphost/server.conf"

  /// One setting of the file.
  package struct Directive: Sendable, Equatable {
    package var line: Int
    /// The keyword, lower-cased.
    package var keyword: String
    /// The arguments as the server reads them.
    package var arguments: [String]
    /// The text after the keyword and its space, as Garnet reads it.
    package var rest: String
  }

  /// A line the server would not take as written.
  package struct Problem: Sendable, Equatable {
    package var line: Int
    package var message: String
  }

  /// Keywords apphost sets itself, each with what to use instead: a file's value would be overridden
  /// (or break the container's port mapping), so it is refused rather than dropped.
  static let ownedByApphost: [String: String] = [
    "port": "apphost publishes the server's port itself; use \"hostPort\" in apphost.json",
    "bind": "apphost binds the server itself (all interfaces inside a container, 127.0.0.1 natively)",
    "dir": "the data folder is /data (natively the volume or bind-mount folder); use dataVolume or dataBindMount",
    "daemonize": "the server must stay in the foreground for apphost to supervise it",
    "save": "apphost sets the snapshot schedule itself; use \"persistence\" in apphost.json",
    "include": "only this file is mounted into the container (and Garnet ignores include); put the settings in it",
    "tls-port": "TLS is apphost's to set up; use \"tls\": true in apphost.json",
    "tls-cert-file": "TLS is apphost's to set up; use \"tls\": true in apphost.json",
    "tls-key-file": "TLS is apphost's to set up; use \"tls\": true in apphost.json",
    "tls-ca-cert-file": "TLS is apphost's to set up; use \"tls\": true in apphost.json",
    "tls-auth-clients": "TLS is apphost's to set up; use \"tls\": true in apphost.json",
    "tls-key-file-pass": "TLS is apphost's to set up; use \"tls\": true in apphost.json",
    "protected-mode": "apphost sets it itself (off in containers, where the port is published on 127.0.0.1 only)",
  ]

  /// What Garnet's RedisConf importer maps to its own options (microsoft/garnet,
  /// libs/host/Configuration/Redis/RedisOptions.cs); it skips every other keyword with a warning.
  package static let garnetImported: Set<String> = [
    "bind", "port", "maxmemory", "logfile", "dir", "cluster-enabled", "requirepass", "aclfile",
    "cluster-node-timeout", "tls-port", "tls-cert-file", "tls-key-file-pass", "tls-auth-clients",
    "latency-tracking", "loglevel", "io-threads", "repl-diskless-sync-delay",
  ]

  /// The file's settings as `server` reads them, and the lines it would not take as written.
  package static func parse(_ text: String, server: ServerKind) -> (directives: [Directive], problems: [Problem]) {
    var directives: [Directive] = []
    var problems: [Problem] = []
    for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
      let number = index + 1
      var line = String(raw)
      if line.hasSuffix("\r") { line.removeLast() }
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      switch server {
      case .redis, .valkey:
        guard let words = splitArguments(trimmed) else {
          problems.append(Problem(line: number, message: "unbalanced quotes; the server refuses to start on it"))
          continue
        }
        guard let keyword = words.first else { continue }
        let rest = trimmed.drop { !$0.isWhitespace }.drop(while: \.isWhitespace)
        directives.append(
          Directive(
            line: number, keyword: keyword.lowercased(), arguments: Array(words.dropFirst()), rest: String(rest)))
      case .garnet:
        // Garnet splits at the first space, takes the rest as the value, and unquotes nothing.
        guard let space = line.firstIndex(of: " ") else {
          problems.append(
            Problem(
              line: number,
              message: "\(quoted(trimmed)) has no value; Garnet stops at a line without a space "
                + "(\"keyword value\")"))
          continue
        }
        let keyword = String(line[..<space]).lowercased()
        let rest = String(line[line.index(after: space)...])
        directives.append(Directive(line: number, keyword: keyword, arguments: [rest], rest: rest))
      }
    }
    for directive in directives {
      if let remedy = ownedByApphost[directive.keyword] {
        problems.append(Problem(line: directive.line, message: "\(directive.keyword): \(remedy)"))
        continue
      }
      guard server == .garnet else { continue }
      if !garnetImported.contains(directive.keyword) {
        problems.append(
          Problem(
            line: directive.line,
            message: "Garnet does not import \(quoted(directive.keyword)) from a redis.conf (it skips it with a "
              + "warning); it imports "
              + garnetImported.sorted().filter { ownedByApphost[$0] == nil }
              .joined(separator: ", ") + "; give other Garnet options in \"args\""))
      } else if let first = directive.rest.first, first == "\"" || first == "'" {
        problems.append(
          Problem(
            line: directive.line,
            message: "Garnet does not unquote values: \(directive.keyword) would be \(quoted(directive.rest)), "
              + "quotes included; write the value without quotes"))
      } else if directive.rest != directive.rest.trimmingCharacters(in: .whitespaces) || directive.rest.isEmpty {
        problems.append(
          Problem(
            line: directive.line,
            message: "Garnet takes the rest of the line as the value, spaces included; remove the spaces around "
              + "the value of \(directive.keyword)"))
      }
    }
    return (directives, problems)
  }

  /// The password the file sets: the last `requirepass` (the server applies lines in order).
  package static func password(in directives: [Directive], server: ServerKind) -> String? {
    guard let last = directives.last(where: { $0.keyword == "requirepass" }) else { return nil }
    switch server {
    case .redis, .valkey: return last.arguments.first
    case .garnet: return last.rest
    }
  }

  /// A redis.conf line split as the server splits it (`sdssplitargs`): words separated by spaces,
  /// `"..."` with `\n`, `\t`, `\xHH`, `\"` and `\\` escapes, `'...'` with only `\'`; nil for unbalanced
  /// quotes or a closing quote not followed by a space.
  package static func splitArguments(_ line: String) -> [String]? {
    var words: [String] = []
    var characters = Array(line)[...]
    while true {
      while let first = characters.first, first.isWhitespace { characters.removeFirst() }
      guard !characters.isEmpty else { return words }
      var word = ""
      var inDouble = false
      var inSingle = false
      var done = false
      while !done {
        guard let character = characters.first else {
          if inDouble || inSingle { return nil }
          break
        }
        characters.removeFirst()
        if inDouble {
          if character == "\\", let next = characters.first {
            characters.removeFirst()
            switch next {
            case "n": word.append("\n")
            case "r": word.append("\r")
            case "t": word.append("\t")
            case "b": word.append("\u{8}")
            case "a": word.append("\u{7}")
            case "x":
              let hex = String(characters.prefix(2))
              if hex.count == 2, let value = UInt8(hex, radix: 16) {
                characters.removeFirst(2)
                word.unicodeScalars.append(UnicodeScalar(value))
              } else {
                word.append("x")
              }
            default: word.append(next)
            }
          } else if character == "\"" {
            if let next = characters.first, !next.isWhitespace { return nil }
            done = true
          } else {
            word.append(character)
          }
        } else if inSingle {
          if character == "\\", characters.first == "'" {
            characters.removeFirst()
            word.append("'")
          } else if character == "'" {
            if let next = characters.first, !next.isWhitespace { return nil }
            done = true
          } else {
            word.append(character)
          }
        } else if character.isWhitespace {
          done = true
        } else if character == "\"" {
          inDouble = true
        } else if character == "'" {
          inSingle = true
        } else {
          word.append(character)
        }
      }
      words.append(word)
    }
  }
}

extension ManifestLoader {
  /// Reads every cache's `configFile`: its path, digest and password go into the manifest, and a
  /// `requirepass` there becomes the cache's password (65 when `password` is written too).
  static func readConfigFiles(
    _ manifest: inout Manifest, projectDirectory: String, locations: [JSONPath: TextLocation]
  ) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    for index in manifest.resources.indices {
      guard var cache = manifest.resources[index].cache, var config = cache.configFile else { continue }
      let name = manifest.resources[index].name
      let path = JSONPath.resource(name).appending("configFile")
      let location = locations[path]
      func error(_ message: String, at: TextLocation? = location) {
        diagnostics.append(Diagnostic(.error, path, message, at: at))
      }
      config.path = resolvePath(config.source, relativeTo: projectDirectory)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: config.path, isDirectory: &isDirectory) else {
        error(
          "the file \(quoted(config.source)) does not exist (looked for \(config.path)); give a redis.conf path "
            + "relative to apphost.json")
        continue
      }
      guard !isDirectory.boolValue else {
        error("\(quoted(config.source)) is a folder; give the path of a redis.conf file")
        continue
      }
      guard let data = FileManager.default.contents(atPath: config.path), data.count <= 1 << 20 else {
        error("\(quoted(config.source)) cannot be read (or is larger than 1 MiB); check its permissions")
        continue
      }
      guard let text = String(data: data, encoding: .utf8) else {
        error("\(quoted(config.source)) is not UTF-8 text; is it a redis.conf?")
        continue
      }
      let (directives, problems) = CacheConfigFile.parse(text, server: cache.server)
      for problem in problems {
        error("\(config.source):\(problem.line): \(problem.message)")
      }
      config.password = CacheConfigFile.password(in: directives, server: cache.server)
      config.digest = ConfigHasher.digest(of: Array(data))
      if let password = config.password {
        let passwordPath = JSONPath.resource(name).appending("password")
        let line = directives.last { $0.keyword == "requirepass" }?.line ?? 0
        if locations[passwordPath] != nil {
          diagnostics.append(
            Diagnostic(
              .error, passwordPath,
              "the password is set twice: here and by requirepass in \(config.source):\(line); keep one (remove "
                + "\"password\" to use the file's, or requirepass from the file)",
              at: locations[passwordPath]))
        } else if let problem = PasswordRules.problem(in: password) {
          error("\(config.source):\(line): requirepass \(problem)")
        } else if password.isEmpty {
          error("\(config.source):\(line): requirepass is empty; give a password or remove the line")
        } else {
          cache.password = .given(.literal(password))
        }
      }
      cache.configFile = config
      manifest.resources[index].spec = .cache(cache)
    }
    return diagnostics
  }
}
