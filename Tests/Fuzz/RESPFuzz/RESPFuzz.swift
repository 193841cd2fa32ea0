// libFuzzer entry point over the RESP decoder: what the health checks, `SAVE` and `apphost cli` read from a
// server. Built and run by scripts/fuzz, never by `swift build` (not a target of Package.swift).
import AppHostKit

/// Parses the values at the front of `bytes` the way `Connection.readValue` does: one after the other
/// until more bytes are needed or the reply is malformed.
private func parseAll(_ bytes: [UInt8]) -> (values: [(RESPValue, Int)], end: Result<Int, RESP.ParseError>) {
  var values: [(RESPValue, Int)] = []
  var offset = 0
  while true {
    do {
      guard let (value, used) = try RESP.parse(bytes[offset...]) else { return (values, .success(offset)) }
      precondition(used > 0 && offset + used <= bytes.count, "parse used \(used) bytes at \(offset) of \(bytes.count)")
      values.append((value, used))
      offset += used
    } catch {
      return (values, .failure(error))
    }
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func respFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  let whole = parseAll(bytes)
  for (value, _) in whole.values { _ = RESP.render(value) }

  // Arriving in pieces: a prefix of the reply either needs more bytes, or is the same value with the same
  // length, or the same error as the whole (an error is thrown only for a line seen whole).
  let cuts = bytes.count <= 64 ? Array(0..<bytes.count) : (0..<64).map { $0 * bytes.count / 64 }
  for cut in cuts {
    let prefix = Array(bytes[..<cut])
    let result = Result { () throws(RESP.ParseError) in try RESP.parse(prefix[...]) }
    switch result {
    case .success(nil): break
    case .success(let (value, used)?):
      guard let first = whole.values.first else {
        preconditionFailure("the prefix of \(cut) bytes parses, the whole does not")
      }
      precondition(first.0 == value && first.1 == used, "the prefix of \(cut) bytes parses differently")
    case .failure(let error):
      guard whole.values.isEmpty, case .failure(let wholeError) = whole.end else {
        preconditionFailure("the prefix of \(cut) bytes is malformed (\(error)), the whole is not")
      }
      precondition(error == wholeError, "the prefix of \(cut) bytes fails differently")
    }
  }

  // Commands made of the input's words go through encode and come back as the same bulk strings.
  let words = String(decoding: bytes.prefix(256), as: UTF8.self).split(separator: " ").map(String.init)
  let encoded = RESP.encode(words)
  guard case .some((.array(let items?), let used)) = try? RESP.parse(encoded[...]), used == encoded.count,
    items == words.map({ RESPValue.bulk($0) })
  else { preconditionFailure("encode and parse disagree on \(words)") }
  return 0
}
