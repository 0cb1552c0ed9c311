import Jobs
import Prometheus

/// `/metrics` (Prometheus text format through swift-prometheus): queue depth, tasks by status,
/// denoising step seconds, rejections by stage, model loads, HTTP requests by route and status class.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let queueDepth: Gauge
    let running: Gauge
    let tasksByStatus: [TaskStatus: Gauge]
    let stepSeconds: ValueHistogram
    let submitted: Counter
    let modelLoads: Gauge

    init() {
        queueDepth = registry.makeGauge(name: "img2vid_queue_depth", help: "Tasks waiting for a worker (submitted).")
        running = registry.makeGauge(name: "img2vid_running_tasks", help: "Tasks this process runs now.")
        var byStatus: [TaskStatus: Gauge] = [:]
        for status in TaskStatus.allCases {
            byStatus[status] = registry.makeGauge(name: "img2vid_tasks", labels: [("status", status.rawValue)],
                                                  help: "Tasks in the store by status.")
        }
        tasksByStatus = byStatus
        stepSeconds = registry.makeValueHistogram(name: "img2vid_step_seconds",
                                                  buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
                                                  help: "Seconds per denoising step.")
        submitted = registry.makeCounter(name: "img2vid_tasks_submitted_total", help: "Tasks accepted.")
        modelLoads = registry.makeGauge(name: "img2vid_model_loads", help: "Models loaded into this process's engine since it started (a loaded model serves every later task).")
    }

    func rejected(stage: String) {
        registry.makeCounter(name: "img2vid_rejections_total", labels: [("stage", stage)],
                             help: "Requests or tasks stopped by moderation, by stage.").increment()
    }

    func request(route: String, status: Int) {
        registry.makeCounter(name: "img2vid_http_requests_total", labels: [("route", route), ("code", "\(status / 100)xx")],
                             help: "HTTP requests answered.").increment()
    }

    /// Refreshes the store gauges and renders the text format.
    func render(store: any JobStore, runningNow: Int, modelLoads loads: Int) async -> String {
        if let counts = try? await store.counts(keyId: nil) {
            for (status, gauge) in tasksByStatus { gauge.set(Double(counts[status] ?? 0)) }
            queueDepth.set(Double(counts[.submitted] ?? 0))
        }
        running.set(Double(runningNow))
        modelLoads.set(Double(loads))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
