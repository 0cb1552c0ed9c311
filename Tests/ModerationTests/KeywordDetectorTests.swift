import Moderation
import XCTest

/// Keyword folding on benign test phrases only.
final class KeywordDetectorTests: XCTestCase {
    let detector = KeywordDetector(lists: ["TEST_FRUIT": ["purple banana"], "TEST_ANIMAL": ["llama", "sea otter"]])

    func labels(_ text: String) throws -> [String] { try detector.detect(text: text).map(\.label) }

    func testFoldingForm() {
        // accents go, l -> i, repeated letters collapse: "creme" + "brulee" -> "creme" + "bruie"
        XCTAssertEqual(KeywordFolding("Crème BRÛLÉE").string, "cremebruie")
    }

    func testMatchesAcrossCaseAccentsSpacingAndObfuscation() throws {
        let hits = [
            "I would like a purple banana",
            "PURPLE BANANA",
            "pürplé bånånà",                 // accents
            "purple     banana",             // extra spaces
            "purple\tbanana\n",              // other whitespace
            "p u r p l e b a n a n a",       // spaced-out letters
            "purple-banana",                 // punctuation instead of the space
            "purplebanana",                  // no space
            "p.u.r.p.l.e b*a*n*a*n*a",       // inserted punctuation
            "PURPL3 B4N4N4",                 // l33t digits
            "pvrple ban@na".replacingOccurrences(of: "v", with: "u"),
            "purrrrple bananaaaa",           // repeated letters
            "(purple banana!)",              // punctuation around
            "ｐｕｒｐｌｅ ｂａｎａｎａ",          // full width
        ]
        for text in hits {
            XCTAssertEqual(try labels(text), ["TEST_FRUIT"], "should match: \(text)")
        }
        XCTAssertEqual(try labels("a ll4m4 and a S.E.A. 0tter"), ["TEST_ANIMAL"])
        XCTAssertEqual(try labels("a purple banana next to a llama"), ["TEST_ANIMAL", "TEST_FRUIT"])
        XCTAssertEqual(try detector.detect(text: "purple banana").first?.score, 1)
    }

    func testKeepsWordBoundaries() throws {
        let misses = [
            "a purple bandana",              // another word
            "grapurple banana",              // keyword inside a longer word
            "purple bananas",                // longer word at the end
            "purple",                        // part of the phrase
            "a yellow banana",
            "the llamas' farm".replacingOccurrences(of: "llamas'", with: "llamasx"),
            "",
        ]
        for text in misses {
            XCTAssertEqual(try labels(text), [], "should not match: \(text)")
        }
    }

    func testFoldingDetails() {
        // l folds to i (1 stands for both), so "world" becomes "worid"
        XCTAssertEqual(KeywordFolding("Hello, World!").string, "heioworid")
        XCTAssertEqual(KeywordFolding("h3ll0 w0rld").string, "heioworid")
        XCTAssertEqual(KeywordFolding("ａｂｃ").string, "abc")
        XCTAssertEqual(KeywordFolding("Straße").string, "strase")
        let f = KeywordFolding("ab  c-d")
        XCTAssertEqual(f.string, "abcd")
        XCTAssertEqual(f.boundaries, [0, 2, 4])
        // A token whose first letter merges into the previous token's last one still starts there.
        XCTAssertTrue(KeywordFolding("miss sam").contains(KeywordFolding("sam")))
        XCTAssertFalse(KeywordFolding("classic sam").contains(KeywordFolding("csam")))
    }
}
