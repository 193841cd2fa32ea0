import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Generated passwords: 22 letters and digits from the system's cryptographic generator, without the
/// look-alikes i, l, o, I, L, O. No `,` or `:` (connection strings and Redis Commander break on them).
package enum PasswordGenerator {
  package static let length = 22
  package static let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ0123456789")

  package static func generate() -> String {
    var generator = SystemRandomNumberGenerator()
    return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
  }
}

/// `.apphost/` in the project folder: state, secrets and logs, readable by the user only.
package struct StateDirectory: Sendable {
  package var path: String

  package init(projectDirectory: String) {
    self.path = (projectDirectory as NSString).appendingPathComponent(".apphost")
  }

  package var secretsPath: String { (path as NSString).appendingPathComponent("secrets.json") }

  /// The engine the project's resources were last started on (`up`, `run`): the default of later
  /// commands that name none, so that `apphost up --engine native` is followed by a `ps` that looks there.
  package var enginePath: String { (path as NSString).appendingPathComponent("engine") }

  package var lastEngine: EngineFlavor? {
    guard let data = FileManager.default.contents(atPath: enginePath) else { return nil }
    return EngineFlavor(rawValue: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
  }

  package func remember(engine: EngineFlavor) {
    guard lastEngine != engine else { return }
    do {
      try create()
      try writeFileAtomically(enginePath, contents: Array("\(engine.rawValue)\n".utf8), mode: 0o600, durable: false)
    } catch {
      Log.debug("could not remember the engine in \(enginePath): \(error.errorDescription ?? "")")
    }
  }

  /// Whether the last command that looked found the project's containers on its network: then the next
  /// `up` lists first and creates the network only if a step needs it (a no-op `up` is one engine call);
  /// otherwise it creates the network while listing (a cold start does not wait for the listing). Only
  /// a hint for speed: the launcher creates the network whenever a step needs it.
  package var networkHintPath: String { (path as NSString).appendingPathComponent("network-seen") }

  package var networkSeen: Bool { FileManager.default.fileExists(atPath: networkHintPath) }

  package func remember(networkSeen seen: Bool) {
    guard seen != networkSeen else { return }
    if seen {
      try? create()
      try? writeFileAtomically(networkHintPath, contents: [], mode: 0o600, durable: false)
    } else {
      try? FileManager.default.removeItem(atPath: networkHintPath)
    }
  }

  /// Creates the folder (mode 0700) with a `.gitignore` that keeps all of it out of git.
  package func create() throws(AppHostError) {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else {
        throw .stateUnwritable(path: path, reason: "it is a file, and apphost keeps its state in a folder of that name")
      }
    } else if mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw .stateUnwritable(path: path, reason: String(cString: strerror(errno)))
    }
    let ignore = (path as NSString).appendingPathComponent(".gitignore")
    if !FileManager.default.fileExists(atPath: ignore) {
      try writeFileAtomically(
        ignore, contents: Array("# Written by apphost: state, secrets and logs stay out of git.\n*\n".utf8),
        mode: 0o600,
        durable: false)
    }
  }
}

extension StateDirectory {
  /// Runs `body` holding an exclusive lock on `.apphost/NAME.lock` (the folder made first): two apphost
  /// processes at once take turns.
  package func withLock<T>(_ name: String, _ body: () throws(AppHostError) -> T) throws(AppHostError) -> T {
    try create()
    let lockPath = (path as NSString).appendingPathComponent("\(name).lock")
    let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard lock >= 0 else { throw .stateUnwritable(path: lockPath, reason: String(cString: strerror(errno))) }
    defer { close(lock) }
    while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
    return try body()
  }
}

/// Writes a file through a temporary file and a rename, so that readers never see half of it, with
/// the given mode from the start (a secret is never readable by others, not even briefly).
/// `durable`: flushed to the disk before the rename, for what must survive a power loss (secrets, keys,
/// seed data, published files). Not for what describes running processes (their records, the hints of
/// the last run), which a power loss ends anyway: a flush costs 0.3–0.7 ms, and most of those files are
/// written while a cache starts.
package func writeFileAtomically(_ path: String, contents: [UInt8], mode: mode_t, durable: Bool = true)
  throws(AppHostError)
{
  let temporary = "\(path).tmp-\(getpid())"
  let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
  guard descriptor >= 0 else {
    throw .stateUnwritable(path: path, reason: String(cString: strerror(errno)))
  }
  var written = 0
  while written < contents.count {
    let result = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    if result < 0 {
      if errno == EINTR { continue }
      let reason = String(cString: strerror(errno))
      close(descriptor)
      unlink(temporary)
      throw .stateUnwritable(path: path, reason: reason)
    }
    written += result
  }
  fchmod(descriptor, mode)
  if durable { fsync(descriptor) }
  close(descriptor)
  guard rename(temporary, path) == 0 else {
    let reason = String(cString: strerror(errno))
    unlink(temporary)
    throw .stateUnwritable(path: path, reason: reason)
  }
}

/// The generated passwords of a project, kept in `.apphost/secrets.json` (mode 0600) so that they
/// stay the same from run to run (persistent containers are reused, clients keep working).
package struct SecretStore: Sendable {
  package var state: StateDirectory

  package init(state: StateDirectory) {
    self.state = state
  }

  private struct File: Codable {
    var passwords: [String: String]
  }

  /// The stored passwords, by resource name; empty when nothing is stored yet.
  package func load() throws(AppHostError) -> [String: String] {
    let path = state.secretsPath
    guard FileManager.default.fileExists(atPath: path) else { return [:] }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .stateCorrupt(path: path, reason: "it cannot be read")
    }
    do {
      return try JSONDecoder().decode(File.self, from: data).passwords
    } catch {
      throw .stateCorrupt(path: path, reason: "it is not the JSON apphost writes")
    }
  }

  /// The passwords of `resources`, generating (and storing) the ones that do not exist yet.
  package func passwords(for resources: [String]) throws(AppHostError) -> [String: String] {
    let passwords = try load()
    guard resources.contains(where: { passwords[$0] == nil }) else { return passwords }
    // Two apphost processes generating at once must agree: generate under a lock, after reading again.
    return try state.withLock("secrets") { () throws(AppHostError) -> [String: String] in
      try generate(for: resources)
    }
  }

  private func generate(for resources: [String]) throws(AppHostError) -> [String: String] {
    var passwords = try load()
    let missing = resources.filter { passwords[$0] == nil }
    guard !missing.isEmpty else { return passwords }
    for resource in missing {
      passwords[resource] = PasswordGenerator.generate()
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data: Data
    do {
      data = try encoder.encode(File(passwords: passwords))
    } catch {
      throw .stateUnwritable(path: state.secretsPath, reason: "\(error)")
    }
    try writeFileAtomically(state.secretsPath, contents: [UInt8](data) + [UInt8(ascii: "\n")], mode: 0o600)
    return passwords
  }
}
