import AppHostBuildInfo
import AppHostKit

/// What `apphost --version` prints: the version and the commit the binary was built from, e.g.
/// `0.1.0 (commit 1a2b3c4d5e6f)`. The commit is known when the build was given it (scripts/install does,
/// see Package.swift); otherwise it says so: `0.1.0 (unknown commit)`.
enum BuildVersion {
  static var commit: String? {
    let commit = String(cString: apphost_build_commit())
    return commit.isEmpty ? nil : commit
  }

  static var description: String {
    "\(AppHostVersion.current) (\(commit.map { "commit \($0)" } ?? "unknown commit"))"
  }
}
