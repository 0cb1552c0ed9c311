import Foundation
import Tensor

/// What makes one loaded model different from another: the model folder, its weight variant,
/// the precision its products run at, and a UNet weight file that replaces the folder's.
/// Two requests with equal keys share one loaded pipeline.
public struct ModelKey: Hashable, Sendable, CustomStringConvertible {
    /// The model folder, absolute and standardized (`Weights/demo` and `./Weights/demo/` are one model).
    public let folder: String
    public let variant: String?
    public let precision: ComputePrecision
    /// A UNet weight file used instead of the folder's (absolute and standardized), nil for the folder's own.
    public let unetWeights: String?

    public init(folder: String, variant: String? = nil, precision: ComputePrecision = .f32, unetWeights: String? = nil) {
        self.folder = Self.standardized(folder)
        self.variant = variant
        self.precision = precision
        self.unetWeights = unetWeights.map(Self.standardized)
    }

    public var description: String {
        "\(folder)" + (variant.map { " (\($0))" } ?? "") + " \(precision.rawValue)" + (unetWeights.map { ", unet \($0)" } ?? "")
    }

    static func standardized(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let absolute = expanded.hasPrefix("/") ? expanded
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded)
        return (absolute as NSString).standardizingPath
    }
}
