/// One `img2vid bench` measurement; the `--json` object (snake_case keys, every key always present).
public struct BenchmarkResult: Codable, Sendable, Equatable {
    public var component: String
    /// The input shape(s) of one run, for example "[1, 14, 8, 72, 128]".
    public var shape: String
    public var runs: Int
    public var warmup: Int
    public var medianSeconds: Double
    public var minSeconds: Double
    public var maxSeconds: Double
    /// Every timed run, in order.
    public var runSeconds: [Double]
    /// Building the model(s): reading or generating the weights.
    public var loadSeconds: Double
    /// Peak resident set size of the process at the end (getrusage).
    public var peakRssBytes: Int
    public var threads: Int
    /// OpenBLAS's kernel (`BLAS.coreName`): "Haswell", "SkylakeX", ...
    public var blasCore: String
    /// The precision the products ran at ("f32" or "bf16"; `auto` resolved).
    public var precision = "f32"
    /// The library f32 products ran on (`GEMM.f32Library(columns:)`): "onednn+openblas" (by
    /// shape, the default), or "onednn" or "openblas" when one is forced (`IMG2VID_F32_GEMM`).
    public var f32GEMM = "openblas"
    /// oneDNN's instruction set on this CPU ("avx2", "avx512_core_bf16", ...): whether bf16 is native.
    public var cpuISA = "unknown"
    /// "random" or the model folder.
    public var weights: String
    /// Stored dtype of the weights: "f32", "f16", "bf16" (the dtype of most of the checkpoint's tensors for --model).
    public var weightsDtype: String
    /// Parameters of the model(s) the component runs.
    public var parameters: Int
    public var numFrames: Int
    public var width: Int
    public var height: Int
    /// Denoising steps of one run (`pipeline`: all of them, `step`: 1, else nil).
    public var steps: Int?
    /// Floating-point work of one run in GFLOP (2 per multiply-add). Not counted yet: always nil
    /// here; the performance work fills it in (and `gflops_per_s` from it).
    public var gflop: Double?
    /// `pipeline`: seconds per stage (encode_image, vae_encode, denoise, decode, encode_video), the median over
    /// the timed runs; nil for the other components.
    public var stageSeconds: [String: Double]?
    /// `--profile`: seconds of the first timed run per op category (`OpProfile`: the calling
    /// thread's wall time, attributed to the innermost op running; "other" is the rest of the run).
    public var profileSeconds: [String: Double]?
    /// `step`, `pipeline`: the sampler that ran ("euler", "animatelcm"); nil for the other components.
    public var scheduler: String?
    /// `gflop / median_s`, nil while `gflop` is.
    public var gflopsPerSecond: Double? { gflop.map { $0 / medianSeconds } }

    enum CodingKeys: String, CodingKey {
        case component, shape, runs, warmup, threads, weights, parameters, width, height, steps, gflop
        case medianSeconds = "median_s"
        case minSeconds = "min_s"
        case maxSeconds = "max_s"
        case runSeconds = "run_s"
        case loadSeconds = "load_s"
        case peakRssBytes = "peak_rss_bytes"
        case precision
        case cpuISA = "cpu_isa"
        case f32GEMM = "f32_gemm"
        case blasCore = "blas_core"
        case weightsDtype = "weights_dtype"
        case numFrames = "num_frames"
        case gflopsPerSecond = "gflops_per_s"
        case stageSeconds = "stage_s"
        case profileSeconds = "profile_s"
        case scheduler
    }

    public init(component: String, shape: String, runSeconds: [Double], warmup: Int, loadSeconds: Double,
                peakRssBytes: Int, threads: Int, blasCore: String, weights: String, weightsDtype: String,
                parameters: Int, numFrames: Int, width: Int, height: Int, steps: Int?, gflop: Double? = nil) {
        self.component = component
        self.shape = shape
        self.runSeconds = runSeconds
        runs = runSeconds.count
        self.warmup = warmup
        let sorted = runSeconds.sorted()
        medianSeconds = sorted.isEmpty ? 0 : sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        minSeconds = sorted.first ?? 0
        maxSeconds = sorted.last ?? 0
        self.loadSeconds = loadSeconds
        self.peakRssBytes = peakRssBytes
        self.threads = threads
        self.blasCore = blasCore
        self.weights = weights
        self.weightsDtype = weightsDtype
        self.parameters = parameters
        self.numFrames = numFrames
        self.width = width
        self.height = height
        self.steps = steps
        self.gflop = gflop
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(component: try c.decode(String.self, forKey: .component), shape: try c.decode(String.self, forKey: .shape),
                  runSeconds: try c.decode([Double].self, forKey: .runSeconds), warmup: try c.decode(Int.self, forKey: .warmup),
                  loadSeconds: try c.decode(Double.self, forKey: .loadSeconds), peakRssBytes: try c.decode(Int.self, forKey: .peakRssBytes),
                  threads: try c.decode(Int.self, forKey: .threads), blasCore: try c.decode(String.self, forKey: .blasCore),
                  weights: try c.decode(String.self, forKey: .weights), weightsDtype: try c.decode(String.self, forKey: .weightsDtype),
                  parameters: try c.decode(Int.self, forKey: .parameters), numFrames: try c.decode(Int.self, forKey: .numFrames),
                  width: try c.decode(Int.self, forKey: .width), height: try c.decode(Int.self, forKey: .height),
                  steps: try c.decodeIfPresent(Int.self, forKey: .steps), gflop: try c.decodeIfPresent(Double.self, forKey: .gflop))
        stageSeconds = try c.decodeIfPresent([String: Double].self, forKey: .stageSeconds)
        profileSeconds = try c.decodeIfPresent([String: Double].self, forKey: .profileSeconds)
        scheduler = try c.decodeIfPresent(String.self, forKey: .scheduler)
        precision = try c.decodeIfPresent(String.self, forKey: .precision) ?? "f32"
        cpuISA = try c.decodeIfPresent(String.self, forKey: .cpuISA) ?? "unknown"
        f32GEMM = try c.decodeIfPresent(String.self, forKey: .f32GEMM) ?? "openblas"
    }

    /// Every key is written, nil values as `null`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(component, forKey: .component)
        try c.encode(shape, forKey: .shape)
        try c.encode(runs, forKey: .runs)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(medianSeconds, forKey: .medianSeconds)
        try c.encode(minSeconds, forKey: .minSeconds)
        try c.encode(maxSeconds, forKey: .maxSeconds)
        try c.encode(runSeconds, forKey: .runSeconds)
        try c.encode(loadSeconds, forKey: .loadSeconds)
        try c.encode(peakRssBytes, forKey: .peakRssBytes)
        try c.encode(threads, forKey: .threads)
        try c.encode(blasCore, forKey: .blasCore)
        try c.encode(precision, forKey: .precision)
        try c.encode(cpuISA, forKey: .cpuISA)
        try c.encode(f32GEMM, forKey: .f32GEMM)
        try c.encode(weights, forKey: .weights)
        try c.encode(weightsDtype, forKey: .weightsDtype)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(numFrames, forKey: .numFrames)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(steps, forKey: .steps)
        try c.encode(gflop, forKey: .gflop)
        try c.encode(gflopsPerSecond, forKey: .gflopsPerSecond)
        try c.encode(stageSeconds, forKey: .stageSeconds)
        try c.encode(profileSeconds, forKey: .profileSeconds)
        try c.encode(scheduler, forKey: .scheduler)
    }
}
