import Img2Vid
import XCTest

/// The parent-process case, the reason `peakResidentBytes` reads /proc, is in
/// `FaultInjectionCLITests.testPeakRSSIsTheCommandsOwnNotItsParents`.
final class ResourceUsageTests: XCTestCase {
    func testHighWaterMarkIsReadFromTheStatusText() {
        let status = "Name:\timg2vid\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n"
        XCTAssertEqual(ResourceUsage.highWaterKilobytes(inStatus: status), 123_456)
        XCTAssertNil(ResourceUsage.highWaterKilobytes(inStatus: "Name:\timg2vid\nVmRSS:\t 1 kB\n"))
        XCTAssertGreaterThan(ResourceUsage.peakResidentBytes, 1 << 20)
    }
}
