/// What `img2vid inspect` found in a pipeline folder or a weight file (`ModelInspector`).
/// Encoded as the `--json` object; field names are snake_case and stable.
public struct ModelReport: Codable, Sendable, Equatable {
    /// What the path turned out to be.
    public enum Kind: String, Codable, Sendable {
        /// A diffusers pipeline folder (model_index.json and one folder per component).
        case pipeline
        /// One `.safetensors` file.
        case safetensors
        /// A sharded checkpoint: `*.safetensors.index.json` and its shards.
        case shardedSafetensors = "sharded_safetensors"
        /// Nothing that could be read (missing path, unknown file type).
        case unknown
    }

    /// One tensor, for the list of the largest.
    public struct TensorInfo: Codable, Sendable, Equatable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var parameters: Int
    }

    /// The tensors of one checkpoint (single file or shards).
    public struct Weights: Codable, Sendable, Equatable {
        /// The file read: the `.safetensors` file or the `.index.json`.
        public var file: String
        /// Every file of the checkpoint (the shards of an index; the file itself otherwise).
        public var files: [String]
        /// The `.fp16`-style variant of the file name, nil for the plain name.
        public var variant: String?
        public var tensorCount: Int
        public var parameterCount: Int
        /// Tensor count per dtype ("F16": 686).
        public var dtypes: [String: Int]
        /// Bytes on disk of every file (shards and index).
        public var sizeBytes: Int
        /// The safetensors `__metadata__` (merged over shards).
        public var metadata: [String: String]
        /// The largest tensors by parameter count (at most 10).
        public var largest: [TensorInfo]

        enum CodingKeys: String, CodingKey {
            case file, files, variant, dtypes, metadata, largest
            case tensorCount = "tensor_count"
            case parameterCount = "parameter_count"
            case sizeBytes = "size_bytes"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(file, forKey: .file)
            try c.encode(files, forKey: .files)
            try c.encode(variant, forKey: .variant)
            try c.encode(tensorCount, forKey: .tensorCount)
            try c.encode(parameterCount, forKey: .parameterCount)
            try c.encode(dtypes, forKey: .dtypes)
            try c.encode(sizeBytes, forKey: .sizeBytes)
            try c.encode(metadata, forKey: .metadata)
            try c.encode(largest, forKey: .largest)
        }
    }

    /// One component folder of a pipeline.
    public struct Component: Codable, Sendable, Equatable {
        /// "ok", "missing" (no folder or no config), "invalid" (config or weights unreadable),
        /// "mismatch" (the weights do not fit the model the config describes), "not_checked".
        public var status: String
        public var name: String
        /// The class model_index.json names (`["diffusers", "UNetSpatioTemporalConditionModel"]` -> the second).
        public var className: String?
        /// The config file read, relative to the pipeline folder.
        public var configFile: String?
        /// Selected config fields, each as compact JSON text (`"block_out_channels": "[320,640,1280,1280]"`).
        public var config: [String: String]
        /// Every weight file in the component folder (any variant, also unreadable kinds such as `.bin`).
        public var weightFilesFound: [String]
        /// The checkpoint that was checked, if any.
        public var weights: Weights?
        /// Whether the model built from the config matched the checkpoint (nil: no model to build).
        public var matchesConfig: Bool?
        /// Checkpoint keys the model needs but the file lacks.
        public var missingTensors: [String]
        /// Tensors the file holds but the model never uses.
        public var unexpectedTensors: [String]
        /// "key: expected [..], found [..]".
        public var misshapenTensors: [String]
        /// What makes this component unusable.
        public var problems: [String]
        /// Worth knowing, not fatal.
        public var notes: [String]

        enum CodingKeys: String, CodingKey {
            case status, name, config, weights, problems, notes
            case className = "class_name"
            case configFile = "config_file"
            case weightFilesFound = "weight_files_found"
            case matchesConfig = "matches_config"
            case missingTensors = "missing_tensors"
            case unexpectedTensors = "unexpected_tensors"
            case misshapenTensors = "misshapen_tensors"
        }

        public init(name: String) {
            self.name = name
            status = "not_checked"
            config = [:]
            weightFilesFound = []
            missingTensors = []
            unexpectedTensors = []
            misshapenTensors = []
            problems = []
            notes = []
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status)
            try c.encode(name, forKey: .name)
            try c.encode(className, forKey: .className)
            try c.encode(configFile, forKey: .configFile)
            try c.encode(config, forKey: .config)
            try c.encode(weightFilesFound, forKey: .weightFilesFound)
            try c.encode(weights, forKey: .weights)
            try c.encode(matchesConfig, forKey: .matchesConfig)
            try c.encode(missingTensors, forKey: .missingTensors)
            try c.encode(unexpectedTensors, forKey: .unexpectedTensors)
            try c.encode(misshapenTensors, forKey: .misshapenTensors)
            try c.encode(problems, forKey: .problems)
            try c.encode(notes, forKey: .notes)
        }
    }

    public var path: String
    public var kind: Kind
    /// `_class_name` of model_index.json (pipelines only).
    public var pipelineClass: String?
    /// The `--variant` asked for (nil: plain files, or the only variant present).
    public var variant: String?
    /// Components of a pipeline, in model_index order (unet, vae, image_encoder, scheduler, feature_extractor).
    public var components: [Component]
    /// The checkpoint, for a single file or an index.
    public var weights: Weights?
    /// Totals over every checked checkpoint.
    public var tensorCount: Int
    public var parameterCount: Int
    public var sizeBytes: Int
    /// Everything that makes the path unusable, each prefixed with its component.
    public var problems: [String]
    /// Worth knowing, not fatal (for example: only fp16 files, pass --variant fp16).
    public var notes: [String]

    /// True when nothing is wrong: `img2vid inspect` exits 0, else 4.
    public var isUsable: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case path, kind, variant, components, weights, problems, notes
        case pipelineClass = "pipeline_class"
        case tensorCount = "tensor_count"
        case parameterCount = "parameter_count"
        case sizeBytes = "size_bytes"
        case usable
    }

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
        components = []
        tensorCount = 0
        parameterCount = 0
        sizeBytes = 0
        problems = []
        notes = []
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        kind = try c.decode(Kind.self, forKey: .kind)
        pipelineClass = try c.decodeIfPresent(String.self, forKey: .pipelineClass)
        variant = try c.decodeIfPresent(String.self, forKey: .variant)
        components = try c.decode([Component].self, forKey: .components)
        weights = try c.decodeIfPresent(Weights.self, forKey: .weights)
        tensorCount = try c.decode(Int.self, forKey: .tensorCount)
        parameterCount = try c.decode(Int.self, forKey: .parameterCount)
        sizeBytes = try c.decode(Int.self, forKey: .sizeBytes)
        problems = try c.decode([String].self, forKey: .problems)
        notes = try c.decode([String].self, forKey: .notes)
    }

    /// Every field is written, nil ones as `null`, so the object's shape does not depend on the path.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(kind, forKey: .kind)
        try c.encode(pipelineClass, forKey: .pipelineClass)
        try c.encode(variant, forKey: .variant)
        try c.encode(components, forKey: .components)
        try c.encode(weights, forKey: .weights)
        try c.encode(tensorCount, forKey: .tensorCount)
        try c.encode(parameterCount, forKey: .parameterCount)
        try c.encode(sizeBytes, forKey: .sizeBytes)
        try c.encode(problems, forKey: .problems)
        try c.encode(notes, forKey: .notes)
        try c.encode(isUsable, forKey: .usable)
    }
}
