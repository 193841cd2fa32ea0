import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// "`dataBindMount` ... written as you": apphost run by a user who is not root, as developers run it.
/// Every other test runs as root, where "as you" and "as root" cannot be told apart.
@Suite(.enabled(if: TestEngines.all.contains("docker"), "needs the docker test engine"))
struct NonRootTests {
  static let user = "apphost-test"

  /// The user's uid and gid, creating the user when it does not exist (the suite runs as root).
  static func ensureUser() async throws -> (uid: UInt32, gid: UInt32) {
    if try await execute("id", ["-u", user]).status != 0 {
      try #require(geteuid() == 0, "creating the user \(user) needs root; run the suite as root (scripts/test does)")
      let made = try await execute("useradd", ["-m", user])
      // Another test may have made it in the meantime (both run at once on a fresh machine): useradd then
      // says it exists (exit 9), and the user is there all the same.
      let exists = try await execute("id", ["-u", user]).status == 0
      try #require(made.status == 0 || (made.status == 9 && exists), "useradd -m \(user): \(made)")
    }
    let uid = try #require(
      UInt32(try await execute("id", ["-u", user]).output.trimmingCharacters(in: .whitespacesAndNewlines)))
    let gid = try #require(
      UInt32(try await execute("id", ["-g", user]).output.trimmingCharacters(in: .whitespacesAndNewlines)))
    try #require(uid != 0)
    return (uid, gid)
  }

  @Test func bindMountsAreWrittenAsTheUserWhoRunsApphost() async throws {
    let (uid, gid) = try await Self.ensureUser()
    try await EngineProject.run(engine: "docker", "nonroot") { project in
      // The user reaches docker through a socket of its own (as members of the docker group do), not
      // through the shared engine's socket.
      let real = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? "unix:///var/run/docker.sock"
      try #require(real.hasPrefix("unix://"), "DOCKER_HOST is \(real): this test needs the engine on a unix socket")
      let socket = project.path + "/user-docker.sock"
      let proxy = try SocketProxy(listening: socket, forwardingTo: String(real.dropFirst("unix://".count)))
      defer { proxy.stop() }
      chmod(socket, 0o666)
      project.manifest(
        """
        "cache": {"type": "redis", "dataBindMount": {"source": "./data/cache"}},
        "sessions": {"type": "valkey", "dataBindMount": {"source": "./data/sessions"}},
        "g": {"type": "garnet", "dataBindMount": {"source": "./data/g"}}
        """)
      chown(project.path, uid, gid)
      chown(project.path + "/apphost.json", uid, gid)
      func asUser(_ arguments: String...) async throws -> CommandResult {
        var environment = [
          "DOCKER_HOST=unix://\(socket)", "APPHOST_ENGINE=docker", "NO_COLOR=1", "HOME=/home/\(Self.user)",
          "PATH=/usr/local/bin:/usr/bin:/bin",
        ]
        if let registry = ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] {
          environment.append("APPHOST_IMAGE_REGISTRY=\(registry)")
        }
        return try await execute(
          "runuser", ["-u", Self.user, "--", "env", "-i"] + environment + [Binary.path] + arguments, in: project.path)
      }
      let whoami = try await execute("runuser", ["-u", Self.user, "--", "id", "-u"])
      #expect(whoami.output == "\(uid)\n", "the commands below run as uid \(uid): \(whoami)")

      let up = try await asUser("up", "-d")
      try #require(up.status == 0, "\(up)")
      let environment = try await asUser("env", "--format", "json")
      let variables = try JSONSerialization.jsonObject(with: Data(environment.output.utf8)) as? [String: String] ?? [:]
      for name in ["CACHE", "SESSIONS", "G"] {
        let set = try await project.redis(
          port: variables["\(name)_PORT"], password: variables["\(name)_PASSWORD"], "SET", "written-by", name)
        #expect(set == "OK", "\(name): \(set)")
      }
      let down = try await asUser("down")
      #expect(down.status == 0, "\(down)")

      // What the caches wrote belongs to the user, and nothing in the project is root's.
      var files: [String: (uid: UInt32, gid: UInt32)] = [:]
      for entry in try FileManager.default.subpathsOfDirectory(atPath: project.path + "/data") {
        var info = stat()
        guard lstat(project.path + "/data/" + entry, &info) == 0 else { continue }
        files[entry] = (info.st_uid, info.st_gid)
      }
      #expect(files.keys.contains("cache/dump.rdb"), "\(files.keys.sorted())")
      #expect(files.keys.contains("sessions/dump.rdb"), "\(files.keys.sorted())")
      #expect(files.keys.contains { $0.hasPrefix("g/") }, "Garnet could write: \(files.keys.sorted())")
      for (path, owner) in files {
        #expect(owner.uid == uid && owner.gid == gid, "data/\(path) belongs to \(owner.uid):\(owner.gid)")
      }
      var state = stat()
      #expect(lstat(project.path + "/.apphost/secrets.json", &state) == 0 && state.st_uid == uid)

      // And it is read back by the next up of the same user.
      let again = try await asUser("up", "-d")
      try #require(again.status == 0, "\(again)")
      let after = try await asUser("env", "--format", "json")
      let next = try JSONSerialization.jsonObject(with: Data(after.output.utf8)) as? [String: String] ?? [:]
      for name in ["CACHE", "SESSIONS", "G"] {
        let value = try await project.redis(
          port: next["\(name)_PORT"], password: next["\(name)_PASSWORD"], "GET", "written-by")
        #expect(value == name, "\(name): \(value)")
      }
      #expect(try await asUser("down", "-v").status == 0)
      print(
        "fault-summary: docker, as uid \(uid): bind mounts of redis, valkey and garnet written as the user (\(files.count) files), read back by the next up"
      )
    }
  }
}
