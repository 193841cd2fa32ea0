import Foundation

/// Kept alive for the life of the process.
nonisolated(unsafe) var signalSources: [any DispatchSourceSignal] = []
