import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `ignore` globs: `*` within a name, `**` across folders, `?` one character; matched against the path
/// relative to the project folder, and a pattern without `/` also against every part of it (as
/// `.gitignore` does: `*.pyc`, `__pycache__`).
package struct IgnoreRules: Sendable {
  private let patterns: [(regex: String, anywhere: Bool)]

  /// What is never worth a restart: apphost's own state (logs are written there) and version control.
  package static let always = [".apphost/**", "**/.git/**", ".git/**"]

  package init(_ globs: [String]) {
    patterns = (Self.always + globs).map { glob in
      let trimmed = glob.hasPrefix("./") ? String(glob.dropFirst(2)) : glob
      return (Self.regex(trimmed), !trimmed.contains("/"))
    }
  }

  package func ignores(_ relative: String) -> Bool {
    let parts = relative.split(separator: "/").map(String.init)
    for pattern in patterns {
      guard let regex = try? Regex(pattern.regex) else { continue }
      if relative.wholeMatch(of: regex) != nil { return true }
      if pattern.anywhere, parts.contains(where: { $0.wholeMatch(of: regex) != nil }) { return true }
    }
    return false
  }

  static func regex(_ glob: String) -> String {
    var result = ""
    let characters = Array(glob)
    var index = 0
    while index < characters.count {
      let character = characters[index]
      if character == "*" && index + 1 < characters.count && characters[index + 1] == "*" {
        if index + 2 < characters.count && characters[index + 2] == "/" {
          result += "(?:.*/)?"
          index += 3
        } else {
          result += ".*"
          index += 2
        }
        continue
      }
      switch character {
      case "*": result += "[^/]*"
      case "?": result += "[^/]"
      case ".", "+", "(", ")", "[", "]", "{", "}", "^", "$", "|", "\\": result += "\\" + String(character)
      default: result.append(character)
      }
      index += 1
    }
    return result
  }
}

/// Watches files and folders (folders recursively, new ones included) with inotify, and calls `changed`
/// with the path (relative to `base`) of each change that is not ignored. A thread of its own reads the
/// events; `stop` ends it.
package final class FileWatch: @unchecked Sendable {
  private let base: String
  private let rules: IgnoreRules
  private let changed: @Sendable (_ path: String, _ created: Bool) -> Void
  private let lock = NSLock()
  private var descriptor: Int32 = -1
  /// The write end of the pipe that tells the reading thread to end. The thread, not `stop`, closes the
  /// inotify descriptor: closed under a blocked `read`, its number could be given to another file, whose
  /// bytes the thread would then read as events.
  private var wake: Int32 = -1
  private var folders: [Int32: String] = [:]

  /// `changed` gets the path relative to `base`, and whether the event made the file (created, or moved in).
  package init(
    base: String, ignore: IgnoreRules, changed: @escaping @Sendable (_ path: String, _ created: Bool) -> Void
  ) {
    self.base = base
    self.rules = ignore
    self.changed = changed
  }

  /// Starts watching `paths` (absolute); nil on success, else why not.
  package func start(_ paths: [String]) -> String? {
    let descriptor = inotify_init1(Int32(IN_CLOEXEC))
    guard descriptor >= 0 else { return "inotify: \(String(cString: strerror(errno)))" }
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else {
      let reason = String(cString: strerror(errno))
      close(descriptor)
      return "inotify: \(reason)"
    }
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    lock.lock()
    self.descriptor = descriptor
    self.wake = ends[1]
    lock.unlock()
    for path in paths { add(path) }
    let stopped = ends[0]
    let thread = Thread { [self] in
      readLoop(descriptor, stopped: stopped)
      close(descriptor)
      close(stopped)
    }
    thread.name = "apphost watch"
    thread.start()
    return nil
  }

  package func stop() {
    lock.lock()
    let wake = self.wake
    self.descriptor = -1
    self.wake = -1
    lock.unlock()
    // A byte wakes the thread's poll (whoever else may hold the write end: a child spawned before the
    // close-on-exec flag was set); then the write end goes.
    if wake >= 0 {
      var byte: UInt8 = 1
      _ = write(wake, &byte, 1)
      close(wake)
    }
  }

  private static let mask = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

  /// Watches `path`, and every folder under it that is not ignored.
  private func add(_ path: String) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
    if !isDirectory.boolValue {
      // A file: its folder is watched, and only changes to it count (see `relevant`).
      watchFolder((path as NSString).deletingLastPathComponent, only: (path as NSString).lastPathComponent)
      return
    }
    guard !rules.ignores(relative(path) + "/"), !rules.ignores(relative(path)) || path == base else { return }
    watchFolder(path, only: nil)
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
      let child = (path as NSString).appendingPathComponent(entry)
      var childIsDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: child, isDirectory: &childIsDirectory), childIsDirectory.boolValue {
        add(child)
      }
    }
  }

  private var onlyFiles: [String: Set<String>] = [:]

  private func watchFolder(_ folder: String, only file: String?) {
    lock.lock()
    defer { lock.unlock() }
    guard descriptor >= 0 else { return }
    let watch = inotify_add_watch(descriptor, folder, Self.mask)
    guard watch >= 0 else { return }
    folders[watch] = folder
    if let file {
      onlyFiles[folder, default: []].insert(file)
    } else {
      onlyFiles[folder] = nil
      wholeFolders.insert(folder)
    }
  }

  private var wholeFolders: Set<String> = []

  private func relative(_ path: String) -> String {
    if path == base { return "" }
    return path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : path
  }

  /// Reads events until `stopped` (the pipe's read end) says to end.
  private func readLoop(_ descriptor: Int32, stopped: Int32) {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      var entries = [
        pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
        pollfd(fd: stopped, events: Int16(POLLIN), revents: 0),
      ]
      let ready = poll(&entries, 2, -1)
      if ready < 0 && errno == EINTR { continue }
      if ready < 0 || entries[1].revents != 0 { return }
      guard entries[0].revents & Int16(POLLIN) != 0 else {
        if entries[0].revents != 0 { return }
        continue
      }
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { return }
      var offset = 0
      let headerSize = MemoryLayout<inotify_event>.size
      while offset + headerSize <= count {
        let (watch, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
          let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
          return (event.wd, event.mask, Int(event.len))
        }
        // The kernel writes whole events; anything else is not inotify's.
        guard length >= 0, offset + headerSize + length <= count else { break }
        var name = ""
        if length > 0 {
          let bytes = buffer[(offset + headerSize)..<(offset + headerSize + length)].prefix { $0 != 0 }
          name = String(decoding: bytes, as: UTF8.self)
        }
        offset += headerSize + length
        lock.lock()
        let folder = folders[watch]
        let whole = folder.map { wholeFolders.contains($0) } ?? false
        let files = folder.flatMap { onlyFiles[$0] } ?? []
        lock.unlock()
        guard let folder, !name.isEmpty else { continue }
        guard whole || files.contains(name) else { continue }
        let path = (folder as NSString).appendingPathComponent(name)
        let shown = relative(path)
        if rules.ignores(shown) { continue }
        if mask & UInt32(IN_ISDIR) != 0 {
          if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { add(path) }
          continue
        }
        changed(shown, mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0)
      }
    }
  }
}

/// The `watch` of each program of a run: a change under its paths (debounced: changes within 300 ms make
/// one restart) restarts its copies, said in one line naming the file.
package final class ProgramWatchers: Sendable {
  private let watches: [FileWatch]

  package static let debounce: Duration = .milliseconds(300)

  package init(plan: Plan, specs: [ProcessSpec], supervisor: Supervisor, events: @escaping EventSink) {
    var watches: [FileWatch] = []
    for executable in plan.executables {
      guard let watch = executable.watch, specs.contains(where: { $0.resource == executable.resource }) else {
        continue
      }
      let resource = executable.resource
      let pending = PendingChange()
      let base = plan.projectDirectory
      let fileWatch = FileWatch(base: base, ignore: IgnoreRules(watch.ignore)) { path, created in
        guard pending.note(path, created: created) else { return }
        Task {
          try? await Task.sleep(for: Self.debounce)
          guard let (first, count) = pending.take(base: base) else { return }
          let more = count > 1 ? " (and \(count - 1) more file\(count > 2 ? "s" : ""))" : ""
          events(.note("\(resource): \(first)\(more) changed, restarting it"))
          await supervisor.restart(resource: resource)
        }
      }
      if let problem = fileWatch.start(watch.paths) {
        events(.note("\(resource): cannot watch \(watch.paths.joined(separator: ", ")): \(problem)"))
      }
      watches.append(fileWatch)
    }
    self.watches = watches
  }

  package func stop() {
    for watch in watches { watch.stop() }
  }
}

/// The changes seen since the last restart. A file made and gone again within one batch (an editor's or an
/// atomic write's temporary file, renamed over the real one) is not a change of its own.
final class PendingChange: @unchecked Sendable {
  private let lock = NSLock()
  private var order: [String] = []
  private var created: Set<String> = []
  private var scheduled = false

  /// Records a change; true when it is the first of a new batch (the caller schedules the restart).
  func note(_ path: String, created made: Bool) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if !order.contains(path) { order.append(path) }
    if made { created.insert(path) }
    if scheduled { return false }
    scheduled = true
    return true
  }

  /// The first real change and how many files changed; nil when nothing real did.
  func take(base: String) -> (String, Int)? {
    lock.lock()
    defer { lock.unlock() }
    let real = order.filter { path in
      !created.contains(path) || FileManager.default.fileExists(atPath: (base as NSString).appendingPathComponent(path))
    }
    order = []
    created = []
    scheduled = false
    guard let first = real.first else { return nil }
    return (first, real.count)
  }
}
