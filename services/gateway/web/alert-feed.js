// The watchlist screen's alert feed: the user's alerts (GET /api/alerts, newest first, paged back with
// next_before), then each new one as it is found (GET /api/alerts/events, Server-Sent Events). Needs
// api.js.
"use strict";

const RESTREAM_MS = 5000;
const ALERT_PAGE = 50;
const feed = { source: null, seen: new Set(), before: null, generation: 0 };

function alertItem(alert) {
  const item = el("li", null, "alert");
  item.dataset.id = alert.id;
  const head = el("p", null, "alert-head");
  head.append(el("strong", `@${alert.username}`, "alert-creator"),
    el("span", `${times(alert.outlier_score)} their median`, "score outlier"),
    el("span", `${numberFormat.format(alert.view_count || 0)} views`, "alert-views"));
  const reel = link(alert.url, (alert.description || alert.shortcode || "Open the reel").slice(0, 160));
  reel.classList.add("alert-link");
  const facts = [`alert at ${times(alert.threshold)}`, `found ${when(alert.detected_at)}`];
  if (alert.date_posted) facts.push(`posted ${when(alert.date_posted)}`);
  item.append(head, reel, el("p", facts.join(" \u00b7 "), "muted"));
  return item;
}

// Live alerts go on top, older pages below; an alert both listed and streamed is shown once.
function showAlerts(alerts, onTop) {
  const list = $("alerts");
  for (const alert of alerts) {
    if (!alert || typeof alert.id !== "string" || feed.seen.has(alert.id)) continue;
    feed.seen.add(alert.id);
    if (onTop) list.prepend(alertItem(alert));
    else list.append(alertItem(alert));
  }
  $("alerts-empty").hidden = list.children.length > 0;
}

function setMode(text) {
  $("alerts-mode").textContent = text;
}

async function loadAlerts() {
  const generation = ++feed.generation;
  feed.seen.clear();
  feed.before = null;
  $("alerts").replaceChildren();
  $("alerts-older").hidden = true;
  showError("alerts-error", "");
  followAlerts();  // first: what is found while the list loads comes over the stream
  if (!auth.token) {
    $("alerts-empty").hidden = true;
    return;
  }
  try {
    const page = await api("GET", `/api/alerts?limit=${ALERT_PAGE}`);
    if (generation !== feed.generation) return;  // another user signed in meanwhile
    showAlerts(page.alerts, false);
    feed.before = page.next_before;
    $("alerts-older").hidden = !feed.before;
  } catch (err) {
    showError("alerts-error", err.message);
  }
}

function followAlerts() {
  if (feed.source) feed.source.close();
  feed.source = null;
  if (!auth.token || !("EventSource" in window)) {
    setMode(auth.token ? "(reload the page to see new alerts)" : "");
    return;
  }
  const source = new EventSource(`/api/alerts/events${accessQuery()}`);
  feed.source = source;
  source.onopen = () => setMode("live");
  source.addEventListener("alert", (message) => {
    try {
      showAlerts([JSON.parse(message.data)], true);
    } catch (_err) {
      // not an alert this page can read
    }
  });
  source.onerror = () => {
    setMode("reconnecting...");
    if (source.readyState !== EventSource.CLOSED) return;  // the browser reconnects by itself
    // Refused (a token that ran out, too many streams): again in a while, with a fresh token.
    setTimeout(async () => {
      if (feed.source !== source) return;
      if (auth.user && !stillValid(auth.token)) await signIn(auth.user);
      loadAlerts();
    }, RESTREAM_MS);
  };
}

async function olderAlerts() {
  const button = $("alerts-older");
  button.disabled = true;
  try {
    const page = await api("GET", `/api/alerts?limit=${ALERT_PAGE}&before=${encodeURIComponent(feed.before)}`);
    showAlerts(page.alerts, false);
    feed.before = page.next_before;
    button.hidden = !feed.before;
  } catch (err) {
    showError("alerts-error", err.message);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("alerts-older").addEventListener("click", olderAlerts);
});

onPageReady(() => {
  onAccountChange(loadAlerts);
  loadAlerts();
});
