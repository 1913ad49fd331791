// ViralSpot Discover view: the feed of GET /api/reels with its filters, pages loaded on scroll from
// next_cursor; each card saved to a board (save.js). Needs api.js. Every piece of data is written with
// textContent or DOM attributes, never parsed as HTML.
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

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

const state = { cursor: null, last: false, loading: false, query: "", generation: 0 };

// The feed is public: the token api() sends along is not asked for.
async function getJson(path) {
  try {
    return await api("GET", path);
  } catch (err) {
    throw new Error(`The feed could not be loaded: ${err.message}`);
  }
}

function fillSelect(select, entries, label) {
  for (const entry of entries) {
    const option = el("option", `${label(entry.name)} (${compact.format(entry.count)})`);
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
    showError("feed-error", err.message);
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

function card(reel) {
  const item = el("li", null, "reel-card");
  item.dataset.contentId = reel.content_id;
  const creator = reel.creator || {};
  const head = el("p", null, "reel-creator");
  head.append(el("strong", `@${creator.username}`));
  head.append(el("span", ` ${compact.format(creator.followers || 0)} followers`, "muted"));
  if (creator.is_verified) head.append(el("span", "verified", "badge"));
  item.append(head);

  const link = el("a", (reel.description || "Untitled reel").slice(0, 160), "reel-link");
  link.href = reel.url;
  link.rel = "noopener noreferrer";
  link.target = "_blank";
  item.append(link);

  const scores = el("p", null, "reel-scores");
  scores.append(el("span", `${times(reel.outlier_score)} creator`, "score outlier"));
  if (reel.niche_outlier_score !== null && reel.niche_outlier_score !== undefined) {
    scores.append(el("span", `${times(reel.niche_outlier_score)} niche`, "score niche"));
  }
  if (reel.score_confidence) {
    scores.append(el("span", `${reel.score_confidence} confidence`, `confidence ${reel.score_confidence}`));
  }
  item.append(scores);

  const facts = el("p", null, "muted reel-facts");
  const parts = [`${compact.format(reel.view_count || 0)} views`, `${compact.format(reel.like_count)} likes`];
  if (reel.primary_category) parts.push(reel.primary_category);
  if (reel.language) parts.push(LANGUAGE_NAMES[reel.language] || reel.language);
  if (reel.content_style) parts.push(LABELS[reel.content_style] || reel.content_style);
  facts.textContent = parts.join(" \u00b7 ");
  item.dataset.category = reel.primary_category || "";
  item.append(facts);

  const analyse = el("a", "Analyse this creator", "analyse");
  analyse.href = `/?primary=${encodeURIComponent(creator.username)}`;
  const actions = el("p", null, "reel-actions");
  actions.append(analyse, saveButton({ kind: "content", content_id: reel.content_id },
    `@${creator.username}: ${reel.description || "Untitled reel"}`));
  item.append(actions);
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
    showError("feed-error", err.message);
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
