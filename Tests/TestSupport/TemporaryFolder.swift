import Foundation

/// A fresh folder under the system's temporary folder for one test; `remove()` deletes it.
public struct TemporaryFolder: Sendable {
  public let path: String

  public init(_ name: String = "apphost-test") {
    path = (NSTemporaryDirectory() as NSString).appendingPathComponent(
      "\(name)-\(UUID().uuidString.prefix(8).lowercased())")
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  /// Writes `text` to `relative` (folders created as needed) and returns the file's path.
  @discardableResult
  public func write(_ relative: String, _ text: String) -> String {
    let file = (path as NSString).appendingPathComponent(relative)
    try! FileManager.default.createDirectory(
      atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
    return file
  }

  public func read(_ relative: String) -> String? {
    try? String(contentsOfFile: (path as NSString).appendingPathComponent(relative), encoding: .utf8)
  }

  public func remove() {
    try? FileManager.default.removeItem(atPath: path)
  }
}
