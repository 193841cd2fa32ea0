// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "apphost",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "apphost", targets: ["apphost"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
  ],
  targets: [
    .executableTarget(
      name: "apphost",
      dependencies: [
        "AppHostKit",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(
      name: "AppHostKit",
      dependencies: [
        .product(name: "Subprocess", package: "swift-subprocess"),
        .product(name: "SystemPackage", package: "swift-system"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .target(
      name: "TestSupport",
      path: "Tests/TestSupport"
    ),
    .testTarget(
      name: "AppHostKitTests",
      dependencies: ["AppHostKit", "TestSupport"]
    ),
    .testTarget(
      name: "IntegrationTests",
      dependencies: ["apphost", "AppHostKit", "TestSupport"]
    ),
  ]
)
