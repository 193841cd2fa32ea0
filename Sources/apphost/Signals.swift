import AppHostKit
import Dispatch
import Foundation

/// SIGINT and SIGTERM delivered as calls instead of killing apphost, so that it can clean up first.
/// A second signal while cleaning up is passed on too (the caller decides to stop at once).
final class SignalWatcher: @unchecked Sendable {
  private var sources: [DispatchSourceSignal] = []
  private let lock = NSLock()
  private var received: [Int32] = []
  private var handler: (@Sendable (Int32, Int) -> Void)?

  init(_ signals: [Int32] = [SIGINT, SIGTERM]) {
    for number in signals {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [weak self] in self?.deliver(number) }
      source.resume()
      sources.append(source)
    }
  }

  /// `handler(signal, count)`: count is 1 for the first signal, 2 for the second, ...
  func onSignal(_ handler: @escaping @Sendable (Int32, Int) -> Void) {
    lock.lock()
    self.handler = handler
    let pending = received
    lock.unlock()
    for (index, number) in pending.enumerated() { handler(number, index + 1) }
  }

  var first: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return received.first
  }

  /// Treats `number` as received (a broken output pipe stops apphost like a signal).
  func inject(_ number: Int32) {
    deliver(number)
  }

  private func deliver(_ number: Int32) {
    lock.lock()
    received.append(number)
    let count = received.count
    let handler = self.handler
    lock.unlock()
    handler?(number, count)
  }

  /// 130 after SIGINT, 143 after SIGTERM.
  static func exitCode(for signal: Int32) -> Int32 { 128 + signal }
}

extension SignalWatcher {
  /// The first signal asks for a graceful stop, the next ones for an immediate one.
  func stopRequests() -> AsyncStream<StopRequest> {
    AsyncStream { continuation in
      onSignal { number, count in
        continuation.yield(count == 1 ? .graceful(signal: number) : .immediate(signal: number))
      }
    }
  }
}

extension Foreground {
  func run(signals: SignalWatcher) async -> Int32 {
    await run(stopRequests: signals.stopRequests())
  }
}
