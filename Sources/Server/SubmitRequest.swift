import Foundation
import Jobs

/// A validated `POST /v1/videos/image2video` body (JSON or multipart form). Every problem is an
/// `APIError` naming the field and the limit; nothing here can crash on input.
struct SubmitRequest: Sendable {
    var input: TaskInput
    var imageBytes: [UInt8]
    var callbackURL: String?
    var externalTaskId: String?

    /// The fields and what they accept (the OpenAPI document lists the same).
    static let fields: Set<String> = [
        "model_name", "image", "prompt", "negative_prompt", "cfg_scale", "callback_url", "external_task_id",
        "seed", "num_frames", "width", "height", "steps", "fps", "motion_bucket_id", "noise_aug_strength",
        "min_guidance_scale", "max_guidance_scale", "guidance", "avoid", "precision",
    ]

    /// Parses a JSON body.
    static func parse(json body: [UInt8], defaultModel: String) throws(APIError) -> SubmitRequest {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw .malformed("body: not valid JSON (\(Self.reason(error)))")
        }
        guard case .object(let object) = value else { throw .malformed("body: expected a JSON object, got \(value.typeName)") }
        var image: [UInt8]?
        if let v = object["image"] {
            guard case .string(let s) = v else { throw .invalid("image", "expected a string (base64 or a data: URL), got \(v.typeName)") }
            image = try decodeImage(s)
        }
        return try build(object, image: image, defaultModel: defaultModel)
    }

    /// Parses a multipart form: the image as a file part named `image`, the rest as text parts
    /// (numbers written as text; `avoid` repeated).
    static func parse(form parts: [MultipartPart], defaultModel: String) throws(APIError) -> SubmitRequest {
        var object: [String: JSONValue] = [:]
        var image: [UInt8]?
        for part in parts {
            if part.name == "image" {
                image = part.filename == nil ? try decodeImage(String(decoding: part.body, as: UTF8.self)) : part.body
                continue
            }
            let text = String(decoding: part.body, as: UTF8.self)
            switch part.name {
            case "avoid":
                if case .array(var a) = object["avoid"] { a.append(.string(text)); object["avoid"] = .array(a) }
                else { object["avoid"] = .array([.string(text)]) }
            case "seed", "num_frames", "width", "height", "steps", "fps", "motion_bucket_id":
                if let i = Int64(text) { object[part.name] = .int(i) } else { throw .invalid(part.name, "expected an integer, got '\(text.prefix(40))'") }
            case "cfg_scale", "noise_aug_strength", "min_guidance_scale", "max_guidance_scale":
                if let d = Double(text) { object[part.name] = .double(d) } else { throw .invalid(part.name, "expected a number, got '\(text.prefix(40))'") }
            default:
                object[part.name] = .string(text)
            }
        }
        return try build(object, image: image, defaultModel: defaultModel)
    }

    private static func build(_ object: [String: JSONValue], image: [UInt8]?, defaultModel: String) throws(APIError) -> SubmitRequest {
        for key in object.keys.sorted() where !fields.contains(key) {
            throw .invalid(key, "unknown field (accepted: \(fields.sorted().joined(separator: ", ")))")
        }
        guard let image else { throw .invalid("image", "required: the input image as base64, a data: URL, or a multipart file part") }
        var r = Reader(object: object)
        var input = TaskInput(modelName: try r.string("model_name", maxLength: 128) ?? defaultModel)
        input.prompt = try r.string("prompt", maxLength: 2500)
        input.negativePrompt = try r.string("negative_prompt", maxLength: 2500)
        input.cfgScale = try r.number("cfg_scale", 0...1)
        if let seed = try r.int("seed", 0...Int64(UInt32.max) * 65536) { input.seed = UInt64(seed) }
        input.numFrames = try r.int("num_frames", 1...128).map(Int.init)
        input.width = try r.int("width", 64...2048, multipleOf: 8).map(Int.init)
        input.height = try r.int("height", 64...2048, multipleOf: 8).map(Int.init)
        input.steps = try r.int("steps", 1...150).map(Int.init)
        input.fps = try r.int("fps", 1...60).map(Int.init)
        input.motionBucketId = try r.int("motion_bucket_id", 0...255).map(Int.init)
        input.noiseAugStrength = try r.number("noise_aug_strength", 0...1)
        input.minGuidanceScale = try r.number("min_guidance_scale", 0...30)
        input.maxGuidanceScale = try r.number("max_guidance_scale", 0...30)
        input.guidance = try r.choice("guidance", ["off", "weak", "medium", "strong", "max"])
        input.precision = try r.choice("precision", ["auto", "f32", "bf16"])
        if let avoid = object["avoid"] {
            guard case .array(let items) = avoid, items.allSatisfy({ if case .string = $0 { true } else { false } }) else {
                throw .invalid("avoid", "expected an array of strings, got \(avoid.typeName)")
            }
            if !items.isEmpty {
                throw .invalid("avoid", "text concepts need a CLIP text encoder, and this server has none configured; leave avoid empty")
            }
        }
        if let min = input.minGuidanceScale, let max = input.maxGuidanceScale, min > max {
            throw .invalid("min_guidance_scale", "\(min) is above max_guidance_scale \(max)")
        }
        var callback = try r.string("callback_url", maxLength: 2048)
        if let c = callback {
            guard let url = URL(string: c), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
                throw .invalid("callback_url", "expected an http:// or https:// URL, got '\(c.prefix(80))'")
            }
            if c.isEmpty { callback = nil }
        }
        let external = try r.string("external_task_id", maxLength: 128)
        return SubmitRequest(input: input, imageBytes: image, callbackURL: callback, externalTaskId: external)
    }

    /// Base64 (standard or URL-safe, whitespace ignored) or a `data:image/...;base64,` URL.
    static func decodeImage(_ text: String) throws(APIError) -> [UInt8] {
        var s = text
        if s.hasPrefix("data:") {
            guard let comma = s.firstIndex(of: ","), s[..<comma].hasSuffix(";base64") else {
                throw .invalid("image", "a data: URL must be base64 (data:image/png;base64,...)")
            }
            s = String(s[s.index(after: comma)...])
        }
        s = String(s.filter { !$0.isWhitespace }).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        guard !s.isEmpty, let data = Data(base64Encoded: s) else {
            throw .invalid("image", "not valid base64 (send the file's bytes base64-encoded, or a data: URL)")
        }
        return [UInt8](data)
    }

    private static func reason(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let c) = error {
            return (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? c.debugDescription
        }
        return "\(error)"
    }

    /// Typed access to the body's fields.
    private struct Reader {
        let object: [String: JSONValue]

        func string(_ key: String, maxLength: Int) throws(APIError) -> String? {
            guard let v = object[key], v != .null else { return nil }
            guard case .string(let s) = v else { throw .invalid(key, "expected a string, got \(v.typeName)") }
            guard s.count <= maxLength else { throw .invalid(key, "\(s.count) characters, over the limit of \(maxLength)") }
            return s
        }

        func int(_ key: String, _ range: ClosedRange<Int64>, multipleOf: Int64 = 1) throws(APIError) -> Int64? {
            guard let v = object[key], v != .null else { return nil }
            guard case .int(let i) = v else { throw .invalid(key, "expected an integer, got \(v.typeName)") }
            guard range.contains(i) else { throw .invalid(key, "\(i) is outside \(range.lowerBound)...\(range.upperBound)") }
            guard i % multipleOf == 0 else { throw .invalid(key, "\(i) is not a multiple of \(multipleOf)") }
            return i
        }

        func number(_ key: String, _ range: ClosedRange<Double>) throws(APIError) -> Double? {
            guard let v = object[key], v != .null else { return nil }
            let d: Double
            switch v {
            case .int(let i): d = Double(i)
            case .double(let x): d = x
            default: throw .invalid(key, "expected a number, got \(v.typeName)")
            }
            guard range.contains(d) else { throw .invalid(key, "\(d) is outside \(range.lowerBound)...\(range.upperBound)") }
            return d
        }

        func choice(_ key: String, _ options: [String]) throws(APIError) -> String? {
            guard let s = try string(key, maxLength: 64) else { return nil }
            guard options.contains(s) else { throw .invalid(key, "'\(s)' is not one of \(options.joined(separator: ", "))") }
            return s
        }
    }
}
