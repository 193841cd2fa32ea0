import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Every process's command line while a test runs: processes in containers (children of the engine's
/// daemon, which no tracer of apphost sees) and short-lived ones. Two threads: one reads every
/// `/proc/PID/cmdline` in a loop (a pass takes 4–10 ms with ~900 processes on a loaded 2-core
/// machine), the other reads a process's command line the moment it execs, told by the kernel's
/// process-events connector (netlink, root only). redis-server rewrites its argument list a few
/// milliseconds after it starts: the loop alone missed one planted password in three under load, the
/// exec events do not. `SecretArgumentTests` proves it with planted ones. Only processes with a command
/// line count (kernel threads and zombies have none). An unreadable /proc is a failure, never an
/// empty pass.
final class ArgumentWatch: @unchecked Sendable {
  struct Report {
    /// Why the watch could not see the processes; nil when it could.
    var unreadable: String?
    /// Distinct processes (pid and start time) that had a command line.
    var processes: Int
    /// Times every process was read.
    var passes: Int
    /// Exec events the kernel reported (nil: the connector was not available, the loop alone watched).
    var execEvents: Int?
    var seconds: Double
    /// pid and every distinct command line it had (arguments joined by spaces).
    var commandLines: [(pid: Int32, line: String)]

    /// The command lines containing any of `secrets`.
    func leaks(of secrets: [String]) -> [String] {
      commandLines.filter { entry in secrets.contains { !$0.isEmpty && entry.line.contains($0) } }
        .map { "pid \($0.pid): \($0.line)" }
    }

    var milliseconds: Double { passes > 0 ? seconds * 1000 / Double(passes) : 0 }
  }

  private struct Identity: Hashable {
    var pid: Int32
    var start: UInt64
  }

  private let root: String
  private let lock = NSLock()
  private var stopping = false
  private var finished = false
  private var unreadable: String?
  private var lines: [Identity: Set<[UInt8]>] = [:]
  private var passes = 0
  private var running = 0
  private var execEvents: Int?
  private let began = ContinuousClock.now
  private var ended = ContinuousClock.now

  private let polling: Bool

  /// Starts watching `root` (/proc; another path only to test the watch itself). `polling: false`
  /// leaves the exec events alone after a first pass (to prove that they catch what they must).
  init(root: String = "/proc", polling: Bool = true) {
    self.root = root
    self.polling = polling
    running = 2
    let thread = Thread { [self] in self.loop() }
    thread.stackSize = 1 << 20
    thread.start()
    let events = Thread { [self] in self.listen() }
    events.stackSize = 1 << 20
    events.start()
  }

  /// Stops the watch and returns what it saw.
  func stop() async -> Report {
    lock.withLock { stopping = true }
    while !lock.withLock({ finished }) { try? await Task.sleep(for: .milliseconds(5)) }
    return lock.withLock {
      var entries: [(pid: Int32, line: String)] = []
      for (identity, set) in lines {
        for bytes in set {
          let text = String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
          entries.append((identity.pid, text.trimmingCharacters(in: .whitespaces)))
        }
      }
      let elapsed = ended - began
      return Report(
        unreadable: unreadable, processes: lines.count, passes: passes, execEvents: execEvents,
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
        commandLines: entries.sorted { $0.pid < $1.pid })
    }
  }

  /// Whether some process had `text` in its command line so far.
  func saw(_ text: String) -> Bool {
    let needle = Array(text.utf8)
    return lock.withLock {
      lines.values.contains { set in
        set.contains { bytes in
          bytes.count >= needle.count
            && (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
      }
    }
  }

  private func loop() {
    var previous: [Int32: Identity] = [:]
    var buffer = [UInt8](repeating: 0, count: 1 << 17)
    let own = getpid()
    var first = true
    // The first pass runs even when the watch is stopped at once: it is what proves /proc readable.
    while first || polling && !lock.withLock({ stopping }) {
      guard let directory = opendir(root) else {
        let reason = String(cString: strerror(errno))
        lock.withLock { unreadable = "cannot list \(root): \(reason)" }
        break
      }
      var current: [Int32: Identity] = [:]
      var found: [(Identity, [UInt8])] = []
      var ownSeen = false
      var others = 0
      while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard let pid = Int32(name) else { continue }
        let identity = previous[pid] ?? Identity(pid: pid, start: startTime(pid, &buffer))
        current[pid] = identity
        let count = read("\(root)/\(name)/cmdline", into: &buffer)
        guard count > 0 else { continue }
        if pid == own { ownSeen = true } else { others += 1 }
        found.append((identity, Array(buffer[0..<count])))
      }
      closedir(directory)
      previous = current
      if first {
        first = false
        if !ownSeen || others == 0 {
          lock.withLock {
            unreadable =
              "\(root) shows \(ownSeen ? "" : "not even this test's own command line, ")\(others) other process(es) with a command line"
          }
          break
        }
      }
      lock.withLock {
        for (identity, bytes) in found { lines[identity, default: []].insert(bytes) }
        passes += 1
      }
      usleep(200)
    }
    lock.withLock {
      ended = ContinuousClock.now
      running -= 1
      finished = running == 0
    }
  }

  /// The kernel's process events (linux/cn_proc.h): on PROC_EVENT_EXEC, the process's new command line,
  /// read at once.
  private func listen() {
    defer {
      lock.withLock {
        running -= 1
        finished = running == 0
      }
    }
    guard root == "/proc" else { return }
    // Real-time priority (root): on a loaded machine a normal thread woke too late, after redis-server
    // had rewritten its arguments. It sleeps in recv between events, so it takes little time.
    var parameters = sched_param()
    parameters.sched_priority = 10
    _ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &parameters)
    let descriptor = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue), 11)  // NETLINK_CONNECTOR
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    var size: Int32 = 16 << 20
    _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
    var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
    _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    // struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; }
    var address = [UInt8](repeating: 0, count: 12)
    Self.put(UInt16(AF_NETLINK), &address, 0)
    Self.put(UInt32(1), &address, 8)  // CN_IDX_PROC
    let bound = address.withUnsafeBytes {
      bind(descriptor, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), 12)
    }
    guard bound == 0, control(descriptor, listen: true) else { return }
    defer { _ = control(descriptor, listen: false) }
    lock.withLock { execEvents = 0 }
    var message = [UInt8](repeating: 0, count: 1 << 16)
    var buffer = [UInt8](repeating: 0, count: 1 << 17)
    while !lock.withLock({ stopping }) {
      let count = message.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
      guard count > 0 else { continue }
      var offset = 0
      // nlmsghdr (16 bytes), cn_msg (20), proc_event: what, cpu, timestamp, then exec's pid and tgid.
      while offset + 60 <= count {
        let length = Int(Self.get(message, offset))
        guard length >= 16 else { break }
        if Self.get(message, offset + 36) == 0x2 {
          let pid = Int32(bitPattern: Self.get(message, offset + 56))
          let read = self.read("/proc/\(pid)/cmdline", into: &buffer)
          let identity = Identity(pid: pid, start: startTime(pid, &buffer2))
          lock.withLock {
            execEvents = (execEvents ?? 0) + 1
            if read > 0 { lines[identity, default: []].insert(Array(buffer[0..<read])) }
          }
        }
        offset += (length + 3) & ~3
      }
    }
  }

  private var buffer2 = [UInt8](repeating: 0, count: 4096)

  /// PROC_CN_MCAST_LISTEN or _IGNORE, in a NLMSG_DONE message.
  private func control(_ descriptor: Int32, listen: Bool) -> Bool {
    var message = [UInt8](repeating: 0, count: 40)
    Self.put(UInt32(40), &message, 0)
    Self.put(UInt16(3), &message, 4)  // NLMSG_DONE
    Self.put(UInt32(1), &message, 16)  // CN_IDX_PROC
    Self.put(UInt32(1), &message, 20)  // CN_VAL_PROC
    Self.put(UInt16(4), &message, 32)
    Self.put(UInt32(listen ? 1 : 2), &message, 36)
    return message.withUnsafeBytes { send(descriptor, $0.baseAddress!, 40, 0) } == 40
  }

  private static func put<T: FixedWidthInteger>(_ value: T, _ bytes: inout [UInt8], _ offset: Int) {
    withUnsafeBytes(of: value.littleEndian) { raw in
      for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
    }
  }

  private static func get(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
      | UInt32(bytes[offset + 3]) << 24
  }

  /// Field 22 of /proc/PID/stat (after the parenthesised name, which may hold spaces).
  private func startTime(_ pid: Int32, _ buffer: inout [UInt8]) -> UInt64 {
    let count = read("\(root)/\(pid)/stat", into: &buffer)
    guard count > 0, let close = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")) else { return 0 }
    let fields = buffer[(close + 1)..<count].split(separator: UInt8(ascii: " "))
    guard fields.count > 19 else { return 0 }
    return UInt64(String(decoding: fields[19], as: UTF8.self)) ?? 0
  }

  private func read(_ path: String, into buffer: inout [UInt8]) -> Int {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var total = 0
    while total < buffer.count {
      let count = buffer.withUnsafeMutableBytes { raw in
        Glibc.read(descriptor, raw.baseAddress! + total, raw.count - total)
      }
      if count <= 0 { break }
      total += count
    }
    return total
  }
}

/// Every program apphost starts, with its arguments, from `strace -f -e trace=execve` around each
/// command: its children, the engine CLIs, the background supervisor and its programs, and whatever
/// they start (podman's conmon and the containers it starts, too). The tests' own processes are not
/// traced. Output and exit status go through files, so a supervisor that outlives the command (it holds
/// nothing of the test's) does not keep the test waiting.
final class ExecTrace: @unchecked Sendable {
  let folder: TemporaryFolder
  private var tracers: [Process] = []
  private var traces: [String] = []
  private var commands: [String] = []
  private var count = 0

  init() {
    folder = TemporaryFolder("apphost-trace")
  }

  struct Exec {
    var pid: Int32
    var succeeded: Bool
    /// The program's path and its arguments.
    var strings: [String]
    var line: String { strings.joined(separator: " ") }
  }

  /// Runs `program` under strace in `directory` and waits for it (not for what it leaves running).
  /// `during`, once the program runs, gets its pid and its output so far (to signal a foreground
  /// command once it is up).
  func run(
    _ program: String, _ arguments: [String], in directory: String, environment: [String: String] = [:],
    timeout: Duration = .seconds(180),
    during: ((_ pid: Int32, _ output: @escaping () -> String) async throws -> Void)? = nil
  ) async throws -> CommandResult {
    count += 1
    let base = "\(folder.path)/\(count)"
    let trace = base + ".trace"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
    // The shell records the program's pid, then becomes it.
    process.arguments =
      [
        "-f", "-q", "--seccomp-bpf", "-e", "trace=execve,execveat", "-xx", "-s", "65536", "-o", trace, "--",
        "/bin/sh", "-c", #"echo $$ > "$1"; shift; exec "$@""#, "sh", base + ".pid", program,
      ] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
    guard FileManager.default.createFile(atPath: base + ".out", contents: nil),
      FileManager.default.createFile(atPath: base + ".err", contents: nil)
    else { throw CocoaError(.fileWriteUnknown) }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    try process.run()
    tracers.append(process)
    traces.append(trace)
    commands.append(([program] + arguments).joined(separator: " "))
    let deadline = ContinuousClock.now + timeout
    var status: Int32?
    var during = during
    while status == nil {
      if let pid = (try? String(contentsOfFile: base + ".pid", encoding: .utf8)).flatMap({
        Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
      }) {
        if let hook = during {
          during = nil
          try await hook(pid) { (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "" }
        }
        status = exitStatus(of: pid, in: trace)
      }
      if status == nil && !process.isRunning {
        status =
          process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
      }
      if status != nil { break }
      if ContinuousClock.now > deadline {
        throw BackgroundCommand.Timeout(
          waitingFor: "\(program) \(arguments.joined(separator: " "))",
          output: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
      }
      try await Task.sleep(for: .milliseconds(20))
    }
    return CommandResult(
      status: status ?? -1, output: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
      errors: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
  }

  /// Runs the apphost binary of the project under strace.
  func apphost(
    _ project: EngineProject, _ arguments: [String], environment: [String: String] = [:],
    during: ((_ pid: Int32, _ output: @escaping () -> String) async throws -> Void)? = nil
  ) async throws -> CommandResult {
    try await run(
      Binary.path, arguments, in: project.path,
      environment: environment.merging(["APPHOST_ENGINE": project.engine, "NO_COLOR": "1"]) { given, _ in given },
      during: during)
  }

  /// Waits until every traced process has ended (strace ends with the last one), then returns every
  /// exec of every trace. What still runs after `timeout` is reported by `lingering`.
  func finish(timeout: Duration = .seconds(60)) async -> (execs: [Exec], lingering: [String]) {
    let deadline = ContinuousClock.now + timeout
    while tracers.contains(where: \.isRunning) && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(50))
    }
    var lingering: [String] = []
    for (index, tracer) in tracers.enumerated() where tracer.isRunning {
      // What this strace still traces, named, before it is killed (its tracees are detached, not
      // killed, when it dies).
      let traced = Self.tracees(of: tracer.processIdentifier)
      lingering.append(
        "trace \(index + 1) (\(commands[index])): "
          + (traced.isEmpty ? "strace itself still runs" : traced.joined(separator: "; ")))
      kill(tracer.processIdentifier, SIGKILL)
    }
    var execs: [Exec] = []
    for trace in traces {
      let text = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
      for line in text.split(separator: "\n") {
        if let exec = Self.parse(line) { execs.append(exec) }
      }
    }
    return (execs, lingering)
  }

  /// The processes `tracer` traces: pid, parent and command line of each.
  static func tracees(of tracer: Int32) -> [String] {
    let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    return pids.sorted().compactMap { pid in
      guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
      func field(_ name: String) -> String? {
        status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map {
          $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
        }
      }
      guard field("TracerPid") == "\(tracer)" else { return nil }
      let line =
        (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))).map {
          String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        } ?? "?"
      return "pid \(pid) (parent \(field("PPid") ?? "?")): \(line)"
    }
  }

  /// `PID execve("\x2f..", ["\x73..", ...], 0x... /* N vars */) = 0` (strace -xx: every string in hex).
  static func parse(_ line: Substring) -> Exec? {
    guard line.contains(" execve(") || line.contains(" execveat(") else { return nil }
    let pid = Int32(line.prefix { $0.isNumber }) ?? 0
    var strings: [String] = []
    var index = line.startIndex
    while let open = line[index...].firstIndex(of: "\"") {
      guard let close = line[line.index(after: open)...].firstIndex(of: "\"") else { break }
      let hex = line[line.index(after: open)..<close].replacingOccurrences(of: "\\x", with: "")
      var bytes: [UInt8] = []
      var digits = hex.makeIterator()
      while let high = digits.next(), let low = digits.next(), let byte = UInt8("\(high)\(low)", radix: 16) {
        bytes.append(byte)
      }
      strings.append(String(decoding: bytes, as: UTF8.self))
      index = line.index(after: close)
    }
    return Exec(pid: pid, succeeded: line.hasSuffix(" = 0") || line.contains("resumed>) = 0"), strings: strings)
  }

  /// The status strace recorded for `pid` (`+++ exited with N +++`, `+++ killed by SIGX +++`).
  private func exitStatus(of pid: Int32, in trace: String) -> Int32? {
    guard let text = try? String(contentsOfFile: trace, encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("\(pid) ") && line.contains("+++ ") {
      if let range = line.range(of: "+++ exited with ") {
        return Int32(line[range.upperBound...].prefix { $0.isNumber })
      }
      if let range = line.range(of: "+++ killed by SIG") {
        let name = line[range.upperBound...].prefix { $0.isLetter }
        let numbers = ["INT": SIGINT, "TERM": SIGTERM, "KILL": SIGKILL, "HUP": SIGHUP, "PIPE": SIGPIPE]
        return 128 + (numbers[String(name)] ?? 0)
      }
    }
    return nil
  }

  deinit {
    for tracer in tracers where tracer.isRunning { kill(tracer.processIdentifier, SIGKILL) }
    folder.remove()
  }
}
