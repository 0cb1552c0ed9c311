/// Where a task is, with Kling's words for it (`task_status`).
public enum TaskStatus: String, Codable, Sendable, CaseIterable {
    /// Accepted and waiting for a worker slot.
    case submitted
    /// A worker holds it (claimed, attempt number incremented).
    case processing
    /// The video was written and can be downloaded.
    case succeed
    /// It ended without a video: an error, a moderation decision at the output stage, or a cancel.
    case failed

    public var isFinished: Bool { self == .succeed || self == .failed }
}
