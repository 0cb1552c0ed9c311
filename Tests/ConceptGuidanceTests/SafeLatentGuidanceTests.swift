import ConceptGuidance
import Diffusion
import Tensor
import XCTest

/// The SLD step on hand-made predictions against the formula evaluated independently in Double
/// (tolerance 1e-6 relative: the Swift step is float32), the presets against diffusers' SafetyConfig,
/// and the guidance before warmup against plain classifier-free guidance (bit-identical).
final class SafeLatentGuidanceTests: XCTestCase {
    func testPresetsAreDiffusersSafetyConfig() {
        typealias P = SLDConfiguration.Preset
        XCTAssertNil(P.off.configuration)
        XCTAssertEqual(P.weak.configuration, SLDConfiguration(guidanceScale: 20, warmupSteps: 15, threshold: 0, momentumScale: 0, momentumBeta: 0))
        XCTAssertEqual(P.medium.configuration, SLDConfiguration(guidanceScale: 1000, warmupSteps: 10, threshold: 0.01, momentumScale: 0.3, momentumBeta: 0.4))
        XCTAssertEqual(P.strong.configuration, SLDConfiguration(guidanceScale: 2000, warmupSteps: 7, threshold: 0.025, momentumScale: 0.5, momentumBeta: 0.7))
        XCTAssertEqual(P.max.configuration, SLDConfiguration(guidanceScale: 5000, warmupSteps: 0, threshold: 1.0, momentumScale: 0.5, momentumBeta: 0.7))
    }

    func predictions(_ seed: UInt64, count: Int) -> [Tensor] {
        var g = TorchGenerator(seed: seed)
        return (0..<count).map { _ in scale(g.normal(shape: [3, 2, 4, 5]), by: 0.02) }
    }

    func testStepMatchesFormulaWithTwoConcepts() {
        let config = SLDConfiguration(guidanceScale: 300, warmupSteps: 1, threshold: 0.005, momentumScale: 0.4, momentumBeta: 0.6)
        var guidance = SafeLatentGuidance(configuration: config, concepts: [Tensor(zeros: [1, 1, 8]), Tensor(zeros: [1, 1, 8])])
        XCTAssertEqual(guidance.extraConditionings.count, 2)
        let scales: [Float] = [1.0, 1.75, 2.5]
        var v = [Double](repeating: 0, count: 120)
        for step in 0..<3 {
            let p = predictions(UInt64(10 + step), count: 4)
            let (u, c, s1, s2) = (p[0].scalars, p[1].scalars, p[2].scalars, p[3].scalars)
            let out = guidance.combine(uncond: p[0], cond: p[1], extra: [p[2], p[3]], frameScales: scales, stepIndex: step).scalars
            var active = 0, squared = 0.0, maxErr = 0.0
            for i in 0..<120 {
                var gamma = 0.0
                for s in [s1, s2] {
                    let d = Double(c[i]) - Double(s[i])
                    let mu = d >= 0.005 ? 0 : min(abs(d) * 300, 1)
                    if mu > 0 { active += 1 }
                    gamma += (Double(s[i]) - Double(u[i])) * mu
                }
                gamma += 0.4 * v[i]
                v[i] = 0.6 * v[i] + 0.4 * gamma
                squared += gamma * gamma
                let g = Double(scales[i / 40])
                let expected = Double(u[i]) + g * ((Double(c[i]) - Double(u[i])) - (step >= 1 ? gamma : 0))
                maxErr = max(maxErr, abs(Double(out[i]) - expected))
            }
            XCTAssertLessThan(maxErr, 1e-6 * 0.1, "step \(step)")
            let stat = guidance.statistics[step]
            XCTAssertEqual(stat.activeFraction, Double(active) / 240, accuracy: 1e-12)
            XCTAssertEqual(stat.gammaNorm, squared.squareRoot(), accuracy: 1e-5 * squared.squareRoot())
            XCTAssertEqual(stat.applied, step >= 1)
            XCTAssertGreaterThan(stat.activeFraction, 0.1)
        }
    }

    func testBeforeWarmupIsClassifierFreeGuidanceBitForBit() {
        let p = predictions(3, count: 3)
        let scales: [Float] = [1.0, 1.75, 2.5]
        var guidance = SafeLatentGuidance(configuration: SLDConfiguration.Preset.medium.configuration!, concepts: [Tensor(zeros: [1, 1, 8])])
        let sld = guidance.combine(uncond: p[0], cond: p[1], extra: [p[2]], frameScales: scales, stepIndex: 0)
        let cfg = ClassifierFreeGuidance.guide(uncond: p[0], cond: p[1], frameScales: scales)
        XCTAssertEqual(sld.scalars, cfg.scalars)
        XCTAssertNotNil(guidance.momentum, "momentum builds up during warmup")
        XCTAssertGreaterThan(guidance.statistics[0].gammaNorm, 0)
    }
}
