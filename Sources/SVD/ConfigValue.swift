/// A config field that diffusers accepts either as one integer for every block or as a list
/// (`num_attention_heads: 5` or `[5, 10, 20, 20]`).
public enum PerBlock: Codable, Equatable, Sendable {
    case all(Int)
    case each([Int])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) { self = .all(v) } else { self = .each(try c.decode([Int].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .all(let v): try c.encode(v)
        case .each(let v): try c.encode(v)
        }
    }

    /// The value for each of `count` blocks.
    public func values(count: Int) -> [Int] {
        switch self {
        case .all(let v): return Array(repeating: v, count: count)
        case .each(let v): return v
        }
    }
}
