import Foundation
import FuzzSupport
import Moderation

/// libFuzzer entry: the input is a moderation policy file (JSON), decoded and validated with
/// `ModerationPolicy.decode` as `--policy` does; an accepted policy also resolves its output paths
/// and lists its rules per stage. A bad policy throws `PolicyError`, never traps.
@main
enum ModerationPolicyFuzzer {
    static func main() { FuzzDriver.run { moderationPolicyFuzzer($0, $1) } }
}

private func moderationPolicyFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(UnsafeRawBufferPointer(start: data, count: size))
    guard let policy = attempt({ try ModerationPolicy.decode(bytes, source: "fuzz.json", baseDirectory: "/nonexistent") }) else { return 0 }
    var count = 0
    for stage in ModerationStage.allCases { count += policy.rules(at: stage).count }
    precondition(count == policy.rules.count, "rules lost between stages")
    keep(policy.auditLog.map(policy.resolveOutput))
    keep(policy.quarantineFolder.map(policy.resolveOutput))
    return 0
}
