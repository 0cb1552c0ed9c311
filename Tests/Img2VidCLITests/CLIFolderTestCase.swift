import Foundation
import XCTest

/// A CLI test case working in a fresh folder (`dir`, removed at teardown) that holds `input.png`
/// (`image`: the benign 64x64 gradient of `CLI.gradientImage`).
class CLIFolderTestCase: XCTestCase {
    var dir = ""
    var image = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        dir = try CLI.temporaryFolder(self)
        image = try CLI.gradientImage(in: dir)
    }

    /// `name` inside `dir`.
    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
}
