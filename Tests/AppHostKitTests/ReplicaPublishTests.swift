import Foundation
import Testing

@testable import AppHostKit

/// `publish compose` and `publish kubernetes` of a cache with read replicas.
@Suite struct ReplicaPublishTests {
  @Test func publishedEndpointsNameEveryNodeOnTheNetwork() throws {
    let plan = try plan(ReplicaPlanTests.manifest)
    let inside = try #require(plan.networkEndpoints.first { $0.resource == "cache" })
    #expect(inside.replicaAddresses?.masked() == "cache-replica-1:6379,cache-replica-2:6379")
    #expect(
      inside.connectionString.masked() == "cache:6379,cache-replica-1:6379,cache-replica-2:6379,password=********")
  }

  static let manifest =
    #"{"name": "shop", "resources": {"cache": {"type": "valkey", "password": "pw", "dataVolume": true, "replicas": 1}, "api": {"type": "executable", "command": "python3", "image": "python:3", "references": ["cache"]}}}"#

  @Test func composeCarriesEachReplicaAsAServiceAfterItsPrimary() throws {
    let files = try PublishComposeTests().compose(Self.manifest)
    let text = try #require(files[ComposeWriter.fileName]?.text)
    #expect(text.contains("  cache-replica-1:\n"))
    #expect(text.contains("exec valkey-server /tmp/apphost-redis.conf --replicaof cache 6379 --save 60 1\""))
    #expect(text.contains(#"masterauth \"%s\"\\n"#))
    #expect(text.contains("    - \"shop-cache-data-replica-1:/data\"\n"))
    #expect(text.contains("info replication | grep -q master_link_status:up"))
    #expect(
      text.contains(
        "    depends_on:\n      cache:\n        condition: service_healthy\n    restart: unless-stopped\n  api:"))
    #expect(
      text.contains(
        "    depends_on:\n      cache:\n        condition: service_healthy\n      cache-replica-1:\n"
          + "        condition: service_healthy\n"))
    #expect(text.contains("      CACHE_REPLICAS: \"cache-replica-1:6379\"\n"))
    #expect(files["cache-replica-1.env"]?.text.contains("VALKEY_PASSWORD=pw") == true)
    #expect(
      files["api.env"]?.text.contains("ConnectionStrings__cache=cache:6379,cache-replica-1:6379,password=pw") == true)
  }

  @Test func kubernetesCarriesEachReplicaAsAStatefulSet() throws {
    let files = try PublishKubernetesTests().kubernetes(Self.manifest)
    let replica = try #require(files["cache-replica-1.yaml"])
    #expect(replica.contains("kind: StatefulSet") && replica.contains("--replicaof cache 6379"))
    #expect(replica.contains("master_link_status:up"))
    #expect(files["api.yaml"]?.contains("cache:6379,cache-replica-1:6379,password=$(CACHE_PASSWORD)") == true)
  }
}
