import Foundation
import TestSupport
import Testing

/// The command line as a newcomer meets it, with no container engine needed.
@Suite struct CommandLineTests {
  @Test func initThenConfigPrintsThePlanOfTheContract() async throws {
    let folder = ProjectFolder("apphost-init")
    defer { folder.remove() }
    let initialized = try await apphost("init", in: folder.path)
    #expect(initialized.status == 0, "\(initialized)")
    #expect(folder.read("apphost.json")?.contains(#""type": "redis""#) == true)
    #expect(folder.read("apphost.schema.json") != nil)
    #expect(folder.read(".gitignore")?.contains(".apphost/") == true)

    let again = try await apphost("init", in: folder.path)
    #expect(again.status == 1)
    #expect(again.errors.contains("already exists"))

    let config = try await apphost("config", in: folder.path, environment: ["APPHOST_IMAGE_REGISTRY": nil])
    #expect(config.status == 0, "\(config)")
    let project = URL(fileURLWithPath: folder.path).lastPathComponent
    let output = config.output
    #expect(output.contains("cache (redis, session)"))
    #expect(output.contains("container  \(project)-cache"))
    #expect(output.contains("endpoint   127.0.0.1:{cache.port}, assigned by the engine"))
    #expect(output.contains("--publish 127.0.0.1::6379"))
    #expect(output.contains("--volume \(project)-cache-data:/data"))
    #expect(output.contains("--env REDIS_PASSWORD --entrypoint /bin/sh docker.io/library/redis:8.6 -c"))
    #expect(
      output.contains(#"exec docker-entrypoint.sh redis-server - --save 60 1 < /tmp/apphost-redis.conf'"#), "\(output)")
    #expect(!output.contains("--requirepass"), "the password is read from a file, not an argument")
    #expect(output.contains("REDIS_PASSWORD=********"))

    // The generated password is kept private and never printed.
    let secrets = try #require(folder.read(".apphost/secrets.json"))
    let password = try #require(secrets.split(separator: "\"").dropLast().last.map(String.init))
    #expect(password.count == 22)
    #expect(!output.contains(password) && !config.errors.contains(password))
    let attributes = try FileManager.default.attributesOfItem(atPath: folder.path + "/.apphost/secrets.json")
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
  }

  @Test func fiveMistakesGiveFiveMessagesAndExit65() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    let manifest = try String(
      contentsOfFile: Binary.repository + "/Tests/Fixtures/manifests/invalid/five-mistakes.json", encoding: .utf8)
    folder.write("apphost.json", manifest)
    let result = try await apphost("config", in: folder.path)
    #expect(result.status == 65, "\(result)")
    let errors = result.errors.split(separator: "\n").filter { $0.contains(": error: ") }
    #expect(errors.count == 5, "\(result)")
    #expect(errors.allSatisfy { $0.hasPrefix(folder.path + "/apphost.json:") }, "file and line on every message")
    #expect(
      result.errors.contains(
        #"apphost.json:4:50: error: resources.cache.pasword: unknown key "pasword" (did you mean "password"?)"#))
    #expect(result.errors.contains("5 errors; nothing was started"))
    #expect(result.output.isEmpty)
    #expect(!FileManager.default.fileExists(atPath: folder.path + "/.apphost"), "an invalid manifest creates nothing")
  }

  @Test func missingManifestSaysHowToCreateOne() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    let result = try await apphost("config", in: folder.path)
    #expect(result.status == 65)
    #expect(result.errors.contains("no apphost.json in"))
    #expect(result.errors.contains("apphost init"))
  }

  @Test func configJSONHasBothEnginesArgvAndNoSecret() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    folder.write(
      "apphost.json",
      """
      {"name": "demo", "resources": {
        "cache": {"type": "redis", "password": "Sup3r-Secret-Value", "hostPort": 16379},
        "api": {"type": "executable", "command": "sh", "args": ["-c", "echo {cache.password}"], "references": ["cache"]}
      }}
      """)
    let result = try await apphost("config", "--json", "--engine", "podman", in: folder.path)
    #expect(result.status == 0, "\(result)")
    #expect(!result.output.contains("Sup3r-Secret-Value"))
    let document = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    #expect(document["project"] as? String == "demo")
    #expect(document["engine"] as? String == "podman")
    let resources = try #require(document["resources"] as? [[String: Any]])
    #expect(resources.map { $0["name"] as? String } == ["cache", "api"])
    let argv = try #require(resources[0]["argv"] as? [String: [String]])
    #expect(argv["docker"]?.first == "docker")
    #expect(argv["podman"]?.first == "podman")
    #expect(argv["docker"]?.contains("127.0.0.1:16379:6379") == true)
    let environment = try #require(resources[1]["environment"] as? [String: String])
    #expect(environment["ConnectionStrings__cache"] == "127.0.0.1:16379,password=********")
    #expect(environment["REDIS_URL"] == "redis://default:********@127.0.0.1:16379/0")
    #expect((resources[1]["args"] as? [String]) == ["-c", "echo ********"])
    #expect((document["stages"] as? [[String]]) == [["cache"], ["api"]])
  }

  @Test func usageErrorsExit64AndVersionAnswers() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    let unknown = try await apphost("config", "--bogus", in: folder.path)
    #expect(unknown.status == 64, "\(unknown)")
    let badEngine = try await apphost("config", "--engine", "lxc", in: folder.path)
    #expect(badEngine.status == 64, "\(badEngine)")
    folder.write("apphost.json", #"{"resources": {}}"#)
    let badVariable = try await apphost("config", in: folder.path, environment: ["APPHOST_ENGINE": "dokcer"])
    #expect(badVariable.status == 64, "\(badVariable)")
    #expect(badVariable.errors.contains("APPHOST_ENGINE is \"dokcer\""))
    let version = try await apphost("--version", in: folder.path)
    #expect(version.status == 0)
    #expect(version.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    let help = try await apphost("--help", in: folder.path)
    #expect(help.output.contains("apphost init"))
    #expect(help.output.contains("config"))
  }

  @Test func theSampleManifestIsValid() async throws {
    let result = try await apphost("config", in: Binary.repository)
    #expect(result.status == 0, "\(result)")
    #expect(result.output.contains("app (executable)"))
  }

  @Test func anUnknownCommandIsNamedWithTheNearestOne() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    // (`restart` exists since issue 15; `reload` does not.)
    let restart = try await apphost("reload", "web", in: folder.path)
    #expect(restart.status == 64, "\(restart)")
    #expect(restart.errors.contains(#"unknown command "reload""#), "\(restart)")
    #expect(restart.errors.contains("the commands are up, down"), "\(restart)")
    let typo = try await apphost("uup", "-d", in: folder.path)
    #expect(typo.status == 64 && typo.errors.contains(#"(did you mean "up"?)"#), "\(typo)")
    // Options before the command, and a command's own arguments, are not commands.
    let verbose = try await apphost("--verbose", "help", in: folder.path)
    #expect(verbose.status == 0, "\(verbose)")
  }

  @Test func upDryRunPrintsTheStepsAndChangesNothing() async throws {
    let folder = ProjectFolder()
    defer { folder.remove() }
    folder.write("apphost.json", #"{"name": "dry", "engine": "native", "resources": {"cache": {"type": "redis"}}}"#)
    let dry = try await apphost("up", "--dry-run", in: folder.path)
    #expect(dry.status == 0, "\(dry)")
    #expect(dry.output.contains("up would do this on native (--dry-run: nothing was changed)"), "\(dry)")
    #expect(dry.output.contains("create   cache  (redis-server)"), "\(dry)")
    #expect(!FileManager.default.fileExists(atPath: folder.path + "/.apphost/native"), "a dry run started something")
    let verbose = try await apphost("ps", "--verbose", in: folder.path)
    #expect(verbose.status == 0, "\(verbose)")
    #expect(verbose.errors.contains("apphost: debug:"), "\(verbose)")
  }
}
