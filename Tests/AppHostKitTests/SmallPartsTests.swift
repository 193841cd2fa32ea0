import Foundation
import Testing

@testable import AppHostKit

@Suite struct TemplateTests {
  @Test(arguments: [
    ("plain", [TemplatePart.text("plain")]),
    ("{cache.port}", [.reference(resource: "cache", property: .port)]),
    ("a{replica}b", [.text("a"), .replica, .text("b")]),
    ("{{x}}", [.text("{x}")]),
    ("${HOME}", [.text("${HOME}")]),
    ("{\"a\": 1}", [.text("{\"a\": 1}")]),
    ("{ cache.port }", [.text("{ cache.port }")]),
    ("{my-cache.connectionString}!", [.reference(resource: "my-cache", property: .connectionString), .text("!")]),
  ])
  func parses(text: String, parts: [TemplatePart]) throws {
    #expect(try Template.parse(text).get().parts == parts)
  }

  @Test(arguments: [
    ("{replicas}", "did you mean {replica}?"),
    ("{cache.Port}", "did you mean {cache.port}?"),
    ("{cache}", "unknown placeholder {cache}"),
    ("{.port}", "{.port} is not a placeholder"),
    ("{a.b.c}", "{a.b.c} is not a placeholder"),
  ])
  func rejects(text: String, message: String) {
    guard case .failure(let error) = Template.parse(text) else {
      Issue.record("\(text) parsed")
      return
    }
    #expect(error.message.contains(message), "\(error.message)")
  }
}

@Suite struct ConnectionStringTests {
  @Test(arguments: [
    ("cache.example:6379,password=x", ConnectionEndpoint(host: "cache.example", port: 6379, password: "x")),
    ("cache.example", ConnectionEndpoint(host: "cache.example", port: 6379)),
    (
      "a:1,b:2,ssl=True,user=me,Password=p=q",
      ConnectionEndpoint(host: "a", port: 1, user: "me", password: "p=q", tls: true)
    ),
    ("[::1]:6380", ConnectionEndpoint(host: "::1", port: 6380)),
    ("redis://:s%40cret@h:7000/1", ConnectionEndpoint(host: "h", port: 7000, password: "s@cret", database: 1)),
    ("redis://h:7000/?x=1", ConnectionEndpoint(host: "h", port: 7000)),
    ("h:1,defaultDatabase=3", ConnectionEndpoint(host: "h", port: 1, database: 3)),
    ("rediss://u:p@h", ConnectionEndpoint(host: "h", port: 6379, user: "u", password: "p", tls: true)),
    ("redis://secret@h:1", ConnectionEndpoint(host: "h", port: 1, password: "secret")),
    ("valkey://h:2?x=y", ConnectionEndpoint(host: "h", port: 2)),
  ])
  func parses(text: String, endpoint: ConnectionEndpoint) throws {
    #expect(try ConnectionEndpoint.parse(text).get() == endpoint)
  }

  @Test(arguments: ["", "password=x", "http://h:1", "h:0", "h:port", "[::1", "redis://h/db", "h,defaultDatabase=x"])
  func rejects(text: String) {
    guard case .failure = ConnectionEndpoint.parse(text) else {
      Issue.record("\(text) parsed")
      return
    }
  }
}

@Suite struct ImageReferenceTests {
  @Test(arguments: [
    ("redis", "docker.io/library/redis"),
    ("redis:7", "docker.io/library/redis:7"),
    ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
    ("localhost/x/y:1", "localhost/x/y:1"),
    ("host:5000/x", "host:5000/x"),
    ("ghcr.io/a/b@sha256:abc", "ghcr.io/a/b@sha256:abc"),
  ])
  func normalises(text: String, normalised: String) {
    #expect(ImageReference(parsing: text).description == normalised)
  }

  @Test func hasTag() {
    #expect(ImageReference.hasTagOrDigest("redis:7"))
    #expect(!ImageReference.hasTagOrDigest("host:5000/redis"))
  }
}

@Suite struct ValueTests {
  @Test func masksSecretsAndNothingElse() {
    let value: Value = "a:" + .secret("a") + ":" + Value([.hostPort(resource: "c"), .replica])
    #expect(value.masked() == "a:********:{c.port}{replica}")
    #expect(value.revealed(ports: ["c": 1], replica: 0) == "a:a:10")
    #expect(value.containsSecret)
  }

  @Test func shellQuoting() {
    #expect(shellQuoted("plain-word_1.2/x:y=z") == "plain-word_1.2/x:y=z")
    #expect(shellQuoted("") == "''")
    #expect(shellQuoted("a b") == "'a b'")
    #expect(shellQuoted("it's") == #"'it'\''s'"#)
    #expect(shellQuoted("$HOME") == "'$HOME'")
  }

  @Test func suggestions() {
    #expect(suggestion(for: "hostport", among: ["hostPort", "host"]) == "hostPort")
    #expect(suggestion(for: "pasword", among: ["password", "persistence"]) == "password")
    #expect(suggestion(for: "comand", among: ["command"]) == "command")
    #expect(suggestion(for: "xyz", among: ["command"]) == nil)
    #expect(editDistance("ab", "ba") == 1)
  }

  @Test func paths() {
    #expect(JSONPath.resource("cache").appending("args").appending(index: 2).description == "resources.cache.args[2]")
    #expect(JSONPath.root.appending("resources").appending("my cache").description == #"resources["my cache"]"#)
    #expect(JSONPath.root.description == "(top level)")
  }
}

@Suite struct CommandLineWordsTests {
  @Test(arguments: [
    ("SET k v", ["SET", "k", "v"]),
    ("  GET   k  ", ["GET", "k"]),
    (#"SET k "two words""#, ["SET", "k", "two words"]),
    (#"SET k "a\"b\n\x41""#, ["SET", "k", "a\"b\nA"]),
    (#"SET k 'it\'s $x'"#, ["SET", "k", "it's $x"]),
    (#"SET k """#, ["SET", "k", ""]),
    ("", []),
  ])
  func splits(line: String, words: [String]) throws {
    #expect(try splitCommandLine(line).get() == words)
  }

  @Test(arguments: [#"SET k "open"#, #"SET k "a"b"#, #"SET k "\x4""#])
  func rejects(line: String) {
    guard case .failure = splitCommandLine(line) else {
      Issue.record("\(line) was accepted")
      return
    }
  }
}
