import XCTest
import Tensor

/// `BLASKernelChoice`: when OpenBLAS's fallback kernel is replaced, and by what.
final class BLASKernelChoiceTests: XCTestCase {
    let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"]
    let avx2: Set<String> = ["sse3", "avx", "avx2", "fma"]

    func testFallbackKernelIsReplacedByTheWidestTheCPUHas() {
        XCTAssertEqual(BLASKernelChoice.replacement(loaded: "Prescott", cpuFlags: avx512, userSetting: nil), "SkylakeX")
        XCTAssertEqual(BLASKernelChoice.replacement(loaded: "Sandybridge", cpuFlags: avx512, userSetting: nil), "SkylakeX")
        XCTAssertEqual(BLASKernelChoice.replacement(loaded: "Prescott", cpuFlags: avx2, userSetting: nil), "Haswell")
        // AVX-512 F without BW/VL/DQ (Knights Landing) is not enough for the SkylakeX kernel.
        XCTAssertEqual(BLASKernelChoice.replacement(loaded: "Prescott", cpuFlags: avx2.union(["avx512f"]), userSetting: nil), "Haswell")
    }

    func testOpenBLASChoiceStands() {
        for kernel in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SAPPHIRERAPIDS"] {
            XCTAssertNil(BLASKernelChoice.replacement(loaded: kernel, cpuFlags: avx512, userSetting: nil), kernel)
        }
        XCTAssertNil(BLASKernelChoice.replacement(loaded: "Prescott", cpuFlags: avx512, userSetting: "Prescott"), "the user's setting stands")
        XCTAssertNil(BLASKernelChoice.replacement(loaded: "Prescott", cpuFlags: avx512, userSetting: ""), "even an empty one")
        XCTAssertNil(BLASKernelChoice.replacement(loaded: "Prescott", cpuFlags: ["sse3", "avx"], userSetting: nil), "no AVX2: nothing faster")
    }

    func testCPUInfoReadsTheFirstCPU() throws {
        let path = NSTemporaryDirectory() + "cpuinfo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 207\nflags\t\t: fpu sse3 avx2 fma avx512f\nbugs\t\t: spectre_v1\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let info = CPUInfo(contentsOf: path)
        XCTAssertEqual(info.flags, ["fpu", "sse3", "avx2", "fma", "avx512f"])
        XCTAssertEqual(info.vendor, "GenuineIntel")
        XCTAssertEqual(info.fields["model"], "207")
        let missing = CPUInfo(contentsOf: path + "-missing")
        XCTAssertEqual(missing.flags, [])
        XCTAssertEqual(missing.vendor, "unknown")
        // This machine's own flags include what the project's codegen requires (AVX2 + FMA).
        XCTAssertTrue(CPUInfo.current.flags.isSuperset(of: ["avx2", "fma"]))
    }
}
