/// Turns chunks of output into whole lines: a line split across reads is held back until its end
/// arrives, so that nothing is ever printed torn. `\r\n` counts as one line end.
package struct LineSplitter: Sendable {
  private var pending: [UInt8] = []
  /// A line longer than this is passed on in pieces rather than held in memory.
  package let maximumLineLength: Int

  package init(maximumLineLength: Int = 1 << 20) {
    self.maximumLineLength = maximumLineLength
  }

  /// The complete lines in `chunk` (with what was pending before it), without their line ends.
  package mutating func lines(in chunk: UnsafeRawBufferPointer) -> [String] {
    var lines: [String] = []
    var start = 0
    for index in 0..<chunk.count where chunk[index] == UInt8(ascii: "\n") {
      var end = index
      if end > start, chunk[end - 1] == UInt8(ascii: "\r") { end -= 1 }
      if pending.isEmpty {
        lines.append(String(decoding: UnsafeRawBufferPointer(rebasing: chunk[start..<end]), as: UTF8.self))
      } else {
        pending.append(contentsOf: chunk[start..<end])
        if pending.last == UInt8(ascii: "\r"), end == start { pending.removeLast() }
        lines.append(String(decoding: pending, as: UTF8.self))
        pending.removeAll(keepingCapacity: true)
      }
      start = index + 1
    }
    if start < chunk.count {
      pending.append(contentsOf: chunk[start...])
      if pending.count >= maximumLineLength {
        lines.append(String(decoding: pending, as: UTF8.self))
        pending.removeAll(keepingCapacity: true)
      }
    }
    return lines
  }

  package mutating func lines(in bytes: [UInt8]) -> [String] {
    bytes.withUnsafeBytes { lines(in: $0) }
  }

  /// What is left at the end of the output: a last line without a line end.
  package mutating func finish() -> String? {
    defer { pending.removeAll() }
    if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
    return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
  }
}
