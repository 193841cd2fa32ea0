/// Quotes a word for a POSIX shell: unchanged when it is plain, else in single quotes.
package func shellQuoted(_ word: String) -> String {
  if !word.isEmpty,
    word.unicodeScalars.allSatisfy({ scalar in
      ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        || "-_./:=@%+,".unicodeScalars.contains(scalar)
    })
  {
    return word
  }
  return "'" + word.replacing("'", with: #"'\''"#) + "'"
}

/// A command line a user can paste into a shell.
package func shellCommandLine(_ words: [String]) -> String {
  words.map(shellQuoted).joined(separator: " ")
}
