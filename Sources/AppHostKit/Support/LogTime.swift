import Foundation

/// When log lines were written: the stamp apphost puts before each line of a program's log file, the
/// times native servers write into theirs, and `logs --since` (`10m`, `1h30m`, `45s`, or a time).
package enum LogTime {
  /// `2026-12-02T10:00:00.000Z` (UTC, milliseconds): 24 characters, then a space, then the line.
  package static func stamp(_ date: Date) -> String {
    Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
  }

  private static let stampLength = 24

  /// A line of a program's log file as its time and its text (lines written before stamps existed, or
  /// by hand, have no time).
  package static func split(_ line: String) -> (time: Date?, text: String) {
    let utf8 = line.utf8
    guard utf8.count > stampLength, line.first?.isNumber == true,
      utf8[utf8.index(utf8.startIndex, offsetBy: stampLength - 1)] == UInt8(ascii: "Z"),
      utf8[utf8.index(utf8.startIndex, offsetBy: stampLength)] == UInt8(ascii: " ")
    else { return (nil, line) }
    let stampText = String(line.prefix(stampLength))
    guard let time = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(stampText) else {
      return (nil, line)
    }
    return (time, String(line.dropFirst(stampLength + 1)))
  }

  /// `--since`: a duration back from `now` (`10m`, `2h`, `1h30m`, `45s`, `1d`) or a time (ISO 8601,
  /// `2026-12-02T10:00:00Z`, or a date `2026-12-02`). Nil when it is neither.
  package static func since(_ text: String, now: Date = Date()) -> Date? {
    var seconds = 0.0
    var number = ""
    var sawUnit = false
    for character in text {
      if character.isNumber || character == "." {
        number.append(character)
        continue
      }
      let unit: Double
      switch character {
      case "s": unit = 1
      case "m": unit = 60
      case "h": unit = 3600
      case "d": unit = 86400
      default:
        return time(text)
      }
      guard let value = Double(number) else { return time(text) }
      seconds += value * unit
      number = ""
      sawUnit = true
    }
    if sawUnit && number.isEmpty { return now.addingTimeInterval(-seconds) }
    return time(text)
  }

  private static func time(_ text: String) -> Date? {
    if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
    if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
    if let date = try? Date.ISO8601FormatStyle().year().month().day().parse(text) { return date }
    return nil
  }

  /// The time a Redis or Valkey server wrote into its log line (`123:M 02 Dec 2026 10:00:00.123 * ...`,
  /// in the machine's time zone).
  package static func serverLineTime(_ line: String, formatter: DateFormatter = serverFormatter()) -> Date? {
    guard let colon = line.firstIndex(of: ":") else { return nil }
    let afterRole = line[colon...].dropFirst(2)
    guard afterRole.first == " " else { return nil }
    let stampText = afterRole.dropFirst().prefix(24)
    guard stampText.count == 24 else { return nil }
    return formatter.date(from: String(stampText))
  }

  /// Reads the servers' times (one per caller: formatters are not to be shared between threads).
  package static func serverFormatter() -> DateFormatter {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone.current
    formatter.dateFormat = "dd MMM yyyy HH:mm:ss.SSS"
    return formatter
  }

  /// Server log lines with `since` and `timestamps` applied: a line without a time of its own (a
  /// multi-line message, Garnet's) belongs to the time of the line before it; `last` carries that time
  /// from one batch to the next.
  package static func filterServerLines(
    _ lines: [String], since: Date?, timestamps: Bool, last: inout Date?
  ) -> [String] {
    var result: [String] = []
    let formatter = serverFormatter()
    for line in lines {
      if let time = serverLineTime(line, formatter: formatter) { last = time }
      if let since {
        guard let time = last, time >= since else { continue }
      }
      result.append(timestamps ? "\(last.map(stamp) ?? String(repeating: "-", count: stampLength)) \(line)" : line)
    }
    return result
  }
}
