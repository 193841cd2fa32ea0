import Foundation
import Testing

@testable import AppHostKit

struct DashboardAccessTests {
  let token = DashboardAccess.newToken()

  func decide(
    _ method: String = "GET", _ path: String = "/", query: String? = nil, cookie: String? = nil,
    header: String? = nil, action: Bool = false
  ) -> DashboardAccess.Decision {
    DashboardAccess.decide(
      method: method, path: path, queryToken: query, cookie: cookie, actionHeader: header, expected: token,
      isAction: action)
  }

  @Test func tokensAreRandomHexOf32Bytes() {
    let other = DashboardAccess.newToken()
    #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
    #expect(token != other)
  }

  @Test func constantTimeComparison() {
    #expect(DashboardAccess.constantTimeEqual(token, token))
    #expect(!DashboardAccess.constantTimeEqual(String(token.dropLast()) + "x", token))
    #expect(!DashboardAccess.constantTimeEqual(String(token.dropLast()), token))
    #expect(!DashboardAccess.constantTimeEqual(token + "0", token))
    #expect(!DashboardAccess.constantTimeEqual("", token))
  }

  @Test func everyRequestNeedsTheToken() {
    #expect(decide() == .unauthorized)
    let wrong = (token.first == "0" ? "1" : "0") + token.dropFirst()
    #expect(decide(query: wrong) == .unauthorized)
    #expect(decide(cookie: "\(DashboardAccess.cookieName)=\(wrong)") == .unauthorized)
    #expect(decide(cookie: "other=\(token)") == .unauthorized)
    #expect(decide("POST", "/api/action", header: "1", action: true) == .unauthorized)
    #expect(decide(query: token) == .setCookie(redirect: "/"))
    #expect(decide(cookie: "a=b; \(DashboardAccess.cookieName)=\(token)") == .allow)
    #expect(
      DashboardAccess.cookie(token).contains("HttpOnly") && DashboardAccess.cookie(token).contains("SameSite=Strict"))
  }

  @Test func actionsArePostsWithTheHeader() {
    let cookie = "\(DashboardAccess.cookieName)=\(token)"
    #expect(decide("POST", "/api/action", cookie: cookie, header: "1", action: true) == .allow)
    if case .forbidden = decide("POST", "/api/action", cookie: cookie, action: true) {
    } else {
      Issue.record("no header")
    }
    if case .forbidden = decide("GET", "/api/action", cookie: cookie, header: "1", action: true) {
    } else {
      Issue.record("GET")
    }
  }

  @Test func secretsAreMaskedByNameOrByPassword() {
    let passwords = ["hunter2"]
    #expect(SecretMask.isSecret(name: "CACHE_PASSWORD", value: "x", passwords: passwords))
    #expect(SecretMask.isSecret(name: "CACHE_URL", value: "redis://:hunter2@127.0.0.1:1", passwords: passwords))
    #expect(!SecretMask.isSecret(name: "CACHE_HOST", value: "127.0.0.1", passwords: passwords))
    #expect(SecretMask.masked("redis://:hunter2@h:1", name: "U", passwords: passwords) == "redis://:••••••@h:1")
    #expect(SecretMask.masked("abc", name: "API_TOKEN", passwords: passwords) == "••••••")
  }

  @Test func infoFacts() {
    let info = """
      # Server\r
      redis_version:7.2.4\r
      # Clients\r
      connected_clients:3\r
      # Memory\r
      used_memory:1048576\r
      # Stats\r
      instantaneous_ops_per_sec:42\r
      # Keyspace\r
      db0:keys=5,expires=0,avg_ttl=0\r
      db2:keys=7,expires=1,avg_ttl=0\r
      """
    #expect(
      CacheFacts.parse(info)
        == CacheFacts(keys: 12, usedMemory: 1_048_576, connectedClients: 3, opsPerSecond: 42, version: "7.2.4"))
  }

  @Test func thePortIsRememberedWhileFree() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dash-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let state = StateDirectory(projectDirectory: folder)
    // A port of its own: the first free one of 18888... may be taken between two looks by a dashboard the
    // integration tests start meanwhile.
    let first = try LocalPorts.pick()
    try DashboardRecord(port: first, token: token, pid: 1).save(state)
    #expect(DashboardRecord.choosePort(state) == first)
    #expect(DashboardRecord.load(state)?.loginURL == "http://127.0.0.1:\(first)/?token=\(token)")
  }
}
