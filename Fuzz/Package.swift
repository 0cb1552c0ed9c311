// swift-tools-version:6.0
import PackageDescription

/// libFuzzer harnesses, one per reader of untrusted input. A package of its own so that the main
/// package's builds and tests never see them: `Scripts/fuzz TARGET SECONDS` builds one with
/// `-sanitize=fuzzer,address` (every module of img2vid instrumented for coverage and AddressSanitizer)
/// into `.build-fuzz/` and runs it on its committed seed corpus (`Fuzz/Corpus/TARGET`).
let package = Package(
    name: "img2vid-fuzz",
    dependencies: [.package(name: "img2vid", path: "..")],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        .executableTarget(name: "FuzzSafeTensors",
                          dependencies: ["FuzzSupport", .product(name: "Tensor", package: "img2vid")]),
        .executableTarget(name: "FuzzConceptFile",
                          dependencies: ["FuzzSupport", .product(name: "ConceptGuidance", package: "img2vid")]),
        .executableTarget(name: "FuzzModelConfigs",
                          dependencies: ["FuzzSupport", .product(name: "SVD", package: "img2vid")]),
        .executableTarget(name: "FuzzImageDecoder",
                          dependencies: ["FuzzSupport", .product(name: "Media", package: "img2vid")]),
        .executableTarget(name: "FuzzModerationPolicy",
                          dependencies: ["FuzzSupport", .product(name: "Moderation", package: "img2vid")]),
        .executableTarget(name: "FuzzCLIPTokenizer",
                          dependencies: ["FuzzSupport", .product(name: "Encoders", package: "img2vid")]),
        .executableTarget(name: "FuzzWordPieceTokenizer",
                          dependencies: ["FuzzSupport", .product(name: "Encoders", package: "img2vid")]),
    ],
    swiftLanguageModes: [.v6]
)
