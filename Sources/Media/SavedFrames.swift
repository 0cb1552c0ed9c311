#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The PNG frames one `PNGWriter.writeFrames` call wrote (`--save-frames DIR`) and the folders it
/// had to create, so that a request failing later (disk full while encoding the video, a failed
/// rename, a cancel) takes them back and leaves no partial output.
public struct SavedFrames: Sendable, Equatable {
    /// The frame files, in frame order.
    public let paths: [String]
    /// Folders created for them, outermost first (empty when the folder already existed).
    public let createdFolders: [String]

    public init(paths: [String], createdFolders: [String]) {
        self.paths = paths
        self.createdFolders = createdFolders
    }

    /// Deletes the frames, then the folders that were created for them (innermost first, only
    /// while empty: a file someone else put there keeps its folder).
    public func remove() {
        for path in paths { unlink(path) }
        for folder in createdFolders.reversed() { rmdir(folder) }
    }
}
