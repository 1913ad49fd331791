// ViralSpot Discover view: the feed of GET /api/reels with its filters, pages loaded on scroll from
// next_cursor. Every piece of data is written with textContent or DOM attributes, never parsed as HTML.
"use strict";

const PAGE_SIZE = 24;
const LABELS = {
  talking_head: "Talking head", tutorial: "Tutorial", list: "List", story: "Story", skit: "Skit",
  review: "Review", vlog: "Vlog", other: "Other",
};
const LANGUAGE_NAMES = {
  en: "English", es: "Spanish", pt: "Portuguese", fr: "French", de: "German", it: "Italian", nl: "Dutch",
  tr: "Turkish", pl: "Polish", id: "Indonesian", hi: "Hindi", ar: "Arabic",
};

const $ = (id) => document.getElementById(id);
const numberFormat = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

const state = { cursor: null, last: false, loading: false, query: "", generation: 0 };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

async function getJson(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" } });
  } catch (_err) {
    throw new Error("Cannot reach ViralSpot. Check your connection and try again.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (_err) {
    body = null;
  }
  if (!response.ok || !body || body.success !== true) {
    const detail = body && typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`;
    throw new Error(`The feed could not be loaded: ${detail.slice(0, 200)}`);
  }
  return body.data;
}

function fillSelect(select, entries, label) {
  for (const entry of entries) {
    const option = element("option", null, `${label(entry.name)} (${numberFormat.format(entry.count)})`);
    option.value = entry.name;
    select.append(option);
  }
}

async function loadOptions() {
  try {
    const options = await getJson("/api/filter-options");
    const category = (name) => name.charAt(0).toUpperCase() + name.slice(1);
    fillSelect($("feed-category"), options.primary_categories || [], category);
    fillSelect($("feed-language"), options.languages || [], (code) => LANGUAGE_NAMES[code] || code);
    fillSelect($("feed-style"), options.content_styles || [], (style) => LABELS[style] || style);
  } catch (err) {
    showError(err.message);
  }
}

function queryFromForm() {
  const params = new URLSearchParams();
  for (const field of $("feed-form").elements) {
    if (field.name && field.value.trim() !== "") params.set(field.name, field.value.trim());
  }
  params.set("limit", String(PAGE_SIZE));
  return params;
}

// A multiple as a reader takes it in: 7x, 2.5x, 1.05x.
function times(score) {
  return `${Number((Number(score) || 0).toPrecision(3))}x`;
}

function card(reel) {
  const item = element("li", "reel-card");
  item.dataset.contentId = reel.content_id;
  const creator = reel.creator || {};
  const head = element("p", "reel-creator");
  head.append(element("strong", null, `@${creator.username}`));
  head.append(element("span", "muted", ` ${numberFormat.format(creator.followers || 0)} followers`));
  if (creator.is_verified) head.append(element("span", "badge", "verified"));
  item.append(head);

  const link = element("a", "reel-link", (reel.description || "Untitled reel").slice(0, 160));
  link.href = reel.url;
  link.rel = "noopener noreferrer";
  link.target = "_blank";
  item.append(link);

  const scores = element("p", "reel-scores");
  scores.append(element("span", "score outlier", `${times(reel.outlier_score)} creator`));
  if (reel.niche_outlier_score !== null && reel.niche_outlier_score !== undefined) {
    scores.append(element("span", "score niche", `${times(reel.niche_outlier_score)} niche`));
  }
  if (reel.score_confidence) {
    scores.append(element("span", `confidence ${reel.score_confidence}`, `${reel.score_confidence} confidence`));
  }
  item.append(scores);

  const facts = element("p", "muted reel-facts");
  const parts = [`${numberFormat.format(reel.view_count || 0)} views`, `${numberFormat.format(reel.like_count)} likes`];
  if (reel.primary_category) parts.push(reel.primary_category);
  if (reel.language) parts.push(LANGUAGE_NAMES[reel.language] || reel.language);
  if (reel.content_style) parts.push(LABELS[reel.content_style] || reel.content_style);
  facts.textContent = parts.join(" \u00b7 ");
  item.dataset.category = reel.primary_category || "";
  item.append(facts);

  const analyse = element("a", "analyse", "Analyse this creator");
  analyse.href = `/?primary=${encodeURIComponent(creator.username)}`;
  item.append(analyse);
  return item;
}

async function loadPage() {
  if (state.loading || state.last) return;
  state.loading = true;
  const generation = state.generation;
  const params = new URLSearchParams(state.query);
  if (state.cursor) params.set("cursor", state.cursor);
  $("feed-status").textContent = "Loading reels\u2026";
  try {
    const page = await getJson(`/api/reels?${params}`);
    if (generation !== state.generation) return; // the filters changed meanwhile
    for (const reel of page.reels) $("feed").append(card(reel));
    state.cursor = page.next_cursor;
    state.last = page.isLastPage || !page.next_cursor;
    $("feed-end").hidden = !state.last;
    const shown = $("feed").children.length;
    $("feed-status").textContent = shown ? `${shown} reels` : "No reel matches these filters yet.";
  } catch (err) {
    showError(err.message);
    state.last = true;
  } finally {
    // A page of filters since replaced leaves the loading flag to the walk that replaced it.
    if (generation === state.generation) state.loading = false;
  }
  if (generation === state.generation && !state.last && nearBottom()) loadPage();
}

function nearBottom() {
  return $("feed-more").getBoundingClientRect().top < window.innerHeight + 400;
}

function restart() {
  state.generation += 1;
  state.cursor = null;
  state.last = false;
  state.loading = false;
  state.query = queryFromForm().toString();
  $("feed").replaceChildren();
  $("feed-end").hidden = true;
  $("feed-error").hidden = true;
  loadPage();
}

function showError(message) {
  $("feed-error").textContent = message;
  $("feed-error").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  $("feed-form").addEventListener("submit", (event) => {
    event.preventDefault();
    restart();
  });
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadPage();
  }, { rootMargin: "400px" }).observe($("feed-more"));
  loadOptions();
  restart();
});
