import Foundation
import TestSupport
import Testing

/// `"tls": true`, on docker, podman and native: redis and valkey speak TLS only, with a certificate from the
/// project's own CA. Real clients (redis-cli `--tls --cacert`, redis-py with `ssl_ca_certs`, node-redis with
/// `ca`) connect with `NAME_URL` and `NAME_TLS_CA_FILE`; plain text is refused; a read replica follows its
/// primary over TLS; apphost's own client (readiness, `cli`, `SAVE` before `down`) speaks TLS; the data
/// survives `down`/`up`; RedisInsight is wired with the CA and reaches the cache.
@Suite(.enabled(if: !ControlEngines.all.isEmpty, "set APPHOST_TEST_ENGINES (scripts/test does)"))
struct TLSTests {
  static let password = #"t l"s\$pw"#

  /// redis-cli over TLS to `url`, trusting `ca`; its output and errors.
  static func redisCLI(_ url: String, ca: String, _ command: String...) async throws -> String {
    let result = try await execute("redis-cli", ["--no-auth-warning", "-u", url, "--tls", "--cacert", ca] + command)
    return (result.output + result.errors).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test(arguments: ControlEngines.all)
  func tlsCachesServeRealClientsAndRefusePlainText(engine: String) async throws {
    try await ReplicaTests.withProject(engine, "tls") { project, folder in
      let escaped = jsonEscaped(Self.password)
      let insight =
        engine == "native" ? "" : #", "ui": {"type": "redisinsight", "acceptTerms": true}"#
      folder.write(
        "apphost.json",
        #"""
        {"name": "\#(project.name)", "resources": {
          "cache": {"type": "redis", "tls": true, "password": "\#(escaped)", "dataVolume": true, "replicas": 1},
          "vk": {"type": "valkey", "tls": true}\#(insight)}}
        """#)
      try await project.succeed("up", "-d", "--timeout", "180")

      let variables = try await project.variables()
      let url = try #require(variables["CACHE_URL"])
      let ca = try #require(variables["CACHE_TLS_CA_FILE"])
      let port = try #require(variables["CACHE_PORT"])
      #expect(url.hasPrefix("rediss://default:") && url.hasSuffix("@127.0.0.1:\(port)/0"), "\(url)")
      #expect(ca == project.path + "/.apphost/tls/ca.crt")
      #expect(variables["VK_URI"]?.hasPrefix("valkeys://:") == true, "\(variables["VK_URI"] ?? "")")
      #expect(variables["ConnectionStrings__cache"]?.hasSuffix(",ssl=true") == true)

      // The files: keys readable by the user only; the server certificate is the CA's.
      let tls = project.path + "/.apphost/tls"
      for (file, mode) in [("ca.crt", 0o644), ("ca.key", 0o600), ("server.crt", 0o644), ("server.key", 0o600)] {
        let attributes = try FileManager.default.attributesOfItem(atPath: tls + "/" + file)
        #expect((attributes[.posixPermissions] as? Int) == mode, "\(file)")
      }
      let verified = try await execute("openssl", ["verify", "-CAfile", ca, tls + "/server.crt"])
      #expect(verified.output.contains(": OK"), "\(verified)")

      #expect(try await Self.redisCLI(url, ca: ca, "SET", "greeting", "over tls") == "OK")
      #expect(try await Self.redisCLI(try #require(variables["VK_URL"]), ca: ca, "PING") == "PONG")

      // Plain text gets no answer; TLS without the CA is refused by the client.
      let plain = try await execute(
        "redis-cli", ["-h", "127.0.0.1", "-p", port, "--no-auth-warning", "PING"],
        environment: ["REDISCLI_AUTH": Self.password])
      #expect(plain.status != 0 || !plain.output.contains("PONG"), "\(plain)")
      #expect(!plain.output.contains("PONG"), "\(plain)")
      let untrusted = try await execute("redis-cli", ["--no-auth-warning", "-u", url, "--tls", "PING"])
      #expect(!untrusted.output.contains("PONG"), "\(untrusted)")

      let python = try await execute(
        "python3",
        [
          "-c",
          "import os, redis; r = redis.Redis.from_url(os.environ['URL'], ssl_ca_certs=os.environ['CA'], "
            + "decode_responses=True); print(r.get('greeting'))",
        ], environment: ["URL": url, "CA": ca])
      #expect(python.output.trimmingCharacters(in: .whitespacesAndNewlines) == "over tls", "\(python)")
      if FileManager.default.fileExists(atPath: ClientURLTests.nodeModules + "/redis/package.json") {
        let script = """
          const fs = require('fs');
          const { createClient } = require('redis');
          (async () => {
            const client = createClient({ url: process.env.URL, socket: { tls: true, ca: fs.readFileSync(process.env.CA),
              connectTimeout: 5000, reconnectStrategy: false } });
            client.on('error', () => {});
            try { await client.connect(); console.log(await client.get('greeting')); await client.quit(); }
            catch (error) { console.log(error.message); }
          })();
          """
        let node = try await execute(
          "node", ["-e", script], environment: ["NODE_PATH": ClientURLTests.nodeModules, "URL": url, "CA": ca])
        #expect(node.output.trimmingCharacters(in: .whitespacesAndNewlines) == "over tls", "\(node)")
      }

      // The replica follows over TLS.
      let replica = try #require(variables["CACHE_REPLICAS"]?.split(separator: ":").last.map(String.init))
      let replicaURL = url.replacingOccurrences(of: ":\(port)/0", with: ":\(replica)/0")
      let copied = try await eventually(timeout: .seconds(30)) {
        try await Self.redisCLI(replicaURL, ca: ca, "GET", "greeting")
      } until: {
        $0 == "over tls"
      }
      #expect(copied == "over tls")

      // apphost's own client: cli, ps health.
      let cli = try await project.succeed("cli", "cache", "--", "GET", "greeting")
      #expect(cli.output.trimmingCharacters(in: .whitespacesAndNewlines) == "over tls", "\(cli)")
      let rows = try await project.ps()
      #expect(rows["cache"]?["health"] == "healthy" && rows["cache-replica-1"]?["health"] == "healthy", "\(rows)")

      if engine != "native" {
        // RedisInsight's stand-in connects the way the real one does: TLS, checked against RI_REDIS_TLS_CA_PATH.
        let address = try #require(rows["ui"]?["url"])
        let databases = try await execute("curl", ["-s", "--max-time", "10", address + "/cgi-bin/databases"])
        let list = try #require(
          try JSONSerialization.jsonObject(with: Data(databases.output.utf8)) as? [[String: Any]], "\(databases)")
        let cache = list.first { $0["host"] as? String == "cache" }
        #expect(cache?["tls"] as? Bool == true && cache?["ping"] as? String == "PONG", "\(list)")
      }

      // down asks the cache to SAVE (over TLS), and up finds the data and the same CA.
      let down = try await project.succeed("down")
      #expect(!(down.output + down.errors).contains("could not ask it to save"), "\(down)")
      #expect(down.output.contains("saving data before stopping") || engine == "native", "\(down)")
      let before = try String(contentsOfFile: ca, encoding: .utf8)
      try await project.succeed("up", "-d", "--timeout", "180")
      #expect(try String(contentsOfFile: ca, encoding: .utf8) == before)
      let again = try await project.variables()
      #expect(try await Self.redisCLI(try #require(again["CACHE_URL"]), ca: ca, "GET", "greeting") == "over tls")

      try await project.succeed("down", "-v")
      let left = try await project.leftovers()
      #expect(left.isEmpty, "left behind: \(left)")
    }
  }

  /// The compose output of a TLS cache runs on docker-compose and podman-compose: the certificates copied
  /// into the output (`tls/`, the key 0600), the cache healthy by its own check over TLS, a program in a
  /// container that writes with `NAME_URL` and `NAME_TLS_CA_FILE`, and a client on the host that reads it.
  /// The Kubernetes output carries the certificates as Secrets and validates.
  @Test(arguments: PublishTests.composeTools)
  func publishedTLSCachesRunOnCompose(tool: String, engine: String) async throws {
    try await EngineProject.run(engine: engine, "tls-compose") { project in
      let port = try TCPListener.unassignedPort()
      let registry = ProcessInfo.processInfo.environment["APPHOST_IMAGE_REGISTRY"] ?? "docker.io"
      // Unquoted: the URL and the path have no spaces (JSON inside a raw string keeps quotes awkward).
      let program =
        "until redis-cli -u $CACHE_URL --tls --cacert $CACHE_TLS_CA_FILE SET from-program yes | grep -q OK; "
        + "do sleep 0.5; done; exec sleep 600"
      project.manifest(
        #"""
        "cache": {"type": "redis", "tls": true, "password": "pw", "hostPort": \#(port)},
        "writer": {"type": "executable", "command": "sh", "args": ["-c", "\#(program)"],
          "image": "\#(registry)/library/redis:8.6", "references": ["cache"]}
        """#)
      try await project.succeed("publish", "compose", "-o", "deploy")
      let output = project.path + "/deploy"
      let key = try FileManager.default.attributesOfItem(atPath: output + "/tls/server.key")
      #expect((key[.posixPermissions] as? Int) == 0o600)
      #expect(project.folder.read("deploy/.gitignore")?.contains("tls/server.key") == true)
      let ca = output + "/tls/ca.crt"
      #expect(project.folder.read("deploy/tls/ca.crt") == project.folder.read(".apphost/tls/ca.crt"))
      let compose = ["-f", "deploy/docker-compose.yml", "-p", project.name.replacing("-", with: "")]
      try await PublishTests.withComposeProject(tool, compose, engine: engine, in: project.path) {
        let written = try await eventually(timeout: .seconds(90), every: .milliseconds(500)) {
          try await Self.redisCLI("rediss://default:pw@127.0.0.1:\(port)/0", ca: ca, "GET", "from-program")
        } until: {
          $0 == "yes"
        }
        #expect(written == "yes", "the program in its container did not write over TLS")
        // The cache's own healthcheck, over TLS (podman runs it on request: no systemd timers here).
        let id = try await PublishTests.container(engine, project: compose[3], service: "cache")
        let healthy = try await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
          engine == "docker"
            ? try await execute("docker", ["inspect", "--format", "{{.State.Health.Status}}", id]).output
              .trimmingCharacters(in: .whitespacesAndNewlines)
            : (try await execute("podman", ["healthcheck", "run", id]).status == 0 ? "healthy" : "not yet")
        } until: {
          $0 == "healthy"
        }
        #expect(healthy == "healthy")
        let plain = try await execute(
          "redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", "PING"],
          environment: ["REDISCLI_AUTH": "pw"])
        #expect(!plain.output.contains("PONG"), "plain text was answered: \(plain)")
      }

      try await project.succeed("publish", "kubernetes", "-o", "k8s")
      let secrets = try #require(project.folder.read("k8s/secrets.yaml"))
      for name in ["ca.crt", "server.crt", "server.key"] {
        #expect(secrets.contains("  \(name): "), "\(name) is not in a Secret")
      }
      #expect(!secrets.contains("ca.key"))
      let writer = try #require(project.folder.read("k8s/writer.yaml"))
      #expect(writer.contains("mountPath: /run/apphost-tls/ca.crt") && writer.contains("-cache-files"), "\(writer)")
      let cache = try #require(project.folder.read("k8s/cache.yaml"))
      #expect(cache.contains("redis-cli -p 6379 --tls --cacert /run/apphost-tls/ca.crt ping"), "\(cache)")
      let names = try FileManager.default.contentsOfDirectory(atPath: project.path + "/k8s").filter {
        $0.hasSuffix(".yaml")
      }
      let validation = try await execute(
        "kubernetes-validate", ["--strict", "--kubernetes-version", "1.37.0"] + names.map { "k8s/\($0)" },
        in: project.path)
      #expect(validation.status == 0, "\(validation)")
    }
  }
}
