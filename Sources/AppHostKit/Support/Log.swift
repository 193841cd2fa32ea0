import Foundation
import Logging

/// apphost's diagnostics for `--verbose` (swift-log): every engine command with its duration, and every
/// error that is handled quietly (a cleanup that found nothing to clean, a probe that failed once).
/// Off (warnings only) unless `--verbose` turns it on; it never writes to standard output.
package enum Log {
  private static let lock = NSLock()
  nonisolated(unsafe) private static var current = Logger(label: "apphost", factory: { _ in SwiftLogNoOpLogHandler() })

  package static var logger: Logger {
    lock.lock()
    defer { lock.unlock() }
    return current
  }

  /// Turns the log on (`--verbose`): debug and above to standard error, one line each.
  package static func enable() {
    // The clock of the `[elapsed]` column starts here, at the top of `main`, not at the first line.
    _ = VerboseLogHandler.started
    lock.lock()
    defer { lock.unlock() }
    var logger = Logger(label: "apphost", factory: { label in VerboseLogHandler(label: label) })
    logger.logLevel = .debug
    current = logger
  }

  package static func debug(_ message: @autoclosure () -> String) {
    logger.debug("\(message())")
  }

  /// Runs `body`; an error is logged (not thrown) with what was being done.
  package static func quietly(_ what: @autoclosure () -> String, _ body: () async throws(AppHostError) -> Void) async {
    do {
      try await body()
    } catch {
      logger.debug("ignored while trying to \(what()): \(error.errorDescription ?? "\(error)")")
    }
  }

  /// The value, or nil with the error logged.
  package static func quietly<T>(_ what: @autoclosure () -> String, _ body: () async throws(AppHostError) -> T) async
    -> T?
  {
    do {
      return try await body()
    } catch {
      logger.debug("ignored while trying to \(what()): \(error.errorDescription ?? "\(error)")")
      return nil
    }
  }

  /// For non-async throwing calls of any error type.
  package static func attempt<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) -> T? {
    do {
      return try body()
    } catch {
      logger.debug("ignored while trying to \(what()): \(error)")
      return nil
    }
  }
}

/// `apphost: debug: message` lines on standard error, written whole.
struct VerboseLogHandler: LogHandler {
  var label: String
  var logLevel: Logger.Level = .debug
  var metadata: Logger.Metadata = [:]

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    let elapsed = String(format: "%.3f", ProcessInfo.processInfo.systemUptime - VerboseLogHandler.started)
    let line = "apphost: \(event.level): [\(elapsed)s] \(event.message)\n"
    FileHandle.standardError.write(Data(line.utf8))
  }

  static let started = ProcessInfo.processInfo.systemUptime
}
