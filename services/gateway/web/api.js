// ViralSpot web page, shared by every page (loaded before the page's own scripts): signing in, calling
// the API with the user's token, the account box, and building DOM from data. Every piece of data is
// written with textContent or DOM attributes, never parsed as HTML.
"use strict";

// Field names of 422 answers as a reader knows them; a page adds its own (app.js: the analysis form).
const FIELD_NAMES = {
  username: "Username",
  min_outlier_score: "Alert at",
  name: "Board name",
  note: "Note",
};
const MESSAGES = {
  INVALID_USERNAME: "That does not look like an Instagram username: use letters, digits, dots or underscores, at most 30.",
  INVALID_JSON: "The page sent something the server could not read. Reload the page and try again.",
  SESSION_EXISTS: "This analysis was already submitted. Reload the page to start a new one.",
  QUEUE_NOT_FOUND: "We cannot find that analysis. Check the link, sign in as the one who asked for it, or submit a new one.",
  RATE_LIMITED: "That is a lot of requests in a short time. Please wait a little and try again.",
  TOO_MANY_RUNNING: "You already have the most analyses running at once. Wait for one to finish.",
  PROFILE_NOT_FOUND: "We have not fetched that profile yet.",
  RESULTS_NOT_FOUND: "The results are not ready yet.",
  SERVICE_UNAVAILABLE: "ViralSpot is busy right now. Please try again in a few seconds.",
  PAYLOAD_TOO_LARGE: "That is too much text. Please shorten the form.",
  INTERNAL_ERROR: "Something went wrong on our side. Please try again in a moment.",
};

const $ = (id) => document.getElementById(id);
const numberFormat = new Intl.NumberFormat("en");
const dateFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });

class Problem extends Error {
  // message: what to show; detail: the server's own words (error answers carry `detail`, or `message`).
  constructor(message, status, code, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail || "";
  }
}

function serverWords(body) {
  const words = body && (typeof body.message === "string" ? body.message : body.detail);
  return typeof words === "string" ? words.slice(0, 300) : "";
}

function friendly(status, body) {
  const code = body && typeof body.error_code === "string" ? body.error_code : "";
  if (code === "VALIDATION_ERROR" && Array.isArray(body.fields) && body.fields.length) {
    const parts = body.fields.slice(0, 5).map((f) => {
      const name = FIELD_NAMES[String(f.field).replace(/\.\d+$/, "")] || String(f.field);
      return `${name}: ${String(f.message).slice(0, 120)}`;
    });
    return `Please check the form. ${parts.join("; ")}.`;
  }
  if (MESSAGES[code]) return MESSAGES[code];
  if (status >= 500) return MESSAGES.INTERNAL_ERROR;
  return serverWords(body) || `The request failed (HTTP ${status}).`;
}

// Signing in. `make run` turns on the development sign-in (POST /api/auth/dev-token): the page signs
// in as the name given and sends its token with every request, so what it creates is that user's.
// Without it (production, where the identity provider's frontend signs users in) the page goes on
// anonymously: analyses are reachable by their session id alone, boards and watchlists not at all.

const TOKEN_KEY = "viralspot.token";
const NAME_KEY = "viralspot.user";
const auth = { token: null, user: null, available: true };
const accountWatchers = [];
let shownUser = null;

function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch (_err) {
    return null;
  }
}

// A token with a minute left is not worth sending: the server would refuse it halfway through a poll.
function stillValid(token) {
  const claims = token ? claimsOf(token) : null;
  return claims && typeof claims.exp === "number" && claims.exp * 1000 > Date.now() + 60000 ? claims : null;
}

// A page reloads what is the user's own when another user signs in, or the user signs out.
function onAccountChange(watcher) {
  accountWatchers.push(watcher);
}

function showAccount() {
  const signedIn = Boolean(auth.token);
  $("account-status").textContent = signedIn
    ? `Signed in as ${auth.user}`
    : auth.available ? "Not signed in: your analyses are anonymous" : "Anonymous (sign-in is not available here)";
  $("sign-in-form").hidden = signedIn || !auth.available;
  $("sign-out").hidden = !signedIn;
  if (auth.user !== shownUser) {
    shownUser = auth.user;
    for (const watcher of accountWatchers) watcher();
  }
}

async function signIn(name) {
  let response;
  try {
    response = await fetch("/api/auth/dev-token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: name }),
    });
  } catch (_err) {
    return false;
  }
  const data = await response.json().catch(() => null);
  if (response.status === 404) {
    auth.available = false;  // no development sign-in: anonymous it is, without a token it refuses
    Object.assign(auth, { token: null, user: null });
    sessionStorage.removeItem(TOKEN_KEY);
  } else if (response.ok && data && data.success === true && stillValid(data.data.token)) {
    Object.assign(auth, { token: data.data.token, user: name });
    sessionStorage.setItem(TOKEN_KEY, auth.token);
    sessionStorage.setItem(NAME_KEY, name);
  } else {
    showError("account-error", friendly(response.status, data));
  }
  showAccount();
  return Boolean(auth.token);
}

function signOut() {
  Object.assign(auth, { token: null, user: null });
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.setItem(NAME_KEY, "");  // stay signed out on reload
  showAccount();
}

async function restoreSignIn() {
  const kept = sessionStorage.getItem(TOKEN_KEY);
  const claims = stillValid(kept);
  const name = sessionStorage.getItem(NAME_KEY);
  if (claims && typeof claims.sub === "string") {
    Object.assign(auth, { token: kept, user: claims.sub });
    showAccount();
  } else if (name !== "") {
    await signIn(name || $("sign-in-name").value || "creator");
  } else {
    showAccount();
  }
}

// The header's account box: who is signed in, a sign-in form, a sign-out button.
function mountAccount() {
  const name = Object.assign(el("input"), { id: "sign-in-name", maxLength: 255, value: "creator", autocomplete: "username" });
  const label = el("label", "Sign in as ");
  label.append(name);
  const form = Object.assign(el("form"), { id: "sign-in-form", hidden: true, noValidate: true });
  form.append(label, Object.assign(el("button", "Sign in"), { type: "submit" }));
  const out = Object.assign(el("button", "Sign out"), { id: "sign-out", type: "button", hidden: true });
  const error = Object.assign(el("p", null, "error"), { id: "account-error", hidden: true });
  error.setAttribute("role", "alert");
  $("account").replaceChildren(Object.assign(el("span", "Signing in..."), { id: "account-status" }), form, out, error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showError("account-error", "");
    if (name.value.trim()) signIn(name.value.trim());
  });
  out.addEventListener("click", signOut);
}

// The request with the user's token; an expired token is renewed once and the request sent again.
async function send(method, path, body, retried = false) {
  const headers = body ? { "Content-Type": "application/json" } : {};
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  } catch (_err) {
    throw new Problem("Cannot reach ViralSpot. Check your connection and try again.", 0, "NETWORK");
  }
  if (response.status === 401 && !retried && auth.user) {
    const data = await response.clone().json().catch(() => null);
    const code = data && data.error_code;
    if ((code === "TOKEN_EXPIRED" || code === "INVALID_TOKEN") && await signIn(auth.user)) {
      return send(method, path, body, true);  // a fresh token, once
    }
  }
  return response;
}

function problemOf(response, data) {
  const code = data && typeof data.error_code === "string" ? data.error_code : undefined;
  return new Problem(friendly(response.status, data), response.status, code, serverWords(data));
}

async function api(method, path, body) {
  const response = await send(method, path, body);
  const data = await response.json().catch(() => null);
  if (!response.ok || !data || data.success !== true) throw problemOf(response, data);
  return data.data;
}

// A file the API sends only with the user's token (a link cannot carry it): fetched, then saved.
async function download(path, fallbackName) {
  const response = await send("GET", path);
  if (!response.ok) throw problemOf(response, await response.json().catch(() => null));
  const named = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(await response.blob());
  const anchor = Object.assign(el("a"), { href: url, download: named ? named[1] : fallbackName, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// EventSource sends no headers: a live stream takes the token as access_token (for that stream only).
function accessQuery() {
  return auth.token ? `?access_token=${encodeURIComponent(auth.token)}` : "";
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function link(url, text) {
  const a = el("a", text);
  if (typeof url === "string" && url.startsWith("https://")) {
    a.href = url;
    a.rel = "noopener noreferrer";
    a.target = "_blank";
  }
  return a;
}

function showError(id, message) {
  const node = $(id);
  node.textContent = message || "";
  node.hidden = !message;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function cleanUsername(raw) {
  return String(raw || "").trim().replace(/^@/, "").toLowerCase();
}

// A multiple as a reader takes it in: 7x, 2.5x, 1.05x.
function times(score) {
  return `${Number((Number(score) || 0).toPrecision(3))}x`;
}

function when(iso) {
  const date = iso ? new Date(iso) : null;
  return date && !Number.isNaN(date.getTime()) ? dateFormat.format(date) : "";
}

// Each page script registers what it does once the page is up; the account comes first, since what a
// page loads (an owned job, a board) answers only with its owner's token.
const pageStarts = [];

function onPageReady(start) {
  pageStarts.push(start);
}

document.addEventListener("DOMContentLoaded", async () => {
  mountAccount();
  await restoreSignIn();
  for (const start of pageStarts) start();
});
