import Foundation
import Testing

@testable import AppHostKit

@Suite struct EngineCommandsTests {
  /// Real `container inspect` output of docker 28 and podman 4.3 for the same container.
  @Test(arguments: ["docker", "podman"])
  func parsesInspectOutput(engine: String) throws {
    let text = try String(
      contentsOfFile: "\(Paths.repository)/Tests/Fixtures/engine/inspect-\(engine).json", encoding: .utf8)
    let records = try EngineCommands.parseInspect(text)
    let record = try #require(records.first)
    #expect(records.count == 1)
    #expect(record.name == "p1-cache")
    #expect(record.id.count == 64)
    #expect(record.state == .running)
    #expect(record.isRunning)
    #expect(record.labels["apphost.project"] == "p1")
    #expect(record.projectDirectory == "/tmp/a,b")
    #expect(record.environment["X"] == "s3cret")
    #expect(record.ports[6379] == (engine == "docker" ? 32768 : 38739))
    #expect(record.image == "localhost/apphost-fixtures/library/redis:8.6")
  }

  /// Real `ps` output (listContainers' format) of docker 20.10 and podman 4.3: a running cache and a
  /// container that exited with 3, in a project folder whose path has a comma.
  @Test(arguments: [EngineFlavor.docker, .podman])
  func parsesListOutput(engine: EngineFlavor) throws {
    let file = engine == .docker ? "ps-docker.txt" : "ps-podman.json"
    let text = try String(contentsOfFile: "\(Paths.repository)/Tests/Fixtures/engine/\(file)", encoding: .utf8)
    let records = try EngineCommands.parseList(engine, text)
    #expect(records.count == 2)
    let cache = try #require(records.first { $0.name == "p1-cache" })
    #expect(cache.id.count == 64)
    #expect(cache.state == .running)
    #expect(cache.resource == "cache")
    #expect(cache.projectDirectory == "/tmp/a,b")
    #expect(cache.configHash == "abc")
    #expect(cache.ports[6379] == (engine == .docker ? 32773 : 45705))
    #expect(cache.image == "localhost/apphost-fixtures/library/redis:8.6")
    #expect(!cache.networks.isEmpty)
    let gone = try #require(records.first { $0.name == "p1-gone" })
    #expect(gone.state == .exited)
    #expect(gone.exitCode == 3)
    #expect(gone.ports.isEmpty)
    #expect(gone.labels[LabelKey.lifetime] == nil)
  }

  @Test func dockerListFieldsAreRead() throws {
    #expect(EngineCommands.exitCode(status: "Exited (137) 2 seconds ago") == 137)
    #expect(EngineCommands.exitCode(status: "Up 3 minutes (healthy)") == 0)
    #expect(
      EngineCommands.dockerPorts("0.0.0.0:1->6379/tcp, 127.0.0.1:2->6379/tcp, [::1]:3->5540/tcp, 8081/tcp")
        == [6379: 2, 5540: 3])
    #expect(throws: AppHostError.self) { try EngineCommands.parseList(.docker, "[\"too few\"]") }
    #expect(throws: AppHostError.self) { try EngineCommands.parseList(.podman, "not json") }
    #expect(try EngineCommands.parseList(.docker, "\n").isEmpty)
    #expect(try EngineCommands.parseList(.podman, "[]").isEmpty)
  }

  @Test func emptyInspectOutputIsNoContainers() throws {
    #expect(try EngineCommands.parseInspect("").isEmpty)
    #expect(try EngineCommands.parseInspect("[]\n").isEmpty)
    #expect(throws: AppHostError.self) { try EngineCommands.parseInspect("not json") }
  }

  @Test func ports() {
    #expect(EngineCommands.parsePort("127.0.0.1:32768\n") == 32768)
    #expect(EngineCommands.parsePort("[::1]:5000\n127.0.0.1:49153\n") == 49153)
    #expect(EngineCommands.parsePort("") == nil)
  }

  @Test func rootless() {
    #expect(EngineCommands.parseRootless(.docker, #"["name=seccomp,profile=builtin","name=rootless"]"#))
    #expect(!EngineCommands.parseRootless(.docker, #"["name=seccomp,profile=default"]"#))
    #expect(EngineCommands.parseRootless(.podman, "true\n"))
    #expect(!EngineCommands.parseRootless(.podman, "false\n"))
  }

  @Test func errorsAreRecognisedAndTrimmed() {
    let docker = """
      docker: Error response from daemon: Conflict. The container name "/p1-cache" is already in use.

      Run 'docker run --help' for more information
      """
    #expect(
      EngineCommands.essentialError(docker)
        == #"docker: Error response from daemon: Conflict. The container name "/p1-cache" is already in use."#)
    #expect(EngineCommands.essentialError("failed to connect to syslog: Initialization\nError: boom") == "Error: boom")
    #expect(
      EngineCommands.isUnavailable(
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"))
    #expect(!EngineCommands.isUnavailable("Error: No such object: x"))
    #expect(EngineCommands.isAlreadyExists("Error: network name p1 already used: network already exists"))
    #expect(EngineCommands.isNoSuchObject("Error: No such object: nosuch"))
    #expect(EngineCommands.isNoSuchObject(#"Error: inspecting object: no such object: "nosuch""#))
    #expect(EngineCommands.portInUse("Bind for 127.0.0.1:6379 failed: port is already allocated"))
    #expect(EngineCommands.portInUse("rootlessport listen tcp 127.0.0.1:6379: bind: address already in use"))
    #expect(
      EngineCommands.imageUnavailable(
        "Unable to find image 'x:1' locally\ndocker: Error response from daemon: pull access denied"))
    #expect(
      EngineCommands.imageUnavailable("Error: initializing source docker://localhost/x:1: pinging container registry"))
  }

  @Test func commandLines() {
    #expect(
      EngineCommands.listContainers(.podman, project: "shop") == [
        "ps", "--all", "--no-trunc", "--filter", "label=apphost.project=shop", "--format", "json",
      ])
    #expect(EngineCommands.remove(["a", "b"]) == ["rm", "--force", "--volumes", "a", "b"])
    #expect(EngineCommands.stop(["a"], grace: .seconds(10)) == ["stop", "--time", "10", "a"])
    #expect(EngineCommands.logs("a", tail: 20, follow: true) == ["logs", "--follow", "--tail", "20", "a"])
    #expect(EngineCommands.port("a", containerPort: 6379) == ["port", "a", "6379/tcp"])
    #expect(
      EngineCommands.listVolumes(project: "p", directory: "/d") == [
        "volume", "ls", "--quiet", "--filter", "label=apphost.project=p", "--filter", "label=apphost.project-dir=/d",
      ])
  }
}

@Suite struct RESPTests {
  func parse(_ text: String) throws -> (RESPValue, Int)? {
    try RESP.parse(Array(text.utf8)[...])
  }

  @Test func encodesCommands() {
    #expect(RESP.encode(["SET", "k", "é"]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n".utf8))
  }

  @Test(arguments: [
    ("+PONG\r\n", RESPValue.simple("PONG"), 7),
    ("-ERR bad\r\n", .error("ERR bad"), 10),
    (":42\r\n", .integer(42), 5),
    ("$3\r\nabc\r\n", .bulk(Array("abc".utf8)), 9),
    ("$-1\r\n", .bulk(nil), 5),
    ("*2\r\n$1\r\na\r\n:1\r\n", .array([.bulk(Array("a".utf8)), .integer(1)]), 15),
    ("*-1\r\n", .array(nil), 5),
    ("_\r\n", .null, 3),
    ("#t\r\n", .boolean(true), 4),
    (",1.5\r\n", .double("1.5"), 6),
    ("%1\r\n+a\r\n:1\r\n", .map([(.simple("a"), .integer(1))]), 12),
    (">2\r\n+message\r\n+x\r\n", .push([.simple("message"), .simple("x")]), 18),
  ])
  func parsesReplies(text: String, value: RESPValue, used: Int) throws {
    let parsed = try #require(try parse(text))
    #expect(parsed.0 == value)
    #expect(parsed.1 == used)
  }

  @Test(arguments: ["", "+PON", "$3\r\nab", "*2\r\n:1\r\n"])
  func waitsForMoreBytes(text: String) throws {
    #expect(try parse(text) == nil)
  }

  @Test func rejectsGarbage() {
    #expect(throws: RESP.ParseError.self) { try parse("hello\r\n") }
  }

  @Test func rendersLikeRedisCLI() {
    #expect(RESP.render(.bulk(Array("v".utf8))) == "\"v\"")
    #expect(RESP.render(.integer(3)) == "(integer) 3")
    #expect(RESP.render(.bulk(nil)) == "(nil)")
    #expect(
      RESP.render(.array([.bulk(Array("a".utf8)), .array([.integer(1), .integer(2)])]))
        == "1) \"a\"\n2) 1) (integer) 1\n   2) (integer) 2")
    #expect(RESP.render(.array([])) == "(empty array)")
    #expect(RESP.render(.error("ERR x")) == "(error) ERR x")
  }
}

@Suite struct EnvironmentFormatTests {
  let variables = [(name: "A", value: "plain"), (name: "B", value: "it's $HOME \"x\"\nnext")]

  @Test func dotenv() {
    #expect(EnvironmentFormat.dotenv.render(variables) == "A=plain\nB=\"it's \\$HOME \\\"x\\\"\\nnext\"")
  }

  @Test func shellIsSafeForEval() {
    #expect(EnvironmentFormat.shell.render(variables) == "export A='plain'\nexport B='it'\\''s $HOME \"x\"\nnext'")
  }

  @Test func json() throws {
    let text = EnvironmentFormat.json.render(variables)
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
    #expect(object == ["A": "plain", "B": "it's $HOME \"x\"\nnext"])
  }
}

@Suite struct ProcessIdentityTests {
  @Test func theCurrentProcessIsAliveAndADeadOneIsNot() {
    let me = ProcessIdentity.current
    #expect(me.isAlive)
    #expect(!ProcessIdentity(pid: me.pid, startTime: "1").isAlive, "same pid, another start: a reused pid")
    #expect(!ProcessIdentity(pid: 999_999_999, startTime: me.startTime).isAlive)
  }

  @Test func leftoversAreSessionContainersOfAGoneForegroundUp() {
    var record = ContainerRecord(
      id: "x", name: "p-cache",
      labels: ["apphost.lifetime": "session", "apphost.owner-pid": "999999999", "apphost.owner-start": "1"],
      environment: [:], state: .running, exitCode: 0, ports: [:], image: "")
    #expect(record.isLeftover)
    record.labels["apphost.detached"] = "true"
    #expect(!record.isLeftover)
    record.labels["apphost.detached"] = nil
    record.labels["apphost.lifetime"] = "persistent"
    #expect(!record.isLeftover)
    record.labels["apphost.lifetime"] = "session"
    record.labels["apphost.owner-pid"] = String(getpid())
    record.labels["apphost.owner-start"] = ProcessIdentity.current.startTime
    #expect(!record.isLeftover)
  }
}
