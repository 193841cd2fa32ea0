import AppHostKit
import Foundation
import MCP

/// What `apphost mcp` was started with.
package struct MCPOptions: Sendable {
  package var file: String
  package var engine: EngineFlavor?
  /// `--allow-write`: offers `cache_command`, which sends any command.
  package var allowWrite: Bool

  package init(file: String, engine: EngineFlavor?, allowWrite: Bool) {
    self.file = file
    self.engine = engine
    self.allowWrite = allowWrite
  }
}

/// The arguments of one tool call, read with the checks a command line makes: unknown names and wrong
/// types are errors that say what is expected.
struct ToolArguments: Sendable {
  let values: [String: MCP.Value]

  func string(_ name: String) throws(ToolError) -> String? {
    guard let value = values[name], !value.isNull else { return nil }
    guard let text = value.stringValue else { throw ToolError("\(name) must be a string, not \(value)") }
    return text
  }

  func int(_ name: String) throws(ToolError) -> Int? {
    guard let value = values[name], !value.isNull else { return nil }
    if let number = value.intValue { return number }
    if let number = value.doubleValue, number == number.rounded(), abs(number) < 1e15 { return Int(number) }
    throw ToolError("\(name) must be a whole number, not \(value)")
  }

  func bool(_ name: String) throws(ToolError) -> Bool? {
    guard let value = values[name], !value.isNull else { return nil }
    guard let flag = value.boolValue else { throw ToolError("\(name) must be true or false, not \(value)") }
    return flag
  }

  func strings(_ name: String) throws(ToolError) -> [String]? {
    guard let value = values[name], !value.isNull else { return nil }
    if let text = value.stringValue { return [text] }
    guard let items = value.arrayValue else { throw ToolError("\(name) must be a list of strings, not \(value)") }
    var texts: [String] = []
    for item in items {
      guard let text = item.stringValue else {
        throw ToolError("\(name) must be a list of strings; \(item) is not one")
      }
      texts.append(text)
    }
    return texts
  }
}

/// One tool: its description for the agent and what it does.
struct ToolSpec: Sendable {
  var tool: Tool
  var run: @Sendable (ToolArguments, ProjectContext) async throws(ToolError) -> String
  /// Whether a call may ask, with `reveal: true`, for secrets as they are (`environment` only): then its
  /// reply is not redacted.
  var revealsOnRequest = false

  var properties: [String] { tool.inputSchema.objectValue?["properties"]?.objectValue.map { Array($0.keys) } ?? [] }
}

/// Builds a tool's input schema: an object with these properties, no others.
func schema(_ properties: [String: MCP.Value], required: [String] = []) -> MCP.Value {
  var object: [String: MCP.Value] = [
    "type": "object", "properties": .object(properties), "additionalProperties": false,
  ]
  if !required.isEmpty { object["required"] = .array(required.map { .string($0) }) }
  return .object(object)
}

func property(_ type: String, _ description: String) -> MCP.Value {
  .object(["type": .string(type), "description": .string(description)])
}

/// The project the server answers for: opened anew for every call, so that each reply says how things
/// are now.
struct ProjectContext: Sendable {
  let options: MCPOptions
  let notices = NoticeLog()

  func open() async throws(ToolError) -> ProjectSession {
    do {
      return try await ProjectSession.open(file: options.file, engine: options.engine) { [notices] notice in
        switch notice {
        case .warning(let text), .note(let text): notices.once(text)
        }
      }
    } catch {
      throw ToolError(error)
    }
  }
}

/// Notices of opening the project (a manifest warning, the engine fallback), written to standard error
/// once each: standard output is the protocol's.
final class NoticeLog: Sendable {
  private let seen = Mutex<Set<String>>([])

  func once(_ text: String) {
    let isNew = seen.withLock { $0.insert(text).inserted }
    if isNew { FileHandle.standardError.write(Data("apphost mcp: \(text)\n".utf8)) }
  }
}

/// A lock around a value (Synchronization's Mutex needs macOS 15; the package supports 13).
final class Mutex<State: Sendable>: @unchecked Sendable {
  private var state: State
  private let lock = NSLock()

  init(_ state: State) { self.state = state }

  func withLock<T>(_ body: (inout State) -> T) -> T {
    lock.lock()
    defer { lock.unlock() }
    return body(&state)
  }
}

/// JSON for a reply: sorted keys, two-space indentation, slashes as they are.
func json(_ value: MCP.Value) -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  guard let data = try? encoder.encode(value) else { return "\(value)" }
  return String(decoding: data, as: UTF8.self)
}

extension MCP.Value {
  init(_ text: String?) { self = text.map { .string($0) } ?? .null }
  init(_ number: Int?) { self = number.map { .int($0) } ?? .null }
}
