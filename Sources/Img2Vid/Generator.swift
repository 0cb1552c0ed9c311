/// Anything that turns a request into a video: the plain `VideoGenerator`, or a layer around one
/// (`ModeratedGenerator`). Front ends hold a `Generator` and do not care which.
public protocol Generator: AnyObject {
    func generate(_ request: GenerationRequest, events: (GenerationEvent) -> Void) throws -> GenerationResult
}
