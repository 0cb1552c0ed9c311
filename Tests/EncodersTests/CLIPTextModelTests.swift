import Encoders
import Foundation
import Tensor
import TestSupport
import XCTest

/// CLIPTextModelWithProjection against transformers on tiny random-weight models
/// (Scripts/reference/clip_text_fixtures.py): a CLIPTextModelWithProjection folder (gelu, real eos id) and
/// a CLIPModel folder (quick_gelu, legacy eos_token_id 2, vision weights to skip). Tolerance: text_embeds
/// and last_hidden_state to 1e-4 max-norm relative error (issue 6), on the transformers tokenizer's ids.
final class CLIPTextModelTests: XCTestCase {
    func testTextModelWithProjection() throws { try check("clip-text", projection: 32) }
    func testCLIPModelFolder() throws { try check("clip-model", projection: 16) }

    func check(_ name: String, projection: Int) throws {
        let fixture = try SafeTensorsFile(path: fixturePath("clip_text.safetensors"))
        let flat = try int64s(fixture.tensor("input_ids"))
        let rows = flat.count / 77
        let ids = (0..<rows).map { Array(flat[($0 * 77)..<(($0 + 1) * 77)]) }
        let model = try CLIPTextModelWithProjection.load(folder: fixturePath(name))
        XCTAssertEqual(model.config.projectionDim, projection)
        let (embeds, hidden) = model(ids)
        let expectedEmbeds = try fixture.tensor("\(name).text_embeds").floatTensor()
        let expectedHidden = try fixture.tensor("\(name).last_hidden_state").floatTensor()
        XCTAssertEqual(embeds.shape, expectedEmbeds.shape)
        XCTAssertEqual(hidden.shape, expectedHidden.shape)
        XCTAssertLessThanOrEqual(maxRelativeError(embeds, expectedEmbeds), 1e-4, "\(name) text_embeds")
        XCTAssertLessThanOrEqual(maxRelativeError(hidden, expectedHidden), 1e-4, "\(name) last_hidden_state")
        // Each row on its own gives the same embedding as in the batch.
        let (single, _) = model([ids[3]])
        XCTAssertLessThanOrEqual(maxRelativeError(single, slice(expectedEmbeds, axis: 0, range: 3..<4)), 1e-4)
    }

    func testTokenizerAndModelTogether() throws {
        let folder = fixturePath("clip-text")
        let tokenizer = try CLIPTokenizer(folder: folder)
        let model = try CLIPTextModelWithProjection.load(folder: folder)
        let fixture = try SafeTensorsFile(path: fixturePath("clip_text.safetensors"))
        let (embeds, _) = model([tokenizer.encode("a photo of a cat")])
        let expected = slice(try fixture.tensor("clip-text.text_embeds").floatTensor(), axis: 0, range: 0..<1)
        XCTAssertLessThanOrEqual(maxRelativeError(embeds, expected), 1e-4)
    }

    func testNotAFolder() {
        XCTAssertThrowsError(try CLIPTextModelWithProjection.load(folder: "/nonexistent")) { error in
            XCTAssertTrue("\(error)".contains("CLIPTextModelWithProjection"), "\(error)")
        }
    }
}
