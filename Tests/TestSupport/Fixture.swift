import Foundation
import Tensor

/// Where the committed fixtures of the calling test target live: `Fixtures/<name>` in the folder of
/// the test file that calls this (found from the caller's source path through the `#filePath`
/// default, so no resource bundle is copied at build time). A helper that calls this on behalf of
/// its own caller must pass its `file` on.
public func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// A fixture file written by Scripts/reference (op fixtures, scheduler and RNG references, traces of
/// whole pipeline runs): tensors, plus string parameters in its safetensors metadata.
public struct Fixture {
    public let file: SafeTensorsFile

    /// Opens `Fixtures/<name>` of the calling test target (see `fixturePath`).
    public init(_ name: String, file: StaticString = #filePath) throws {
        self.file = try SafeTensorsFile(path: fixturePath(name, file: file))
    }

    /// An entry widened to f32.
    public func tensor(_ name: String) throws -> Tensor { try file.tensor(name).floatTensor() }
    /// An entry widened to f32, as a flat array.
    public func floats(_ name: String) throws -> [Float] { try tensor(name).scalars }
    // Metadata values the script wrote; a missing or malformed one traps (the fixture is broken).

    /// A metadata value as an integer.
    public func int(_ key: String) -> Int { Int(file.metadata[key]!)! }
    /// A metadata value as a float.
    public func float(_ key: String) -> Float { Float(file.metadata[key]!)! }
    /// A metadata value as written.
    public func string(_ key: String) -> String { file.metadata[key]! }
}
