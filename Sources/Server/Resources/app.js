// img2vid web page: plain JavaScript against the task API (docs/API.md). No build step.
"use strict";
const $ = (id) => document.getElementById(id);
const keyInput = $("key");
keyInput.value = localStorage.getItem("img2vid-key") || "";
keyInput.addEventListener("change", () => { localStorage.setItem("img2vid-key", keyInput.value.trim()); refreshTasks(); });

function authHeaders(extra) {
  const h = Object.assign({}, extra || {});
  const key = keyInput.value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function api(method, path, body) {
  const init = { method, headers: authHeaders(body ? { "Content-Type": "application/json" } : {}) };
  if (body) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  let json;
  try { json = await response.json(); } catch (e) { json = { code: 5000, message: "the server answered " + response.status + " without JSON" }; }
  return { status: response.status, json };
}

// The moderation decision in plain words.
function explainModeration(m) {
  if (!m) return "";
  const where = { input: "the input image", prompt: "the prompt", output: "the generated frames" }[m.stage] || m.stage;
  const verb = { reject: "rejected", withhold: "withheld", quarantine: "quarantined", blur: "blurred", log: "logged" }[m.action] || m.action;
  const label = m.label ? m.label : "none of its labels";
  return `Moderation ${verb} this request at ${where}: detector "${m.detector}" saw ${label} with score ` +
         `${Number(m.score).toFixed(2)} (threshold ${Number(m.threshold).toFixed(2)}), under the policy ${m.policy}.`;
}

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = kind || "";
}

// Image: drop, click, or choose.
let imageDataURL = null;
const drop = $("drop");
drop.addEventListener("click", () => $("file").click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) loadImage(e.dataTransfer.files[0]); });
$("file").addEventListener("change", (e) => { if (e.target.files[0]) loadImage(e.target.files[0]); });

function loadImage(file) {
  const reader = new FileReader();
  reader.onload = () => {
    imageDataURL = reader.result;
    $("preview").src = imageDataURL;
    $("preview").hidden = false;
    $("drop-text").textContent = file.name;
  };
  reader.readAsDataURL(file);
}

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!imageDataURL) { setStatus("Choose an image first.", "bad"); return; }
  const body = { image: imageDataURL };
  for (const id of ["num_frames", "width", "height", "steps", "seed"]) {
    if ($(id).value !== "") body[id] = parseInt($(id).value, 10);
  }
  for (const id of ["model_name", "prompt", "guidance"]) {
    if ($(id).value !== "") body[id] = $(id).value;
  }
  $("submit").disabled = true;
  $("result").hidden = true;
  $("progress-wrap").hidden = true;
  $("progress").value = 0;
  $("progress-text").textContent = "";
  setStatus("Submitting...");
  try {
    const r = await api("POST", "/v1/videos/image2video", body);
    if (r.json.code !== 0) {
      const m = r.json.data && r.json.data.moderation;
      setStatus(m ? explainModeration(m) : `Refused (code ${r.json.code}): ${r.json.message}`, "bad");
      return;
    }
    const id = r.json.data.task_id;
    setStatus(`Task ${id} submitted; waiting for a worker...`);
    refreshTasks();
    await follow(id);
  } catch (err) {
    setStatus("The request failed: " + err, "bad");
  } finally {
    $("submit").disabled = false;
  }
});

// Live progress: the task's Server-Sent Events, read through fetch so the key can be sent.
async function follow(id) {
  $("progress-wrap").hidden = false;
  let lastEventId = "";
  for (let tries = 0; tries < 20; tries++) {
    try {
      const headers = authHeaders(lastEventId ? { "Last-Event-ID": lastEventId } : {});
      const response = await fetch(`/v1/videos/image2video/${id}/events`, { headers });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const ev = { event: "message", data: "" };
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) lastEventId = line.slice(4);
            else if (line.startsWith("event: ")) ev.event = line.slice(7);
            else if (line.startsWith("data: ")) ev.data += line.slice(6);
          }
          if (ev.data && handleEvent(ev.event, JSON.parse(ev.data))) return;
        }
      }
    } catch (err) { /* reconnect below, resuming after the last event */ }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// Returns true when the task has finished.
function handleEvent(kind, data) {
  if (kind === "progress") {
    const p = data;
    $("progress").value = p.steps ? p.step / p.steps : 0;
    const eta = p.eta_s != null && p.step < p.steps ? `, about ${Math.ceil(p.eta_s)} s left` : "";
    $("progress-text").textContent = p.stage === "denoise" ? `denoising step ${p.step} of ${p.steps}${eta}` : p.stage.replace("_", " ");
    return false;
  }
  const t = data;
  if (t.task_status === "processing") setStatus(`Task ${t.task_id} is running.`);
  if (t.task_status === "submitted") setStatus(`Task ${t.task_id} is queued.`);
  if (t.task_status === "succeed") {
    const v = t.task_result.videos[0];
    $("progress").value = 1;
    $("progress-text").textContent = "done";
    $("video").src = v.url;
    $("download").href = v.url;
    $("download").setAttribute("download", `${t.task_id}.mp4`);
    $("result").hidden = false;
    $("video").play().catch(() => {});
    setStatus(`Task ${t.task_id} finished: ${v.duration} s of video.`, "good");
    refreshTasks();
    return true;
  }
  if (t.task_status === "failed") {
    $("progress-wrap").hidden = true;
    setStatus(t.moderation ? explainModeration(t.moderation) : `Task ${t.task_id} failed: ${t.task_status_msg}`, "bad");
    refreshTasks();
    return true;
  }
  return false;
}

async function refreshTasks() {
  const rows = $("task-rows");
  const r = await api("GET", "/v1/videos/image2video?pageNum=1&pageSize=20");
  rows.textContent = "";
  if (r.json.code !== 0) {
    const tr = rows.insertRow();
    const td = tr.insertCell();
    td.colSpan = 4;
    td.textContent = r.json.message;
    return;
  }
  for (const t of r.json.data) {
    const tr = rows.insertRow();
    tr.insertCell().innerHTML = `<code></code>`;
    tr.cells[0].firstChild.textContent = t.task_id;
    const st = tr.insertCell();
    st.className = t.task_status;
    st.textContent = t.task_status + (t.cancelled ? " (cancelled)" : "") +
      (t.task_status === "processing" && t.progress && t.progress.steps ? ` ${t.progress.step}/${t.progress.steps}` : "");
    tr.insertCell().textContent = new Date(t.created_at).toLocaleString();
    const res = tr.insertCell();
    if (t.task_status === "succeed" && t.task_result.videos.length) {
      const a = document.createElement("a");
      a.href = t.task_result.videos[0].url;
      a.textContent = "video";
      res.appendChild(a);
    } else if (t.task_status === "failed") {
      res.textContent = t.moderation ? explainModeration(t.moderation) : t.task_status_msg;
    }
  }
}

$("refresh").addEventListener("click", refreshTasks);
refreshTasks();
