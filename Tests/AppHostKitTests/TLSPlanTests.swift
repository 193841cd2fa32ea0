import Foundation
import TestSupport
import Testing
import X509

@testable import AppHostKit

/// `"tls": true`: the project's certificates (made once, kept, renewed for new names), the servers'
/// TLS-only settings in containers and natively, what programs and UIs are given, and what is refused.
@Suite struct TLSPlanTests {
  static let manifest =
    #"{"name": "shop", "resources": {"cache": {"type": "redis", "tls": true, "password": "pw", "replicas": 1}, "vk": {"type": "valkey", "tls": true, "password": false}, "plain": {"type": "redis"}, "ui": {"type": "redisinsight"}, "cmd": {"type": "rediscommander"}, "api": {"type": "executable", "command": "/bin/true", "references": ["cache", "vk"]}}}"#

  @Test func theCertificatesAreMadeOnceKeptAndRenewedForNewNames() throws {
    let folder = TemporaryFolder("apphost-tls")
    defer { folder.remove() }
    let store = ProjectCertificates(state: StateDirectory(projectDirectory: folder.path))
    let first = try store.ensure(serverNames: ["cache"])
    for (path, mode) in [
      (store.caCertificatePath, 0o644), (store.caKeyPath, 0o600), (store.serverCertificatePath, 0o644),
      (store.serverKeyPath, 0o600),
    ] {
      let attributes = try FileManager.default.attributesOfItem(atPath: path)
      #expect((attributes[.posixPermissions] as? Int) == mode, "\(path)")
    }
    let ca = try Certificate(pemEncoded: String(contentsOfFile: store.caCertificatePath, encoding: .utf8))
    let server = try Certificate(pemEncoded: String(contentsOfFile: store.serverCertificatePath, encoding: .utf8))
    #expect(ca.subject == ca.issuer && server.issuer == ca.subject)
    #expect(ca.publicKey.isValidSignature(server.signature, for: server), "the CA signed the server certificate")
    #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
    #expect(try server.extensions.basicConstraints == .notCertificateAuthority)
    #expect(ProjectCertificates.dnsNames(of: server) == ["cache", "localhost"])
    let addresses = try #require(try server.extensions.subjectAlternativeNames).compactMap { name -> [UInt8]? in
      if case .ipAddress(let bytes) = name { return Array(bytes.bytes) }
      return nil
    }
    #expect(addresses == ProjectCertificates.addresses, "127.0.0.1 and ::1")
    #expect(server.notValidAfter > Date().addingTimeInterval(365 * 86_400))

    // Kept: the same files while they name what is needed.
    #expect(try store.ensure(serverNames: ["cache"]) == first)
    let caText = try String(contentsOfFile: store.caCertificatePath, encoding: .utf8)

    // A new cache name: a new server certificate from the same CA, with the old names kept.
    let second = try store.ensure(serverNames: ["vk"])
    #expect(second.digest != first.digest)
    #expect(try String(contentsOfFile: store.caCertificatePath, encoding: .utf8) == caText)
    let renewed = try Certificate(pemEncoded: String(contentsOfFile: store.serverCertificatePath, encoding: .utf8))
    #expect(ProjectCertificates.dnsNames(of: renewed) == ["cache", "localhost", "vk"])
    #expect(ca.publicKey.isValidSignature(renewed.signature, for: renewed))

    // Close to its end: made again.
    let later = try store.ensure(serverNames: ["vk"], now: Date().addingTimeInterval(720 * 86_400))
    #expect(later.digest != second.digest)

    // A CA that is gone takes its server certificate with it.
    try FileManager.default.removeItem(atPath: store.caKeyPath)
    let fresh = try store.ensure(serverNames: ["vk"])
    let newCA = try Certificate(pemEncoded: String(contentsOfFile: store.caCertificatePath, encoding: .utf8))
    let newServer = try Certificate(pemEncoded: String(contentsOfFile: store.serverCertificatePath, encoding: .utf8))
    #expect(newCA.publicKey != ca.publicKey && newCA.publicKey.isValidSignature(newServer.signature, for: newServer))
    #expect(fresh.digest != later.digest)
  }

  @Test func aTLSCacheServesTLSOnlyWithTheMountedCertificate() throws {
    let plan = try plan(Self.manifest)
    let cache = try #require(plan.container("cache"))
    let command = try #require(cache.command.last)
    #expect(
      command.contains(
        "--port 0 --tls-port 6379 --tls-cert-file /run/apphost-tls/server.crt --tls-key-file /tmp/apphost-tls.key "
          + "--tls-ca-cert-file /run/apphost-tls/ca.crt --tls-auth-clients no"), "\(command)")
    #expect(!command.contains("tls-replication"), "a primary replicates to its replicas as their server")
    #expect(
      command.hasPrefix(
        "(umask 077 && cat /run/apphost-tls/server.key > /tmp/apphost-tls.key) && { chown redis /tmp/apphost-tls.key "
          + "2>/dev/null || :; } && "), "\(command)")
    let tls = "/projects/shop/.apphost/tls/"
    #expect(
      cache.mounts.filter { $0.target.hasPrefix("/run/apphost-tls") }
        == [
          Mount(source: .bind(tls + "ca.crt"), target: "/run/apphost-tls/ca.crt", readOnly: true),
          Mount(source: .bind(tls + "server.crt"), target: "/run/apphost-tls/server.crt", readOnly: true),
          Mount(source: .bind(tls + "server.key"), target: "/run/apphost-tls/server.key", readOnly: true),
        ])
    for container in plan.containers {
      #expect(!container.mounts.contains { $0.source == .bind(tls + "ca.key") }, "the CA's key stays on the host")
    }
    #expect(cache.health == .resp(password: .secret("pw"), tls: TLSClient(caFile: tls + "ca.crt")))
    #expect(cache.labels.contains(Label(LabelKey.tls, "true")))
    #expect(cache.server?.tls?.serverKey == tls + "server.key")

    let replica = try #require(plan.container("cache-replica-1"))
    #expect(replica.command.last?.contains("--tls-auth-clients no --tls-replication yes") == true)
    #expect(replica.health == .replica(password: .secret("pw"), tls: TLSClient(caFile: tls + "ca.crt")))
    #expect(replica.labels.contains(Label(LabelKey.tls, "true")))

    let valkey = try #require(plan.container("vk")?.command.last)
    #expect(valkey.contains("chown valkey /tmp/apphost-tls.key") && valkey.contains("--tls-port 6379"))
    let plain = try #require(plan.container("plain"))
    #expect(!(plain.command.last ?? "").contains("tls") && plain.health == .resp(password: plain.health.password))
  }

  @Test func aNewCertificateRecreatesTheServer() throws {
    let loaded = try load(Self.manifest)
    var context = PlanContext(generatedPasswords: ["plain": "x"])
    context.tls = TLSFiles(
      caCertificate: "/c/ca.crt", serverCertificate: "/c/s.crt", serverKey: "/c/s.key", digest: "1")
    let first = try Planner.plan(loaded, context: context)
    context.tls?.digest = "2"
    let second = try Planner.plan(loaded, context: context)
    #expect(first.container("cache")?.configHash != second.container("cache")?.configHash)
    #expect(first.container("plain")?.configHash == second.container("plain")?.configHash)
  }

  @Test func programsGetRedissURLsAndTheCAFile() throws {
    let plan = try plan(Self.manifest)
    let api = try #require(plan.executable("api"))
    let ports = ["cache": 50001, "cache-replica-1": 50002, "vk": 50003]
    let variables = Dictionary(
      uniqueKeysWithValues: try ConnectionVariables.reveal(api.environment, ports: ports).map { ($0.name, $0.value) })
    func value(_ name: String) -> String? { variables[name] }
    #expect(value("CACHE_TLS_CA_FILE") == "/projects/shop/.apphost/tls/ca.crt")
    #expect(value("VK_TLS_CA_FILE") == "/projects/shop/.apphost/tls/ca.crt")
    #expect(value("CACHE_URL") == "rediss://default:pw@127.0.0.1:50001/0")
    #expect(value("REDIS_URL") == value("CACHE_URL"))
    #expect(value("CACHE_URI") == "rediss://:pw@127.0.0.1:50001")
    #expect(value("VK_URI") == "valkeys://127.0.0.1:50003")
    #expect(value("VK_URL") == "rediss://127.0.0.1:50003/0")
    #expect(value("ConnectionStrings__cache") == "127.0.0.1:50001,127.0.0.1:50002,password=pw,ssl=true")
    #expect(value("ConnectionStrings__vk") == "127.0.0.1:50003,ssl=true")
    let endpoint = try #require(plan.endpoint("cache"))
    #expect(endpoint.tlsClient == TLSClient(caFile: "/projects/shop/.apphost/tls/ca.crt"))
    #expect(plan.endpoint("plain")?.tlsClient == nil)
  }

  @Test func redisInsightIsWiredWithTheCAAndRedisCommanderShowsThePlainCaches() throws {
    let plan = try plan(Self.manifest)
    let insight = try #require(plan.container("ui"))
    func value(_ name: String) -> String? { insight.environment[name]?.revealed() }
    #expect(value("RI_REDIS_HOST1") == "cache" && value("RI_REDIS_TLS1") == "true")
    #expect(value("RI_REDIS_TLS_CA_PATH1") == "/run/apphost-tls/ca.crt")
    #expect(value("RI_REDIS_TLS2") == "true" && value("RI_REDIS_TLS3") == nil)
    #expect(
      insight.mounts.filter { $0.target != "/data" } == [
        Mount(source: .bind("/projects/shop/.apphost/tls/ca.crt"), target: "/run/apphost-tls/ca.crt", readOnly: true)
      ])
    let commander = try #require(plan.container("cmd"))
    #expect(commander.caches == ["plain"])
    #expect(commander.environment["REDIS_HOSTS"]?.revealed()?.hasPrefix("plain:plain:6379:0:") == true)
  }

  @Test func theNativeServerTakesTLSOnItsPort() throws {
    let plan = try plan(Self.manifest, native: true)
    let server = try #require(plan.container("cache")?.server)
    let launch = NativeLaunch.make(
      server: server, program: "redis-server", port: 4242, dataFolder: "/d", secretFile: "/s.conf")
    let lines = try #require(launch.secretFileContents).split(separator: "\n").map(String.init)
    #expect(lines.contains("port 0") && lines.contains("tls-port 4242"), "\(lines)")
    #expect(lines.contains(#"tls-cert-file "/projects/shop/.apphost/tls/server.crt""#))
    #expect(lines.contains(#"tls-key-file "/projects/shop/.apphost/tls/server.key""#))
    #expect(lines.contains(#"tls-ca-cert-file "/projects/shop/.apphost/tls/ca.crt""#))
    #expect(lines.contains("tls-auth-clients no") && !lines.contains("tls-replication yes"))
    let replica = try #require(plan.container("cache-replica-1")?.server)
    let replicaLines = try #require(
      NativeLaunch.make(server: replica, program: "redis-server", port: 4243, dataFolder: "/d", secretFile: "/s")
        .secretFileContents)
    #expect(replicaLines.contains("tls-replication yes\n"))
    #expect(NativeLaunch.described(server, resource: "cache").contains("tls-port {cache.port}"))
  }

  @Test func garnetAndACommanderNamingATLSCacheAreRefused() throws {
    let garnet = diagnostics(#"{"name": "shop", "resources": {"g": {"type": "garnet", "tls": true}}}"#)
    #expect(garnet.map(\.path.description) == ["resources.g.tls"])
    #expect(garnet.first?.message.contains("PKCS#12") == true && garnet.first?.message.contains("valkey") == true)
    let commander = diagnostics(
      #"{"name": "shop", "resources": {"c": {"type": "redis", "tls": true}, "cmd": {"type": "rediscommander", "caches": ["c"]}}}"#
    )
    #expect(commander.map(\.path.description) == ["resources.cmd.caches[0]"])
    #expect(commander.first?.message.contains("REDIS_HOSTS") == true)
    let notBool = diagnostics(#"{"name": "shop", "resources": {"c": {"type": "redis", "tls": "yes"}}}"#)
    #expect(notBool.map(\.path.description) == ["resources.c.tls"])
  }
}
