import Testing

@testable import AppHostKit

/// The supervisor's restart decisions, without a clock: the policy, the doubling pause, its cap and its
/// reset after a stable run.
@Suite struct RestartBackoffTests {
  @Test func theNoPolicyNeverRestartsAndOnFailureOnlyAfterAFailure() {
    var backoff = RestartBackoff()
    #expect(backoff.next(status: 1, ran: .seconds(1), policy: .no) == nil)
    #expect(backoff.next(status: 0, ran: .seconds(1), policy: .onFailure) == nil)
    #expect(backoff.next(status: 3, ran: .seconds(1), policy: .onFailure) == .seconds(1))
    #expect(backoff.next(status: 0, ran: .seconds(1), policy: .always) == .seconds(2))
  }

  @Test func pausesDoubleUpToTheirCap() {
    var backoff = RestartBackoff()
    let pauses = (0..<8).compactMap { _ in backoff.next(status: 1, ran: .milliseconds(100), policy: .always) }
    #expect(pauses == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
  }

  @Test func aStableRunStartsThePausesAgain() {
    var backoff = RestartBackoff()
    for _ in 0..<4 { _ = backoff.next(status: 1, ran: .seconds(1), policy: .always) }
    #expect(backoff.next(status: 1, ran: .seconds(1), policy: .always) == .seconds(16))
    #expect(backoff.next(status: 1, ran: .seconds(10), policy: .always) == .seconds(1))
    #expect(backoff.next(status: 1, ran: .seconds(1), policy: .always) == .seconds(2))
  }
}
