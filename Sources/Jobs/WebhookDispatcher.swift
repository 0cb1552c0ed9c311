import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Delivers the store's pending webhook messages: POST with the Standard Webhooks headers, a 2xx
/// ends it, anything else is retried after 1, 2, 4, ... seconds (`baseDelay` doubled per attempt)
/// under the same `webhook-id`, until `maxAttempts`. The outbox lives in the store, so a restart
/// resumes where the last process stopped.
public actor WebhookDispatcher {
    let store: any JobStore
    let signer: WebhookSigner?
    let maxAttempts: Int
    let baseDelay: Double
    let timeout: Double
    private let session: URLSession

    public init(store: any JobStore, signer: WebhookSigner?, maxAttempts: Int = 8, baseDelay: Double = 1, timeout: Double = 10) {
        self.store = store
        self.signer = signer
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.timeout = timeout
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: config)
    }

    /// Polls for due deliveries until the task is cancelled.
    public func run(pollInterval: Double = 0.2) async {
        while !Task.isCancelled {
            do {
                let due = try await store.dueDeliveries(now: SQLiteJobStore.now(), limit: 16)
                await withTaskGroup(of: Void.self) { group in
                    for delivery in due {
                        group.addTask { await self.deliver(delivery) }
                    }
                }
            } catch {
                FileHandle.standardError.write(Data("img2vid serve: webhook outbox: \(error)\n".utf8))
            }
            try? await Task.sleep(nanoseconds: UInt64(pollInterval * 1e9))
        }
    }

    func deliver(_ delivery: WebhookDelivery) async {
        var request = URLRequest(url: URL(string: delivery.url)!)
        request.httpMethod = "POST"
        request.httpBody = Data(delivery.body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("img2vid-webhooks", forHTTPHeaderField: "User-Agent")
        let timestamp = Int64(Date().timeIntervalSince1970)
        request.setValue(delivery.id, forHTTPHeaderField: "webhook-id")
        request.setValue(String(timestamp), forHTTPHeaderField: "webhook-timestamp")
        if let signer {
            request.setValue(signer.signature(id: delivery.id, timestamp: timestamp, body: delivery.body), forHTTPHeaderField: "webhook-signature")
        }
        var status: Int?
        var failure: String?
        do {
            let (_, response) = try await session.data(for: request)
            status = (response as? HTTPURLResponse)?.statusCode
            if let status, !(200..<300).contains(status) { failure = "HTTP \(status)" }
        } catch {
            failure = error.localizedDescription
        }
        let delivered = failure == nil
        let attempts = delivery.attempts + 1
        var next: Int64?
        if !delivered && attempts < maxAttempts {
            next = SQLiteJobStore.now() + Int64(baseDelay * pow(2, Double(attempts - 1)) * 1000)
        }
        try? await store.recordAttempt(deliveryId: delivery.id, statusCode: status, error: failure, delivered: delivered, nextAttemptAt: next)
    }
}
