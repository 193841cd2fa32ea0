/// Readiness checks that run inside the containers (compose healthchecks, Kubernetes readiness probes):
/// the same test apphost makes from outside — `PING` answered after `AUTH`, a health URL answering —
/// with the tools each image has.
package enum HealthScripts {
  /// A `/bin/sh` script that exits 0 when the container is ready. It reads the password from the
  /// container's own environment, so it holds no secret.
  package static func script(for container: ContainerPlan) -> String {
    let password =
      container.environment.contains { $0.name == passwordVariable(container.kind) }
      ? passwordVariable(container.kind) : nil
    // A TLS-only cache: the image's client over TLS, checking the certificate against the mounted CA.
    let port =
      "-p \(container.containerPort)"
      + (container.health.tls == nil ? "" : " --tls --cacert \(ServerCommand.tlsCAFile)")
    if let master = container.sentinelOf {
      // A sentinel: it knows enough sentinels to agree on a failover and to authorize one, and (as
      // `apphost up` waits for) the cache's replicas, one of which it would promote: a sentinel learns of
      // them from the primary, every 10 s, so one that has not yet would have nothing to fail over to.
      let cli = "\(client(container.kind, passwordVariable: password)) \(port)"
      var check = "\(cli) sentinel ckquorum \(master) | grep -q OK"
      if case .sentinel(_, _, _, let replicas, _) = container.health, replicas > 0 {
        check +=
          " && [ \"$(\(cli) sentinel master \(master) | grep -x -A 1 num-slaves | tail -n 1)\" -ge \(replicas) ] 2>/dev/null"
      }
      return check
    }
    switch container.kind {
    case .redis, .valkey:
      let cli = "\(client(container.kind, passwordVariable: password)) \(port)"
      return "\(cli) ping | grep -q PONG" + linkCheck(container, cli)
    case .garnet:
      // Garnet's image has no redis-cli: RESP by hand, through bash's /dev/tcp, or nc where there is no
      // bash. QUIT makes the server close the connection, so the check ends at once.
      let port = container.containerPort
      let ping = #"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n"#
      // The password is expanded only by the shells' built-in printf, from the environment each shell
      // inherits: as an argument of bash it would show in the host's process list at every check.
      let (format, arguments) =
        password.map { (#"*2\r\n$4\r\nAUTH\r\n$%s\r\n%s\r\n"# + ping, #" "${#\#($0)}" "$\#($0)""#) } ?? (ping, "")
      return "request='\(format)'; if command -v bash >/dev/null 2>&1; then "
        + "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(port) && printf \"$1\"\(arguments) >&3 && timeout 2 cat <&3' sh \"$request\""
        + " | grep -q PONG; else printf \"$request\"\(arguments) | nc -w 2 127.0.0.1 \(port) | grep -q PONG; fi"
    case .redisinsight, .rediscommander:
      guard case .http(let path) = container.health else { return "true" }
      let expected = container.kind == .redisinsight ? "up" : "ok"
      return "wget -q -O - http://127.0.0.1:\(container.containerPort)\(path) | grep -q \(expected)"
    }
  }

  /// The script that forms a published cluster once its nodes answer, as `apphost up` does (compose's
  /// one-shot service, Kubernetes' Job): `redis-cli --cluster create` over the nodes' service names, unless
  /// the cluster is formed already (its volumes kept it); then it waits for `cluster_state:ok`.
  static func clusterForming(_ cluster: ClusterPlan, nodes: [ContainerPlan]) -> String {
    guard let first = nodes.first else { return "exit 1" }
    let variable = ServerCommand.passwordVariable(first.kind == .valkey ? .valkey : .redis)
    let hasPassword = first.environment.contains { $0.name == variable }
    let cli = client(first.kind, passwordVariable: hasPassword ? variable : nil)
    let tls = first.health.tls == nil ? "" : " --tls --cacert \(ServerCommand.tlsCAFile)"
    let addresses = nodes.map { "\($0.resource):\($0.containerPort)" }
    return [
      "cli() { \(cli) --no-auth-warning\(tls) \"$@\"; }",
      "wait_for() { i=0; until \"$@\" 2>/dev/null; do i=$((i+1)); [ $i -lt 120 ] || { echo \"gave up waiting: $*\" >&2; exit 1; }; sleep 1; done; }",
      "pong() { cli -h \"${1%:*}\" -p \"${1#*:}\" ping | grep -q PONG; }",
      "for node in \(addresses.joined(separator: " ")); do wait_for pong \"$node\"; done",
      "ok() { cli -h \(first.resource) -p \(first.containerPort) cluster info | grep -q cluster_state:ok; }",
      "if ok; then echo 'the cluster \(cluster.resource) is formed already'; exit 0; fi",
      "cli --cluster create \(addresses.joined(separator: " ")) --cluster-replicas \(cluster.replicasPerShard) --cluster-yes || exit 1",
      "wait_for ok",
      "echo 'the cluster \(cluster.resource) is formed'",
    ].joined(separator: "\n")
  }

  /// For a read replica: its link to the primary is up (it has its copy of the dataset).
  private static func linkCheck(_ container: ContainerPlan, _ cli: String) -> String {
    guard container.replicaOf != nil else { return "" }
    return " && \(cli) info replication | grep -q master_link_status:up"
  }

  /// The image's client (`redis-cli`, `valkey-cli`), given the password from the container's environment
  /// variable `passwordVariable` (never as an argument, which the host's process list shows).
  static func client(_ kind: ContainerKind, passwordVariable: String?) -> String {
    let cli = kind == .valkey ? "valkey-cli" : "redis-cli"
    guard let variable = passwordVariable else { return cli }
    let auth = "REDISCLI_AUTH=\"$\(variable)\" "
    return (kind == .valkey ? "VALKEYCLI_AUTH=\"$\(variable)\" " + auth : auth) + cli
  }

  private static func passwordVariable(_ kind: ContainerKind) -> String {
    switch kind {
    case .redis: ServerCommand.passwordVariable(.redis)
    case .valkey: ServerCommand.passwordVariable(.valkey)
    case .garnet: ServerCommand.passwordVariable(.garnet)
    case .redisinsight, .rediscommander: ""
    }
  }
}
