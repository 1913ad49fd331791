// The watchlist screen's creators: those the user watches (GET /api/watchlist), watching one more or
// changing its threshold (POST), stopping (DELETE /api/watchlist/{username}), and fetching them all
// again now (POST /api/watchlist/refresh). Needs api.js; alert-feed.js and boards.js share the page.
"use strict";

async function loadWatchlist() {
  $("signed-out").hidden = Boolean(auth.token);
  const body = $("watch-table").tBodies[0];
  if (!auth.token) {
    body.replaceChildren();
    $("watch-empty").hidden = true;
    return;
  }
  try {
    const data = await api("GET", "/api/watchlist");
    body.replaceChildren(...data.watching.map(watchRow));
    $("watch-empty").hidden = data.watching.length > 0;
  } catch (err) {
    showError("watch-error", err.message);
  }
}

function watchRow(watch) {
  const row = el("tr");
  row.dataset.username = watch.username;
  const creator = el("td");
  creator.append(link(`https://www.instagram.com/${encodeURIComponent(watch.username)}/`, `@${watch.username}`));
  const stop = Object.assign(el("button", "Stop watching", "secondary stop"), { type: "button" });
  stop.addEventListener("click", () => unwatch(watch.username, stop));
  const actions = el("td");
  actions.append(stop);
  row.append(creator, el("td", times(watch.min_outlier_score), "num threshold"), el("td", when(watch.watching_since)),
    el("td", watch.last_fetched_at ? when(watch.last_fetched_at) : "not yet"), actions);
  return row;
}

const WATCH_STATUS = {
  watching: (w) => `Watching @${w.username}: alerts at ${times(w.min_outlier_score)} their median views.`,
  updated: (w) => `@${w.username} now alerts at ${times(w.min_outlier_score)} their median views.`,
  unchanged: (w) => `You already watch @${w.username} at ${times(w.min_outlier_score)}.`,
};

async function watch(event) {
  event.preventDefault();
  showError("watch-error", "");
  $("watch-status").textContent = "";
  const username = cleanUsername($("watch-username").value);
  const threshold = Number($("watch-threshold").value || 3);
  if (!username) {
    showError("watch-error", "Type the creator's username first.");
    return;
  }
  const button = $("watch-submit");
  button.disabled = true;
  try {
    const watched = await api("POST", "/api/watchlist", { username, min_outlier_score: threshold });
    $("watch-status").textContent = (WATCH_STATUS[watched.status] || WATCH_STATUS.watching)(watched);
    $("watch-username").value = "";
    await loadWatchlist();
  } catch (err) {
    showError("watch-error", err.message);
  } finally {
    button.disabled = false;
  }
}

async function unwatch(username, button) {
  showError("watch-error", "");
  button.disabled = true;
  try {
    await api("DELETE", `/api/watchlist/${encodeURIComponent(username)}`);
    $("watch-status").textContent = `You no longer watch @${username}. Its alerts so far stay below.`;
    await loadWatchlist();
  } catch (err) {
    button.disabled = false;
    showError("watch-error", err.message);
  }
}

const handles = (names) => names.map((name) => `@${name}`).join(", ");

// 202 {requested, skipped}: who is fetched again, who was fetched too recently to be worth it; 429
// RATE_LIMITED when the user asked too often. The server's own words say when to ask again.
async function refreshNow() {
  showError("refresh-error", "");
  $("refresh-status").textContent = "";
  const button = $("refresh-now");
  button.disabled = true;
  try {
    const response = await send("POST", "/api/watchlist/refresh");
    const data = await response.json().catch(() => null);
    const answer = data && data.success === true ? data.data : data;
    if (!response.ok || !answer || !Array.isArray(answer.requested)) throw problemOf(response, data);
    const parts = [answer.requested.length ? `Fetching ${handles(answer.requested)} again now.` : "Nobody to fetch again now."];
    const skipped = answer.skipped || [];
    if (skipped.length) parts.push(`Already queued or being fetched: ${handles(skipped)}.`);
    $("refresh-status").textContent = parts.join(" ");
  } catch (err) {
    showError("refresh-error", err.detail || err.message);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("watch-form").addEventListener("submit", watch);
  $("refresh-now").addEventListener("click", refreshNow);
});

onPageReady(() => {
  onAccountChange(loadWatchlist);
  loadWatchlist();
});
