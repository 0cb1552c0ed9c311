import Foundation
import Tensor
import TestSupport
import XCTest

/// The safetensors reader against malformed files (built here, byte by byte), files written by
/// Python's safetensors, the writer (round trip, byte-identical layout with the Rust writer),
/// zero-copy mapping, and a seeded header fuzz.
final class SafeTensorsFileTests: XCTestCase {
    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "st-file-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    // MARK: Helpers

    /// Writes `prefix length (or claimedLength) + header + data` and returns the path.
    @discardableResult
    private func write(_ name: String, header: String, data: [UInt8] = [], claimedLength: UInt64? = nil) -> String {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (claimedLength ?? UInt64(header.utf8.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        return write(name, bytes: bytes)
    }

    @discardableResult
    private func write(_ name: String, bytes: [UInt8]) -> String {
        let path = folder + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    /// A valid two-tensor file: "a" F32 [2] = [1, -2] at [0, 8), "b" F16 [3] = [1, 2, 3] at [8, 14).
    private func validFileBytes() -> [UInt8] {
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]}}"#
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        for v: Float in [1, -2] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        for v: Float16 in [1, 2, 3] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    private func entryHeader(_ entry: String, name: String = "x") -> String { "{\"\(name)\":\(entry)}" }

    /// Asserts that opening `path` throws exactly `problem`, naming the file and `tensor`.
    private func assertProblem(_ path: String, _ problem: SafeTensorsError.Problem, tensor: String? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        assertError(path, tensor: tensor, file: file, line: line) { XCTAssertEqual($0, problem, file: file, line: line) }
    }

    private func assertError(_ path: String, tensor: String? = nil, file: StaticString = #filePath, line: UInt = #line,
                             _ check: (SafeTensorsError.Problem) -> Void) {
        XCTAssertThrowsError(try SafeTensorsFile(path: path), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else { return XCTFail("not a SafeTensorsError: \(error)", file: file, line: line) }
            check(e.problem)
            XCTAssertEqual(e.file, path, file: file, line: line)
            XCTAssertEqual(e.tensor, tensor, file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(path + ":"), "message does not name the file: \(e)", file: file, line: line)
            if let tensor { XCTAssertTrue(e.description.contains("tensor '\(tensor)'"), "message does not name the tensor: \(e)", file: file, line: line) }
        }
    }

    // MARK: Framing

    func testFileShorterThanEightBytes() {
        assertProblem(write("short", bytes: [1, 0, 0, 0, 0]), .fileTooSmall(size: 5))
        assertProblem(write("empty", bytes: []), .fileTooSmall(size: 0))
    }

    func testTruncatedInTheMiddleOfTheHeader() {
        let bytes = validFileBytes()
        let headerLength = UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let cut = 8 + Int(headerLength) / 2
        assertProblem(write("cut-header", bytes: Array(bytes[..<cut])), .headerPastEndOfFile(claimed: headerLength, fileSize: cut))
    }

    func testTruncatedInTheMiddleOfTheData() {
        let bytes = validFileBytes()
        let cut = bytes.count - 3  // inside "b"
        let dataSize = 14 - 3
        assertProblem(write("cut-data", bytes: Array(bytes[..<cut])), .offsetsOutOfBounds(begin: 8, end: 14, dataSize: dataSize), tensor: "b")
    }

    func testHeaderLengthLargerThanTheFile() {
        let path = write("long-claim", header: entryHeader(#"{"dtype":"F32","shape":[],"data_offsets":[0,4]}"#), data: [0, 0, 0, 0], claimedLength: 1000)
        let size = 8 + entryHeader(#"{"dtype":"F32","shape":[],"data_offsets":[0,4]}"#).utf8.count + 4
        assertProblem(path, .headerPastEndOfFile(claimed: 1000, fileSize: size))
    }

    func testGigabyteHeaderClaimIsRefusedBeforeAllocating() {
        assertProblem(write("1gb", header: "{}", claimedLength: 1 << 30), .headerTooLarge(claimed: 1 << 30, limit: 100_000_000))
        assertProblem(write("max", header: "{}", claimedLength: .max), .headerTooLarge(claimed: .max, limit: 100_000_000))
        // Exactly at the limit is allowed by the length check (and then fails as past the end).
        assertProblem(write("at-limit", header: "{}", claimedLength: 100_000_000), .headerPastEndOfFile(claimed: 100_000_000, fileSize: 10))
    }

    // MARK: Offsets and sizes

    func testOffsetsPastTheEnd() {
        let path = write("past", header: entryHeader(#"{"dtype":"F32","shape":[100],"data_offsets":[0,400]}"#), data: Array(repeating: 0, count: 8))
        assertProblem(path, .offsetsOutOfBounds(begin: 0, end: 400, dataSize: 8), tensor: "x")
    }

    func testSixtyFourBitOffsetsAreReadExactly() {
        // The largest UInt64 is read exactly and refused as out of bounds (no wrap to a negative Int).
        let big = write("u64max", header: entryHeader(#"{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}"#), data: [0])
        assertProblem(big, .offsetsOutOfBounds(begin: UInt64.max - 1, end: UInt64.max, dataSize: 1), tensor: "x")
        // 2^64 does not fit.
        let huge = write("2^64", header: entryHeader(#"{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}"#), data: [0])
        assertProblem(huge, .wrongType(field: "data_offsets", expected: "an array of two non-negative integers", found: "the number 18446744073709551616"), tensor: "x")
        // Offsets beyond 2^32 inside the file are fine as numbers; here they are past the end.
        let wide = write("wide", header: entryHeader(#"{"dtype":"U8","shape":[1],"data_offsets":[4294967296,4294967297]}"#), data: [0])
        assertProblem(wide, .offsetsOutOfBounds(begin: 1 << 32, end: (1 << 32) + 1, dataSize: 1), tensor: "x")
    }

    func testReversedOffsets() {
        let path = write("reversed", header: entryHeader(#"{"dtype":"U8","shape":[0],"data_offsets":[4,0]}"#), data: [0, 0, 0, 0])
        assertProblem(path, .offsetsReversed(begin: 4, end: 0), tensor: "x")
    }

    func testOverlappingTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertProblem(write("overlap", header: header, data: Array(repeating: 0, count: 12)), .overlapping(other: "a"), tensor: "b")
        // Identical ranges overlap too.
        let same = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#
        assertProblem(write("same", header: same, data: Array(repeating: 0, count: 8)), .overlapping(other: "a"), tensor: "b")
    }

    func testShapeSizeMismatch() {
        let path = write("mismatch", header: entryHeader(#"{"dtype":"F32","shape":[3],"data_offsets":[0,8]}"#), data: Array(repeating: 0, count: 8))
        assertProblem(path, .sizeMismatch(expectedBytes: 12, actualBytes: 8), tensor: "x")
    }

    func testShapeOverflow() {
        let path = write("overflow", header: entryHeader(#"{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}"#), data: Array(repeating: 0, count: 8))
        assertProblem(path, .shapeOverflow(shape: [1 << 32, 1 << 32]), tensor: "x")
    }

    func testUnknownDType() {
        let path = write("dtype", header: entryHeader(#"{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}"#), data: [0])
        assertProblem(path, .unknownDType("F8_E4M3"), tensor: "x")
    }

    // MARK: JSON

    func testInvalidJSON() {
        for (name, header) in [("unterminated", #"{"x":{"dtype":"F32","#), ("trailing", "{} x"), ("comma", #"{"a":1,}"#),
                               ("single-quotes", "{'a':1}"), ("control", "{\"a\u{01}\":1}"), ("bad-escape", #"{"\q":1}"#),
                               ("lone-surrogate", #"{"\ud800":1}"#), ("leading-zero", #"{"a":01}"#)] {
            assertError(write(name, header: header)) { problem in
                guard case .invalidJSON(let why) = problem else { return XCTFail("\(name): \(problem)") }
                XCTAssertTrue(why.contains("byte") || why.contains("end"), "\(name): message does not say where: \(why)")
            }
        }
        assertProblem(write("array", header: "[1,2]"), .invalidJSON("the top level is an array, not an object"))
        // Not UTF-8.
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(6).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x7D])  // {"\xC3("}
        assertProblem(write("utf8", bytes: bytes), .invalidJSON("invalid UTF-8 at byte 2"))
    }

    func testDeeplyNestedJSONIsRefusedWithoutOverflowingTheStack() {
        let header = "{\"x\":" + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}"
        assertError(write("deep", header: header)) { problem in
            guard case .invalidJSON(let why) = problem else { return XCTFail("\(problem)") }
            XCTAssertTrue(why.contains("nesting deeper than 64"), why)
        }
    }

    func testWrongJSONTypes() {
        let ints = "an array of non-negative integers", offsets = "an array of two non-negative integers"
        let cases: [(String, String, SafeTensorsError.Problem)] = [
            ("shape-string", #"{"dtype":"F32","shape":"2","data_offsets":[0,8]}"#, .wrongType(field: "shape", expected: ints, found: "a string")),
            ("shape-float", #"{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}"#, .wrongType(field: "shape", expected: ints, found: "the number 2.0")),
            ("negative-dim", #"{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}"#, .negativeDimension(shape: [2, -1])),
            ("bool-offsets", #"{"dtype":"F32","shape":[2],"data_offsets":[false,true]}"#, .wrongType(field: "data_offsets", expected: offsets, found: "an array holding a boolean")),
            ("offsets-bool", #"{"dtype":"F32","shape":[2],"data_offsets":true}"#, .wrongType(field: "data_offsets", expected: offsets, found: "a boolean")),
            ("float-offset", #"{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}"#, .wrongType(field: "data_offsets", expected: offsets, found: "the number 8.0")),
            ("negative-offset", #"{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}"#, .wrongType(field: "data_offsets", expected: offsets, found: "the number -8")),
            ("three-offsets", #"{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}"#, .wrongType(field: "data_offsets", expected: offsets, found: "an array of 3 values")),
            ("dtype-number", #"{"dtype":32,"shape":[2],"data_offsets":[0,8]}"#, .wrongType(field: "dtype", expected: "a string", found: "the number 32")),
            ("entry-array", #"[1,2]"#, .wrongType(field: "entry", expected: "an object", found: "an array")),
            ("no-offsets", #"{"dtype":"F32","shape":[2]}"#, .missingField("data_offsets")),
            ("no-dtype", #"{"shape":[2],"data_offsets":[0,8]}"#, .missingField("dtype")),
        ]
        for (name, entry, problem) in cases {
            assertProblem(write(name, header: entryHeader(entry), data: Array(repeating: 0, count: 8)), problem, tensor: "x")
        }
    }

    func testMetadataOfTheWrongType() {
        let tensor = #""x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#
        assertProblem(write("meta-int", header: #"{"__metadata__":{"a":"1","b":2},"# + tensor + "}", data: [0]),
                      .invalidMetadata("must map strings to strings; 'b' holds the number 2"))
        assertProblem(write("meta-array", header: #"{"__metadata__":["a"],"# + tensor + "}", data: [0]),
                      .invalidMetadata("must be an object of strings, found an array"))
        assertProblem(write("meta-dup", header: #"{"__metadata__":{"a":"1","a":"2"},"# + tensor + "}", data: [0]),
                      .invalidMetadata("holds the key 'a' twice"))
        // null is no metadata (serde's Option accepts it).
        let file = try? SafeTensorsFile(path: write("meta-null", header: #"{"__metadata__":null,"# + tensor + "}", data: [0]))
        XCTAssertEqual(file?.metadata, [:])
        XCTAssertEqual(file?.names, ["x"])
    }

    func testDuplicateKeysAreRefused() {
        let header = #"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#
        assertProblem(write("dup", header: header, data: [0, 0]), .duplicateKey("x"), tensor: "x")
        let field = entryHeader(#"{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}"#)
        assertProblem(write("dup-field", header: field, data: [0]), .duplicateKey("dtype"), tensor: "x")
    }

    // MARK: Paths

    func testDirectoryMissingPathAndFIFO() throws {
        assertProblem(folder, .notARegularFile(kind: "a directory"))
        assertProblem(folder + "/nope.safetensors", .cannotOpen("No such file or directory"))
        let fifo = folder + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let start = Date()
        assertProblem(fifo, .notARegularFile(kind: "a FIFO"))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "opening a FIFO must not wait for a writer")
    }

    func testHugeSparseFileMapsWithoutReadingIt() throws {
        let path = write("sparse", bytes: validFileBytes())
        let size: UInt64 = 1 << 40  // 1 TiB, all holes after the first bytes
        guard truncate(path, off_t(size)) == 0 else { throw XCTSkip("this filesystem cannot hold a 1 TiB sparse file: \(String(cString: strerror(errno)))") }
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.mappedBytes.count, Int(size))
        XCTAssertEqual(try file.tensor("a").floatTensor().scalars, [1, -2])
        XCTAssertEqual(try file.tensor("b").floatTensor().scalars, [1, 2, 3])
    }

    // MARK: Valid files

    func testValidFileAndLookups() throws {
        let file = try SafeTensorsFile(path: write("valid", bytes: validFileBytes()))
        XCTAssertEqual(file.names, ["a", "b"])
        XCTAssertEqual(file.metadata, ["k": "v"])
        XCTAssertEqual(file.entries["b"]?.dtype, .f16)
        XCTAssertEqual(file.entries["b"]?.shape, [3])
        XCTAssertEqual(file.entries["b"]?.dataRange, 8..<14)
        XCTAssertEqual(try file.tensor("a").floatTensor().scalars, [1, -2])
        XCTAssertEqual(try file.tensor("b").floatTensor().scalars, [1, 2, 3])
        XCTAssertThrowsError(try file.tensor("c")) { error in
            XCTAssertEqual(error as? SafeTensorsError, SafeTensorsError(file: file.path, tensor: "c", .missingTensor))
        }
    }

    /// Gaps and trailing bytes are accepted (the Rust reader refuses them; they are harmless).
    func testGapsAndTrailingBytesAreAccepted() throws {
        let header = #"{"x":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#
        let file = try SafeTensorsFile(path: write("gap", header: header, data: [9, 9, 9, 7, 8, 9, 9]))
        XCTAssertEqual(Array(try file.tensor("x").bytes), [7, 8])
    }

    func testPythonWrittenFileIsReadExactly() throws {
        let file = try SafeTensorsFile(path: fixturePath("safetensors_python.safetensors"))
        XCTAssertEqual(file.metadata, ["note": "written by safetensors.torch.save_file"])
        XCTAssertEqual(Set(file.names), ["f32", "f16", "bf16", "i64", "i32", "u8", "empty"])

        let f32 = try file.tensor("f32")
        XCTAssertEqual(f32.dtype, .f32)
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(try f32.floatTensor().scalars, (0..<6).map { Float($0) * 0.25 - 0.5 })

        let f16 = try file.tensor("f16")
        XCTAssertEqual(f16.dtype, .f16)
        let f16Values = try f16.floatTensor().scalars
        XCTAssertEqual(f16Values.map(\.bitPattern), ([0.5, -2, 65504, 0x1p-24, .infinity, -0.0] as [Float]).map(\.bitPattern))

        let bf16 = try file.tensor("bf16")
        XCTAssertEqual(bf16.dtype, .bf16)
        XCTAssertEqual(bf16.shape, [2, 2])
        // 3.0e38 and 2^-133 (a bf16 subnormal) as bf16 rounds them.
        let expectedBF16: [Float] = [1, -1.5, Float(bitPattern: UInt32(Widening.f32ToBF16(3.0e38)) << 16), 0x1p-133]
        XCTAssertEqual(try bf16.floatTensor().scalars.map(\.bitPattern), expectedBF16.map(\.bitPattern))

        let i64 = try file.tensor("i64")
        XCTAssertEqual(i64.dtype, .i64)
        XCTAssertEqual((0..<3).map { i64.bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }, [-3, 0, (1 << 40) + 1])
        XCTAssertThrowsError(try i64.floatTensor()) { XCTAssertEqual($0 as? TensorError, .notFloatingPoint(.i64)) }

        let i32 = try file.tensor("i32")
        XCTAssertEqual(i32.dtype, .i32)
        XCTAssertEqual((0..<2).map { i32.bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }, [-7, .max])
        let u8 = try file.tensor("u8")
        XCTAssertEqual(u8.dtype, .u8)
        XCTAssertEqual(Array(u8.bytes), [0, 255, 7])

        let empty = try file.tensor("empty")
        XCTAssertEqual(empty.shape, [0, 3])
        XCTAssertEqual(try empty.floatTensor().shape, [0, 3])
    }

    // MARK: Writer

    func testWriterRoundTripWithMetadata() throws {
        let f32 = Tensor(shape: [2, 3], scalars: [0, 1.5, -2, 3.25e-3, .greatestFiniteMagnitude, -.leastNonzeroMagnitude])
        let halfValues = Tensor(shape: [3], scalars: [1, -0.5, 65504])
        let i64: [Int64] = [-1, 1 << 50, 7]
        let tensors: [String: StoredTensor] = [
            "w.f32": StoredTensor(f32),
            "w.f16": StoredTensor(halfValues, as: .f16),
            "w.bf16": StoredTensor(halfValues, as: .bf16),
            "w.i64": StoredTensor(dtype: .i64, shape: [3], copying: i64.withUnsafeBytes { Array($0) }),
            "odd.u8": StoredTensor(dtype: .u8, shape: [3], copying: [1, 2, 3]),
            "zero": StoredTensor(Tensor(zeros: [2, 0])),
            "scalar": StoredTensor(Tensor(shape: [], scalars: [42])),
        ]
        let metadata = ["format": "pt", "quote\"back\\slash": "line\nbreak\ttab/ü\u{01}"]
        let path = folder + "/round.safetensors"
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)

        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(Set(file.names), Set(tensors.keys))
        for (name, t) in tensors {
            let read = try file.tensor(name)
            XCTAssertEqual(read.dtype, t.dtype, name)
            XCTAssertEqual(read.shape, t.shape, name)
            XCTAssertEqual(Array(read.bytes), Array(t.bytes), name)
            // Every tensor starts aligned to its element size (Rust layout: by dtype, descending).
            XCTAssertEqual((file.dataStart + file.entries[name]!.dataRange.lowerBound) % t.dtype.size, 0, name)
        }
        XCTAssertEqual(file.dataStart % 8, 0, "data section must start 8-byte aligned")
        XCTAssertEqual(try file.tensor("w.f32").floatTensor().scalars.map(\.bitPattern), f32.scalars.map(\.bitPattern))
        XCTAssertEqual(try file.tensor("w.f16").floatTensor().scalars, [1, -0.5, 65504])
        XCTAssertEqual(try file.tensor("w.bf16").floatTensor().scalars, [1, -0.5, 65536])  // 65504 rounds to 2^16 in bf16
        XCTAssertEqual(try file.tensor("scalar").floatTensor().scalars, [42])
        // Rust layout order; "zero" is empty and starts where "w.bf16" starts (ties list by name).
        XCTAssertEqual(file.names, ["w.i64", "scalar", "w.f32", "w.bf16", "zero", "w.f16", "odd.u8"])
        XCTAssertEqual(file.entries["zero"]!.dataRange, file.entries["w.bf16"]!.dataRange.lowerBound..<file.entries["w.bf16"]!.dataRange.lowerBound)
        // No temporary file is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["round.safetensors"])
    }

    /// The writer lays out a file byte for byte as Python's safetensors (the Rust writer) does.
    func testWriterMatchesPythonBytes() throws {
        for shard in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            let source = fixturePath("safetensors_sharded/" + shard)
            let file = try SafeTensorsFile(path: source)
            var tensors: [String: StoredTensor] = [:]
            for name in file.names { tensors[name] = try file.tensor(name) }
            let path = folder + "/" + shard
            try SafeTensorsWriter.write(tensors, metadata: file.metadata, to: path)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: source)), shard)
        }
    }

    func testWriterRefusesTheReservedNameAndUnwritablePaths() {
        XCTAssertThrowsError(try SafeTensorsWriter.write(["__metadata__": StoredTensor(Tensor(zeros: [1]))], to: folder + "/x")) { error in
            guard case .cannotWrite = (error as? SafeTensorsError)?.problem else { return XCTFail("\(error)") }
        }
        let path = folder + "/no/such/folder/x.safetensors"
        XCTAssertThrowsError(try SafeTensorsWriter.write(["a": StoredTensor(Tensor(zeros: [1]))], to: path)) { error in
            guard let e = error as? SafeTensorsError, case .cannotWrite = e.problem else { return XCTFail("\(error)") }
            XCTAssertEqual(e.file, path)
        }
    }

    // MARK: Zero copy

    func testF32TensorPointsIntoTheMapping() throws {
        let path = folder + "/zc.safetensors"
        try SafeTensorsWriter.write(["h": StoredTensor(Tensor(shape: [3], scalars: [1, 2, 3]), as: .f16),
                                     "w": StoredTensor(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))], to: path)
        let file = try SafeTensorsFile(path: path)
        let mapping = file.mappedBytes
        let w = try file.tensor("w").floatTensor()
        let address = UnsafeRawPointer(w.storage.pointer)
        XCTAssertTrue(address >= mapping.baseAddress! && address + w.count * 4 <= mapping.baseAddress! + mapping.count,
                      "f32 tensor was copied out of the mapping")
        XCTAssertEqual(address, mapping.baseAddress! + file.dataStart + file.entries["w"]!.dataRange.lowerBound)
        XCTAssertEqual(w.scalars, [1, 2, 3, 4])
        // f16 is widened into fresh memory.
        let h = try file.tensor("h").floatTensor()
        let hAddress = UnsafeRawPointer(h.storage.pointer)
        XCTAssertFalse(hAddress >= mapping.baseAddress! && hAddress < mapping.baseAddress! + mapping.count)
    }

    // MARK: Fuzz

    /// Mutates random bytes of a valid file's header (and sometimes its length prefix) 200 times,
    /// seeded: the reader must either succeed, with every tensor inside the data, or throw
    /// SafeTensorsError. A crash fails the whole run.
    func testRandomHeaderMutationsNeverCrash() throws {
        let original = validFileBytes()
        let headerLength = Int(UInt64(littleEndian: original.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
        var rng = SplitMix64(seed: 0x5AFE_7E45)
        var opened = 0, refused = 0
        let interesting: [UInt8] = Array("{}[]\":,-0123456789eE.tfn \\u".utf8) + [0x00, 0xFF, 0xC3]
        for iteration in 0..<200 {
            var bytes = original
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let position = rng.next() % 10 == 0 ? Int(rng.next() % 8) : 8 + Int(rng.next() % UInt64(headerLength))
                bytes[position] = rng.next() % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : interesting[Int(rng.next() % UInt64(interesting.count))]
            }
            let path = write("fuzz-\(iteration)", bytes: bytes)
            do {
                let file = try SafeTensorsFile(path: path)
                opened += 1
                let dataSize = bytes.count - file.dataStart
                for name in file.names {
                    let entry = file.entries[name]!
                    XCTAssertTrue(entry.dataRange.lowerBound >= 0 && entry.dataRange.upperBound <= dataSize)
                    let t = try file.tensor(name)
                    XCTAssertEqual(t.bytes.count, entry.shape.reduce(1, *) * entry.dtype.size)
                    if t.dtype.isFloatingPoint { XCTAssertEqual(try t.floatTensor().count, t.count) }
                }
            } catch is SafeTensorsError {
                refused += 1
            }
        }
        XCTAssertEqual(opened + refused, 200)
        XCTAssertGreaterThan(refused, 100, "most random mutations should be refused")
    }
}

/// A small seeded generator (SplitMix64) so that the fuzz test is reproducible.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
