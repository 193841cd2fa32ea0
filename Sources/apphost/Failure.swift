import AppHostKit
import ArgumentParser
import Foundation

/// The exit codes of the contract.
enum ExitStatus {
  static let failure: Int32 = 1
  static let usage: Int32 = 64
  static let invalidManifest: Int32 = 65
  static let engineUnavailable: Int32 = 69

  static func code(for kind: AppHostError.Kind) -> Int32 {
    switch kind {
    case .invalidManifest: invalidManifest
    case .usage: usage
    case .engineUnavailable: engineUnavailable
    case .runtime: failure
    }
  }
}

extension AppHostError {
  /// Prints the message on standard error and gives the exit code for `throw`.
  func reported(to console: Console) -> ExitCode {
    console.error(errorDescription ?? "\(self)")
    return ExitCode(ExitStatus.code(for: kind))
  }
}

/// Runs `body`, turning an `AppHostError` into its message and exit code.
func reportingFailures<T>(_ console: Console, _ body: () throws(AppHostError) -> T) throws -> T {
  do {
    return try body()
  } catch {
    throw error.reported(to: console)
  }
}
