/// A short, stable fingerprint of a container's definition (FNV-1a, 64 bits). It only needs to change
/// when the definition changes; it is not a security measure.
package struct ConfigHasher {
  private var state: UInt64 = 0xcbf2_9ce4_8422_2325

  package init() {}

  package mutating func combine(_ text: String) {
    for byte in text.utf8 {
      state ^= UInt64(byte)
      state = state &* 0x0000_0100_0000_01B3
    }
    // A separator so that ("ab", "c") and ("a", "bc") differ.
    state ^= 0xFF
    state = state &* 0x0000_0100_0000_01B3
  }

  package mutating func combine(_ texts: [String]) {
    combine(String(texts.count))
    for text in texts { combine(text) }
  }

  /// The fingerprint of some bytes (a configuration file's).
  package static func digest(of bytes: [UInt8]) -> String {
    var hasher = ConfigHasher()
    hasher.combine(String(decoding: bytes, as: UTF8.self))
    hasher.combine(String(bytes.count))
    return hasher.hex
  }

  package var hex: String {
    String(state, radix: 16).leftPadded(to: 16)
  }
}
