import Foundation
import TestSupport
import Testing

@testable import AppHostKit

@Suite struct SecretsTests {
  @Test func generatedPasswordsAreLongUnambiguousAndDifferent() {
    var seen: Set<String> = []
    for _ in 0..<200 {
      let password = PasswordGenerator.generate()
      #expect(password.count == 22)
      #expect(password.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
      #expect(!password.contains { "ilo ILO".contains($0) })
      seen.insert(password)
    }
    #expect(seen.count == 200)
  }

  @Test func passwordsAreCreatedOnceAndKeptPrivate() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let store = SecretStore(state: StateDirectory(projectDirectory: folder.path))
    let first = try store.passwords(for: ["cache"])
    let again = try store.passwords(for: ["cache", "sessions"])
    #expect(again["cache"] == first["cache"])
    #expect(again["sessions"] != nil)
    #expect(try store.passwords(for: ["cache", "sessions"]) == again)

    var info = stat()
    #expect(stat(folder.path + "/.apphost", &info) == 0)
    #expect(info.st_mode & 0o777 == 0o700)
    #expect(stat(folder.path + "/.apphost/secrets.json", &info) == 0)
    #expect(info.st_mode & 0o777 == 0o600)
    let ignore = try String(contentsOfFile: folder.path + "/.apphost/.gitignore", encoding: .utf8)
    #expect(ignore.contains("\n*\n"))
  }

  @Test func aDamagedSecretsFileIsReportedNotReplaced() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    let file = folder.write(".apphost/secrets.json", "not json")
    #expect(throws: AppHostError.self) {
      try SecretStore(state: StateDirectory(projectDirectory: folder.path)).passwords(for: ["cache"])
    }
    #expect(try String(contentsOfFile: file, encoding: .utf8) == "not json")
  }

  @Test func projectOpenUsesTheStoredPasswords() throws {
    let folder = TemporaryFolder()
    defer { folder.remove() }
    _ = folder.write("apphost.json", #"{"resources": {"cache": {"type": "redis"}}}"#)
    let project = try Project.load(file: "apphost.json", currentDirectory: folder.path)
    let first = try project.plan(environment: [:])
    let second = try Project.load(file: "apphost.json", currentDirectory: folder.path).plan(environment: [:])
    #expect(first.container("cache")?.configHash == second.container("cache")?.configHash)
    let stored = try SecretStore(state: project.state).load()["cache"]
    #expect(first.container("cache")?.engineEnvironment["REDIS_PASSWORD"] == stored)
  }
}
