// swift-tools-version:6.0
import PackageDescription

/// Codegen choice (see README "Performance"): hot loops are compiled for Haswell (AVX2 + FMA),
/// which doubles elementwise throughput over the x86-64 baseline and still runs on any
/// x86-64 CPU from 2013 on. OpenBLAS picks its own kernel at run time.
let hotLoopFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]

let package = Package(
    name: "img2vid",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "img2vid", targets: ["Img2VidCLI"]),
        .library(name: "Img2Vid", targets: ["Img2Vid"]),
        // The readers of untrusted input, one library each, for the fuzz harnesses (Fuzz/Package.swift
        // depends on this package by path); no build of this package compiles anything more for them.
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Media", targets: ["Media"]),
        .library(name: "Encoders", targets: ["Encoders"]),
        .library(name: "SVD", targets: ["SVD"]),
        .library(name: "ConceptGuidance", targets: ["ConceptGuidance"]),
        .library(name: "Moderation", targets: ["Moderation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `img2vid serve` (issue 16): HTTP, graceful shutdown, the SQLite job store, /metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // The PostgreSQL job store (issue 17): API servers and workers on many machines.
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat"),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16"),
        .systemLibrary(name: "CDNNL"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CDNNL"], swiftSettings: hotLoopFlags),
        .target(name: "Layers", dependencies: ["Tensor"], swiftSettings: hotLoopFlags),
        .target(name: "Media", dependencies: ["CFFmpeg", "CPNG", "Tensor"], swiftSettings: hotLoopFlags),
        .target(name: "Diffusion", dependencies: ["Tensor"], swiftSettings: hotLoopFlags),
        .target(name: "SVD", dependencies: ["Tensor", "Layers", "Encoders", "Diffusion"], swiftSettings: hotLoopFlags),
        .target(name: "Encoders", dependencies: ["Tensor", "Layers"], swiftSettings: hotLoopFlags),
        .target(name: "ConceptGuidance", dependencies: ["Tensor", "Layers", "Diffusion", "Encoders"], swiftSettings: hotLoopFlags),
        .target(name: "Moderation", dependencies: ["Tensor", "Layers", "Media", "Encoders"], swiftSettings: hotLoopFlags),
        .target(name: "Img2Vid", dependencies: ["Tensor", "Media", "Diffusion", "SVD", "Encoders", "ConceptGuidance", "Moderation"]),
        // Tasks, the JobStore protocol and its SQLite store, webhooks, API keys (issue 16).
        .target(name: "Jobs", dependencies: ["Img2Vid", "Moderation", "Media", .product(name: "GRDB", package: "GRDB.swift")],
                swiftSettings: [.swiftLanguageMode(.v6)]),
        // The PostgreSQL job store: leases, fencing, LISTEN/NOTIFY, bytea inputs and results (issue 17).
        .target(name: "PostgresStore", dependencies: ["Jobs", .product(name: "PostgresNIO", package: "postgres-nio"),
                                                   .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                   .product(name: "Logging", package: "swift-log")],
                swiftSettings: [.swiftLanguageMode(.v6)]),
        // The HTTP task API (`img2vid serve`): routes, SSE, files, the web page, metrics.
        .target(name: "Server", dependencies: [
                    "Jobs", "Moderation",
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                    .product(name: "HTTPTypes", package: "swift-http-types"),
                ],
                resources: [.copy("Resources")],
                swiftSettings: [.swiftLanguageMode(.v6)]),
        .executableTarget(
            name: "Img2VidCLI",
            dependencies: ["Img2Vid", "Jobs", "PostgresStore", "Server", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Helpers shared by the test targets (fixtures, tensor and frame comparisons); not shipped.
        .target(name: "TestSupport", dependencies: ["Tensor"], path: "Tests/TestSupport"),
        .target(name: "SVDTestSupport", dependencies: ["SVD", "TestSupport"], path: "Tests/SVDTestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SVDTests", dependencies: ["SVD", "Layers", "Diffusion", "Tensor", "Media", "TestSupport", "SVDTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "EncodersTests", dependencies: ["Encoders", "Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ConceptGuidanceTests", dependencies: ["ConceptGuidance", "SVD", "Diffusion", "Tensor", "Media", "TestSupport", "SVDTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ModerationTests", dependencies: ["Moderation", "Media", "Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "Img2VidTests", dependencies: ["Img2Vid", "SVD", "Diffusion", "Media", "Moderation", "Tensor"]),
        .testTarget(name: "ArchitectureTests", dependencies: []),
        .testTarget(name: "Img2VidCLITests", dependencies: ["Media", "Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs"]),
        .testTarget(name: "PostgresStoreTests", dependencies: ["PostgresStore", "Jobs"]),
        .testTarget(name: "ServerTests", dependencies: ["Jobs", "TestSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
