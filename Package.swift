// swift-tools-version: 6.2
import Foundation
import PackageDescription

// The commit `apphost --version` names. scripts/install sets it (`git rev-parse --short=12 HEAD`); a plain
// `swift build` (or mint) leaves it unset and the binary says "unknown commit". Only the small C target
// below depends on it, so a change recompiles one C file, not the package. Anything but
// [0-9A-Za-z._+-] is dropped: the value becomes a C string literal.
let commitCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._+-")
let buildCommit = String(
  (ProcessInfo.processInfo.environment["APPHOST_BUILD_COMMIT"] ?? "").filter(commitCharacters.contains).prefix(64))

let package = Package(
  name: "apphost",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "apphost", targets: ["apphost"]),
    .executable(name: "apphost-mcp", targets: ["apphost-mcp"]),
    .executable(name: "apphost-dashboard", targets: ["apphost-dashboard"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    // The web dashboard's HTTP server, in its own executable (apphost-dashboard): apphost itself stays small.
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    // `"tls": true` (DECISIONS.md, "TLS for caches"): the project's CA and server certificate are made with
    // swift-certificates and swift-crypto; apphost's own RESP client (readiness, SAVE, seeding, `cli`) speaks
    // TLS through swift-nio-ssl.
    .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
  ],
  targets: [
    .executableTarget(
      name: "apphost",
      dependencies: [
        "AppHostKit",
        "AppHostBuildInfo",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // The web dashboard `up` starts: a second client of the control socket, serving 127.0.0.1 only.
    .executableTarget(
      name: "apphost-dashboard",
      dependencies: [
        "AppHostKit",
        .product(name: "FlyingFox", package: "FlyingFox"),
        .product(name: "FlyingSocks", package: "FlyingFox"),
      ]
    ),
    // `apphost mcp` runs this helper: the MCP SDK brings FoundationNetworking (libcurl and some 30
    // libraries), which would make every other command start 7 ms slower if `apphost` linked it
    // (DECISIONS.md, 2026-12-02).
    .executableTarget(
      name: "apphost-mcp",
      dependencies: [
        "AppHostMCP",
        "AppHostKit",
        "AppHostBuildInfo",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(
      name: "AppHostMCP",
      dependencies: [
        "AppHostKit",
        .product(name: "MCP", package: "swift-sdk"),
      ]
    ),
    .target(
      name: "AppHostBuildInfo",
      cSettings: buildCommit.isEmpty ? [] : [.define("APPHOST_BUILD_COMMIT", to: "\"\(buildCommit)\"")]
    ),
    .target(
      name: "AppHostKit",
      dependencies: [
        .product(name: "Subprocess", package: "swift-subprocess"),
        .product(name: "SystemPackage", package: "swift-system"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOTLS", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]
    ),
    .target(
      name: "TestSupport",
      path: "Tests/TestSupport"
    ),
    .testTarget(
      name: "AppHostKitTests",
      dependencies: [
        "AppHostKit", "AppHostMCP", "TestSupport", .product(name: "X509", package: "swift-certificates"),
      ]
    ),
    .testTarget(
      name: "IntegrationTests",
      dependencies: ["apphost", "apphost-mcp", "apphost-dashboard", "AppHostKit", "TestSupport"]
    ),
  ]
)
