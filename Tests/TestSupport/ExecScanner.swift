import Foundation

/// A moderation `exec` detector for tests: a shell script that reports the benign label TEST_FLAG
/// with score 0.9 where `condition` (a shell test; the detector's environment has IMG2VID_STAGE,
/// IMG2VID_INDEX, ...) holds, else 0.1.
public enum ExecScanner {
    /// Writes the script to `path` (mode 0755) and returns `path`.
    @discardableResult
    public static func write(to path: String, condition: String) throws -> String {
        try """
            #!/bin/sh
            if \(condition); then echo '{"detections": [{"label": "TEST_FLAG", "score": 0.9}]}'
            else echo '{"detections": [{"label": "TEST_FLAG", "score": 0.1}]}'; fi
            """.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }
}
