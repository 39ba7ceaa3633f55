// Brushwork studio: plain JavaScript over the HTTP API (no framework, no CDN).
"use strict";

// The access token (when the server has one) goes only in the Authorization header; the
// session cookie that POST /api/session sets from it carries <img> and EventSource requests.
// A link may bring it as #token=... (a fragment never reaches the server or its logs).
const TOKEN_KEY = "brushwork-token";
let token = sessionStorage.getItem(TOKEN_KEY);
const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromLink) {
  token = fromLink;
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, "", location.pathname + location.search);
}
const $ = (id) => document.getElementById(id);
const files = { content: null, style: null };
let current = null;   // id of the job shown
let events = null;    // its EventSource

function authorized(options = {}) {
  const headers = new Headers(options.headers || {});
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return { ...options, headers, credentials: "same-origin" };
}

async function startSession() {
  if (token) await fetch("/api/session", authorized({ method: "POST" }));
}
let session = startSession();
let asking = null;    // the pending question for the token, shared by calls failing together

// fetch with the token; on 401 ask for it once, open a session and try again.
async function send(url, options = {}) {
  await session;
  let response = await fetch(url, authorized(options));
  if (response.status === 401) {
    asking = asking || askToken();
    if (await asking) response = await fetch(url, authorized(options));
    asking = null;
  }
  return response;
}

async function askToken() {
  const given = window.prompt("This studio needs its access token:");
  if (!given) return false;
  token = given.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  session = startSession();
  await session;
  return true;
}

async function api(url, options = {}) {
  const response = await send(url, options);
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error(body?.error || `${response.status} ${response.statusText}`);
  return body;
}

function say(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// --- picking and dropping images -----------------------------------------------------

function setFile(which, file) {
  files[which] = file;
  const img = $(`${which}-drop`).querySelector("img");
  img.src = URL.createObjectURL(file);
  img.hidden = false;
  $(`${which}-drop`).querySelector(".hint").textContent = file.name;
}

for (const which of ["content", "style"]) {
  const drop = $(`${which}-drop`);
  const input = $(`${which}-input`);
  input.addEventListener("change", () => input.files[0] && setFile(which, input.files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) setFile(which, e.dataTransfer.files[0]);
  });
}

// --- submitting a job and watching it ------------------------------------------------

function fmtSeconds(s) {
  if (s == null) return "";
  return s < 90 ? `${Math.round(s)} s left` : `${Math.round(s / 60)} min left`;
}

function showState(job) {
  $("progress").value = job.progress || 0;
  let text = job.status;
  if (job.status === "running" && job.steps) text += ` — step ${job.step} of ${job.steps} ${fmtSeconds(job.eta)}`;
  if (job.status === "queued" && job.queue_position != null) text += ` — ${job.queue_position} ahead`;
  if (job.error) text += ` — ${job.error}`;
  $("progress-text").textContent = text;
  if (job.preview) {
    $("live-image").src = job.preview;
    $("live-caption").textContent = "forming…";
  }
}

function finish(job) {
  $("submit").disabled = false;
  $("cancel").hidden = true;
  if (job.status === "done") {
    const url = `/api/jobs/${job.id}/result`;
    $("live-image").src = url;
    $("live-caption").textContent = "result";
    $("download").href = url;
    $("download").download = `brushwork-${job.id.slice(0, 8)}.png`;
    $("download").hidden = false;
    say("job-message", "Done.");
  } else {
    say("job-message", `Job ${job.status}${job.error ? ": " + job.error : ""}.`, job.status !== "cancelled");
  }
  loadGallery();
}

function watch(id) {
  if (events) events.close();
  current = id;
  events = new EventSource(`/api/jobs/${id}/events`);
  let last = null;
  events.addEventListener("progress", (e) => { last = JSON.parse(e.data); showState(last); });
  events.addEventListener("end", () => { events.close(); events = null; if (last) finish(last); });
  events.addEventListener("shutdown", () => {
    events.close(); events = null;
    $("submit").disabled = false; $("cancel").hidden = true;
    say("job-message", "The server is stopping: an unfinished job is marked interrupted (queued ones run after a restart).", true);
  });
  events.onerror = () => {   // the stream broke: fall back to one status call
    if (!events) return;
    events.close(); events = null;
    api(`/api/jobs/${id}`).then((job) => (job.status === "queued" || job.status === "running") ? setTimeout(() => watch(id), 1000) : finish(job))
      .catch((err) => say("job-message", err.message, true));
  };
}

$("job-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const method = methods[$("method").value];
  if (!files.content || (method.min_styles && !files.style)) { say("job-message", "Pick a photo and a style image first.", true); return; }
  const form = new FormData();
  form.append("content", files.content);
  if (method.max_styles && files.style) form.append("style", files.style);
  form.append("method", method.name);
  for (const id of ["size", "style-weight", "preserve-color", "iterations"]) {
    const el = $(id);
    if (el.value !== "" && method.options.includes(el.name)) form.append(el.name, el.value);
  }
  $("submit").disabled = true;
  say("job-message", "Uploading…");
  try {
    const job = await api("/api/jobs", { method: "POST", body: form });
    say("job-message", `Job ${job.id.slice(0, 8)} accepted.`);
    $("live").hidden = false;
    $("download").hidden = true;
    $("live-image").removeAttribute("src");
    $("cancel").hidden = false;
    showState(job);
    watch(job.id);
  } catch (err) {
    $("submit").disabled = false;
    say("job-message", err.message, true);
  }
});

$("cancel").addEventListener("click", async () => {
  if (current) await api(`/api/jobs/${current}/cancel`, { method: "POST" }).catch((err) => say("job-message", err.message, true));
});

// --- gallery ---------------------------------------------------------------------------

async function loadGallery() {
  try {
    const { jobs } = await api("/api/jobs?limit=60");
    const box = $("gallery-items");
    box.replaceChildren();
    if (!jobs.length) { box.innerHTML = '<p class="hint">No results yet.</p>'; return; }
    for (const job of jobs) {
      const card = document.createElement("div");
      card.className = "card";
      if (job.status === "done") {
        const a = document.createElement("a");
        a.href = `/api/jobs/${job.id}/result`;
        a.target = "_blank";
        const img = document.createElement("img");
        img.src = a.href; img.alt = `result ${job.id.slice(0, 8)}`; img.loading = "lazy";
        a.append(img); card.append(a);
      }
      const status = document.createElement("div");
      status.className = `status ${job.status}`;
      status.textContent = job.status;
      const when = document.createElement("div");
      when.textContent = `${new Date(job.created * 1000).toLocaleString()} · ${job.method} · ${job.options.size}px`;
      card.append(status, when);
      box.append(card);
    }
  } catch (err) {
    say("job-message", err.message, true);
  }
}
$("refresh-gallery").addEventListener("click", loadGallery);

// --- GAN sampler -------------------------------------------------------------------------

function ganParams() {
  const p = new URLSearchParams({ seed: $("gan-seed").value, n: $("gan-n").value });
  if ($("gan-truncation").value) p.set("truncation", $("gan-truncation").value);
  if ($("gan-class").value) p.set("class_id", $("gan-class").value);
  return p;
}

async function showImage(img, url) {
  const response = await send(url);
  if (!response.ok) { say("gan-message", (await response.json()).error, true); return; }
  say("gan-message", "");
  img.src = URL.createObjectURL(await response.blob());
  img.hidden = false;
}

function ganSample() {
  $("gan-seed-value").textContent = $("gan-seed").value;
  showImage($("gan-grid"), `/api/gan/runs/${encodeURIComponent($("gan-run").value)}/sample?${ganParams()}`);
}

async function loadRuns() {
  const { runs } = await api("/api/gan/runs");
  if (!runs.length) return;
  $("gan-empty").hidden = true;
  $("gan-controls").hidden = false;
  for (const run of runs) $("gan-run").add(new Option(`${run.name} (step ${run.step}${run.num_classes ? `, ${run.num_classes} classes` : ""})`, run.name));
  ganSample();
}
for (const id of ["gan-run", "gan-seed", "gan-n", "gan-truncation", "gan-class"]) $(id).addEventListener("input", ganSample);
$("gan-interpolate").addEventListener("click", () => {
  const p = ganParams();
  p.delete("n"); p.delete("seed");
  p.set("seed_a", $("gan-seed-a").value); p.set("seed_b", $("gan-seed-b").value); p.set("steps", $("gan-steps").value);
  showImage($("gan-strip"), `/api/gan/runs/${encodeURIComponent($("gan-run").value)}/interpolate?${p}`);
});

// --- start -----------------------------------------------------------------------------

const methods = {};
function showMethodOptions() {   // only the controls the chosen method understands
  const method = methods[$("method").value];
  if (!method) return;
  $("style-drop").hidden = !method.max_styles;
  for (const id of ["size", "style-weight", "preserve-color", "iterations"]) $(id).parentElement.hidden = !method.options.includes($(id).name);
}
$("method").addEventListener("change", showMethodOptions);
api("/api/methods").then((answer) => {
  for (const m of answer.methods) { methods[m.name] = m; $("method").add(new Option(m.title, m.name)); }
  showMethodOptions();
}).catch((err) => say("job-message", err.message, true));
loadGallery();
loadRuns().catch((err) => say("gan-message", err.message, true));
