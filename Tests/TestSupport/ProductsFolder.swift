import Foundation

/// The executables `swift test` builds beside the running test bundle (the products folder), for
/// the tests that run the real `img2vid` command or server.
public enum ProductsFolder {
    /// The folders looked in: the test process's own folder, `argv[0]`'s, each loaded `.xctest`
    /// bundle's parent, the main bundle.
    public static var candidates: [URL] {
        var folders: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        folders.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        folders.append(Bundle.main.bundleURL)
        return folders
    }

    /// The path of executable `name` in the first candidate folder that has it; nil when none does.
    public static func executable(_ name: String) -> String? {
        candidates.map { $0.appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
