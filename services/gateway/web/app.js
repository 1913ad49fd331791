// ViralSpot web page: request a profile, submit an analysis, follow it live, read the results (hooks and
// scripts by results.js) and save its hooks and scripts to boards (save.js). Needs api.js. Every piece of data is written with
// textContent or DOM attributes, never parsed as HTML.
"use strict";

const STEPS = [
  ["queued", "Queued"],
  ["fetching primary profile", "Fetching your profile"],
  ["fetching competitor content", "Fetching competitor reels"],
  ["selecting top reels", "Selecting the top reels"],
  ["fetching transcripts", "Fetching transcripts"],
  ["analysing hooks", "Analysing hooks"],
  ["generating hooks and scripts", "Writing hooks and scripts"],
  ["storing results", "Saving the results"],
  ["completed", "Done"],
];
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const POLL_MS = 2000;
Object.assign(FIELD_NAMES, {
  primary_username: "Your account",
  selected_competitors: "Competitors",
  "content_strategy.contentType": "Content type",
  "content_strategy.targetAudience": "Target audience",
  "content_strategy.goals": "Goals",
  "content_strategy.additionalNotes": "Anything else",
  session_id: "Session",
});

// 1. Profile requests

async function requestProfile(event) {
  event.preventDefault();
  const username = cleanUsername($("profile-username").value);
  const status = $("profile-status");
  if (!username) {
    status.textContent = "Type a username first.";
    return;
  }
  status.textContent = "Requesting...";
  try {
    const answer = await api("POST", `/api/profile/${encodeURIComponent(username)}/request?source=web`);
    if (!answer.queued) {
      status.textContent = `@${username} is already available.`;
      return;
    }
    status.textContent = `@${username} is queued at position ${answer.queue_position} (about ${answer.estimated_time}).`;
    await watchProfile(username);
  } catch (err) {
    status.textContent = err.message;
  }
}

async function watchProfile(username) {
  const status = $("profile-status");
  for (let i = 0; i < 900; i++) {
    await sleep(POLL_MS);
    let data;
    try {
      data = await api("GET", `/api/profile/${encodeURIComponent(username)}/status`);
    } catch (err) {
      if (err.code === "PROFILE_NOT_FOUND") continue; // the request is still being recorded
      status.textContent = err.message;
      return;
    }
    if (data.status === "completed") {
      status.textContent = `@${username} is ready.`;
      return;
    }
    if (data.status === "failed") {
      status.textContent = `We could not fetch @${username}: ${data.error_message || "unknown reason"}.`;
      return;
    }
    status.textContent = data.status === "pending"
      ? `@${username} is waiting, position ${data.queue_position ?? "?"} in the queue.`
      : `@${username} is being fetched now...`;
  }
}

// 2. Submitting an analysis

async function submitAnalysis(event) {
  event.preventDefault();
  showError("analysis-error", "");
  const competitors = $("competitors").value.split(/[\s,;]+/).map(cleanUsername).filter(Boolean);
  if (competitors.length > 15) {
    showError("analysis-error", "Please name at most 15 competitors.");
    return;
  }
  const strategy = {
    contentType: $("content-type").value.trim(),
    targetAudience: $("target-audience").value.trim(),
    goals: $("goals").value.trim(),
  };
  const notes = $("additional-notes").value.trim();
  if (notes) strategy.additionalNotes = notes;
  const body = {
    session_id: `web-${crypto.randomUUID()}`,
    primary_username: cleanUsername($("primary-username").value),
    selected_competitors: competitors,
    content_strategy: strategy,
  };
  const button = $("analysis-submit");
  button.disabled = true;
  try {
    const created = await api("POST", "/api/viral-ideas/queue", body);
    const url = new URL(window.location.href);
    url.searchParams.set("session", created.session_id);
    history.replaceState(null, "", url);
    follow(created.session_id, created.id);
  } catch (err) {
    showError("analysis-error", err.message);
  } finally {
    button.disabled = false;
  }
}

// 3. Following an analysis: Server-Sent Events, polling when they cannot be used

const job = { session: null, queueId: null, run: 0, progress: 0, status: "pending", done: false, source: null };

function follow(session, queueId) {
  if (job.source) job.source.close();
  Object.assign(job, { session, queueId: queueId || null, run: 0, progress: 0, status: "pending", done: false });
  $("progress-section").hidden = false;
  $("results-section").hidden = true;
  $("session-id").textContent = session;
  $("competitor-table").tBodies[0].replaceChildren();
  showError("progress-error", "");
  renderSteps("queued");
  setProgress(0);
  setStatus("pending");
  if (!("EventSource" in window)) {
    poll();
    return;
  }
  const source = new EventSource(`/api/viral-ideas/queue/${encodeURIComponent(session)}/events${accessQuery()}`);
  job.source = source;
  let failures = 0;
  const on = (name, apply) => source.addEventListener(name, (message) => {
    failures = 0;
    let data;
    try {
      data = JSON.parse(message.data);
    } catch (_err) {
      return;
    }
    apply(data);
  });
  source.onopen = () => { $("connection-mode").textContent = "live"; };
  on("status", applySnapshot);
  on("started", (d) => { newRun(d.run); setStatus("processing"); });
  on("progress", (d) => { newRun(d.run); setProgress(d.progress, d.step, d.message); });
  on("competitor", (d) => { newRun(d.run); setCompetitor(d.username, d.status, d.error_message); });
  on("completed", (d) => finish("completed", d));
  on("failed", (d) => (d.will_retry ? setStatus("pending") : finish("failed", d)));
  on("cancelled", (d) => finish("cancelled", d));
  source.onerror = () => {
    if (job.done) return;
    failures += 1;
    // CLOSED: the server refused the stream (unknown, busy). Otherwise the browser retries by itself.
    if (source.readyState === EventSource.CLOSED || failures >= 3) {
      source.close();
      if (job.source === source) poll();
    } else {
      $("connection-mode").textContent = "reconnecting...";
    }
  };
}

async function poll() {
  job.source = null;
  $("connection-mode").textContent = "checking every few seconds";
  const session = job.session;
  let misses = 0;
  while (!job.done && job.session === session) {
    try {
      applySnapshot(await api("GET", `/api/viral-ideas/queue/${encodeURIComponent(session)}`));
      misses = 0;
    } catch (err) {
      misses += 1;
      if (err.code === "QUEUE_NOT_FOUND" && misses < 5) {
        // just created: it shows up within moments
      } else if (misses >= 5 || err.status < 500) {
        showError("progress-error", err.message);
        if (err.code === "QUEUE_NOT_FOUND") return;
      }
    }
    await sleep(POLL_MS);
  }
}

function newRun(run) {
  if (typeof run === "number" && run > job.run) {
    job.run = run;
    job.progress = 0;
  }
}

function applySnapshot(data) {
  if (!data) return;
  if (data.id) job.queueId = data.id;
  for (const c of data.competitor_details || []) setCompetitor(c.username, c.processing_status, c.error_message);
  setProgress(data.progress_percentage || 0, data.current_step);
  if (TERMINAL.has(data.status)) finish(data.status, data);
  else setStatus(data.status);
}

function setStatus(status) {
  job.status = status;
  const badge = $("job-status");
  badge.textContent = status;
  badge.className = `badge ${status}`;
}

function setProgress(value, step, message) {
  const progress = Math.max(0, Math.min(100, Number(value) || 0));
  if (progress < job.progress) return; // an older event, already overtaken
  job.progress = progress;
  $("progress-bar").value = progress;
  const label = $("progress-value");
  label.textContent = `${progress}%`;
  label.dataset.value = String(progress);
  if (step) {
    const known = STEPS.find(([name]) => name === step);
    $("current-step").textContent = message || (known ? known[1] : step);
    renderSteps(step);
  }
}

function renderSteps(current) {
  const index = STEPS.findIndex(([name]) => name === current);
  const items = STEPS.map(([name, label], i) => {
    const item = el("li", label, i < index || current === "completed" ? "done" : i === index ? "current" : "");
    item.dataset.step = name;
    return item;
  });
  $("steps").replaceChildren(...items);
}

function setCompetitor(username, status, error) {
  const body = $("competitor-table").tBodies[0];
  let row = Array.from(body.rows).find((r) => r.dataset.username === username);
  if (!row) {
    row = body.insertRow();
    row.dataset.username = username;
    row.append(el("td", `@${username}`), el("td"), el("td"));
  }
  row.cells[1].textContent = status;
  row.cells[1].className = `badge ${status}`;
  row.cells[2].textContent = status === "failed" ? error || "could not be fetched" : "";
}

function finish(status, data) {
  if (job.source) job.source.close();
  job.source = null;
  const first = !job.done;
  job.done = true;
  setStatus(status);
  $("connection-mode").textContent = "finished";
  if (status === "completed") {
    setProgress(100, "completed");
    if (first) showResults();
  } else if (status === "failed") {
    showError("progress-error", `The analysis failed: ${data.error_message || "unknown reason"}.`);
  } else {
    showError("progress-error", "The analysis was cancelled.");
  }
}

// 4. Results

async function fetchWhenReady(path) {
  // The stream may announce completion a moment before the results are readable.
  for (let attempt = 0; ; attempt++) {
    try {
      return await api("GET", path);
    } catch (err) {
      if (err.status !== 404 || attempt >= 20) throw err;
      await sleep(250);
    }
  }
}

async function showResults() {
  const id = encodeURIComponent(job.queueId);
  try {
    const [results, content] = await Promise.all([
      fetchWhenReady(`/api/viral-analysis/${id}/results`),
      fetchWhenReady(`/api/viral-analysis/${id}/content?content_type=all&limit=200`),
    ]);
    renderResults(results, content.content || []);
  } catch (err) {
    showError("progress-error", `The analysis finished, but its results could not be loaded: ${err.message}`);
  }
}

function renderResults(results, reels) {
  $("results-section").hidden = false;
  const summary = results.analysis_summary || {};
  const top = summary.top_outlier;
  $("results-summary").textContent =
    `${numberFormat.format(results.analysis.total_reels_analyzed)} reels analysed from ` +
    `${summary.competitors_analyzed ?? 0} competitors` +
    (top ? `; the strongest outlier is @${top.username} at ${top.outlier_score.toFixed(1)}x its creator's median.` : ".");
  renderChart(reels.slice(0, 12));
  const body = $("reels-table").tBodies[0];
  body.replaceChildren(...reels.map((r) => {
    const row = el("tr");
    const reel = el("td");
    reel.append(link(r.url, (r.description || r.shortcode || "reel").slice(0, 80)));
    row.append(el("td", `@${r.username}`), reel, el("td", numberFormat.format(r.view_count || 0), "num"),
      el("td", `${Number(r.outlier_score).toFixed(1)}x`, "num"), el("td", r.transcript_available ? "yes" : "no"));
    return row;
  }));
  $("analysed-hooks").replaceChildren(...(results.individual_reel_analyses || []).slice(0, 10).map((a) => {
    const item = el("li");
    item.append(el("strong", `"${a.hook_text}"`), el("span", ` (${a.hook_type.replace(/_/g, " ")}, @${a.username}, ` +
      `${Number(a.outlier_score).toFixed(1)}x) `), el("span", a.why_it_works, "muted"));
    return item;
  }));
  renderHooks(results, reels);
  renderScripts(results);
}

function renderChart(reels) {
  const NS = "http://www.w3.org/2000/svg";
  const chart = $("chart");
  if (!reels.length) {
    chart.replaceChildren(el("p", "No reels to chart.", "muted"));
    return;
  }
  const rowHeight = 26, left = 170, right = 140, width = 760, top = 24;
  const height = top + rowHeight * reels.length + 10;
  const max = Math.max(2, ...reels.map((r) => Number(r.outlier_score) || 0));
  const x = (multiple) => left + ((width - left - right) * multiple) / max;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Each reel's views as a multiple of its creator's median views");
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    svg.append(node);
    return node;
  };
  reels.forEach((r, i) => {
    const y = top + i * rowHeight;
    const multiple = Number(r.outlier_score) || 0;
    add("text", { x: 4, y: y + 16 }, `@${r.username}`.slice(0, 24));
    add("rect", { class: "bar", x: left, y: y + 4, width: Math.max(1, x(multiple) - left), height: rowHeight - 8 });
    add("text", { x: x(multiple) + 6, y: y + 16 }, `${numberFormat.format(r.view_count || 0)} views, ${multiple.toFixed(1)}x`);
  });
  add("line", { class: "median", x1: x(1), x2: x(1), y1: top - 6, y2: height - 4 });
  add("text", { x: x(1) + 4, y: top - 10 }, "creator's median (1x)");
  chart.replaceChildren(svg);
}

// Bound at once: a form submitted while the page still signs in must not reload the page.
document.addEventListener("DOMContentLoaded", () => {
  $("profile-form").addEventListener("submit", requestProfile);
  $("analysis-form").addEventListener("submit", submitAnalysis);
});

onPageReady(() => {
  const params = new URL(window.location.href).searchParams;
  const session = params.get("session");
  if (session && session.length <= 255) follow(session);
  // The Discover view links here with the creator to analyse ("Analyse this creator").
  const primary = params.get("primary");
  if (primary && primary.length <= 31) $("primary-username").value = primary;
});
