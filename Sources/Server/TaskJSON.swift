import Foundation
import Jobs

/// A task as the API shows it: Kling's `data` object (`task_id`, `task_status`,
/// `task_status_msg`, `task_info`, `task_result.videos`, `created_at`, `updated_at`) plus
/// img2vid's `progress`, `moderation`, `cancelled` and `model_name`. The same object is the
/// payload of status events and webhooks.
enum TaskJSON {
    static func object(_ task: TaskRecord, baseURL: String, deliveries: [WebhookDelivery]? = nil) -> [String: Any] {
        var data: [String: Any] = [
            "task_id": task.id,
            "task_status": task.status.rawValue,
            "task_status_msg": task.statusMessage,
            "created_at": task.createdAt,
            "updated_at": task.updatedAt,
            "model_name": task.input.modelName,
            "task_info": ["external_task_id": task.externalTaskId ?? NSNull()] as [String: Any],
        ]
        var videos: [[String: Any]] = []
        if task.status == .succeed, let fileId = task.resultFileId {
            videos.append(["id": fileId, "url": "\(baseURL)/v1/files/\(fileId)",
                           "duration": String(format: "%.2f", task.resultDuration ?? 0)])
        }
        data["task_result"] = ["videos": videos]
        if let p = task.progress {
            var progress: [String: Any] = ["stage": p.stage, "step": p.step, "steps": p.steps]
            progress["eta_s"] = p.etaSeconds ?? NSNull()
            data["progress"] = progress
        }
        if let m = task.moderation { data["moderation"] = moderation(m) }
        if task.cancelled { data["cancelled"] = true }
        if let deliveries {
            data["webhooks"] = deliveries.map { d -> [String: Any] in
                ["webhook_id": d.id, "state": d.state, "attempts": d.attempts,
                 "last_status_code": d.lastStatusCode ?? NSNull(), "last_error": d.lastError ?? NSNull(),
                 "created_at": d.createdAt, "delivered_at": d.deliveredAt ?? NSNull()]
            }
        }
        return data
    }

    /// `data.moderation`: the decisive decision's fields, its sentence, and every decision taken.
    static func moderation(_ m: TaskModeration) -> [String: Any] {
        var object: [String: Any] = [
            "stage": m.stage, "detector": m.detector, "label": m.label ?? NSNull(), "score": m.score,
            "threshold": m.threshold, "action": m.action, "policy": m.policy, "message": m.message,
        ]
        if let data = try? JSONEncoder().encode(m.decisions), let all = try? JSONSerialization.jsonObject(with: data) {
            object["decisions"] = all
        }
        return object
    }

    static func string(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
