import Encoders
import Tensor

/// Text -> concept vector through a CLIP text encoder folder (CLIPModel or CLIPTextModelWithProjection,
/// with its vocab.json / merges.txt): `text_embeds` of the tokenised text (padded to 77 as diffusers does).
public struct TextConceptEncoder {
    public let tokenizer: CLIPTokenizer
    public let model: CLIPTextModelWithProjection

    public init(folder: String) throws {
        do {
            tokenizer = try CLIPTokenizer(folder: folder)
            model = try CLIPTextModelWithProjection.load(folder: folder)
        } catch let e as TextEncoderLoadError {
            throw ConceptGuidanceError.textEncoder(e.description)
        }
    }

    public var dimension: Int { model.config.projectionDim }

    /// The text embedding [D].
    public func embed(_ text: String) -> Tensor {
        let length = min(tokenizer.maxLength, model.config.maxPositionEmbeddings)
        let (embeds, _) = model([tokenizer.encode(text, length: length)])
        return embeds.reshaped([embeds.count])
    }
}
