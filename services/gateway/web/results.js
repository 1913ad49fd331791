// ViralSpot web page: an analysis's hooks with the evidence behind their scores, its winning hook
// patterns, and each script as a timed structure and shot list (app.js calls these). Needs api.js and
// save.js. Every piece of data is written with textContent or DOM attributes, never parsed as HTML. A run
// stored before these sections existed lacks them: what is missing is left out, not shown empty.
"use strict";

const PART_NAMES = { hook: "Hook", problem: "Problem", solution: "Solution", call_to_action: "Call to action" };
const PARTS = Object.keys(PART_NAMES);

// Seconds as the script's own timing markers write them: 0:03, 1:05.
function clock(seconds) {
  const s = Math.max(0, Math.trunc(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function timing(start, end) {
  return el("span", `${clock(start)}–${clock(end)}`, "timing");
}

const words = (name) => String(name).replace(/_/g, " ");
const list = (value) => (Array.isArray(value) ? value : []);
const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

// content_id -> the reel's URL, from the reels the run analysed, so an evidence reel can be opened.
function reelUrls(results, reels) {
  const urls = new Map();
  for (const r of [...list(results.analyzed_reels), ...list(reels), ...list(results.individual_reel_analyses)]) {
    if (r && r.content_id && r.url && !urls.has(r.content_id)) urls.set(r.content_id, r.url);
  }
  return urls;
}

function reelRef(id, urls) {
  const ref = link(urls.get(id), id);
  ref.className = "reel-id";
  ref.dataset.reelId = id;
  return ref;
}

function inputValue(value) {
  return value === null || value === undefined ? "unknown" : numberFormat.format(Number(value));
}

// A score's evidence: the rule, the numbers it took and the reels they came from, folded away.
function evidenceBlock(label, evidence, urls) {
  const block = el("details", null, "evidence");
  block.append(el("summary", label), el("p", evidence.formula, "formula"));
  const inputs = el("dl", null, "facts inputs");
  for (const [name, value] of Object.entries(evidence.inputs || {})) {
    const term = el("dt", words(name));
    term.dataset.input = name;
    inputs.append(term, el("dd", inputValue(value)));
  }
  const reels = el("p", "From reels: ", "reel-ids");
  list(evidence.reel_ids).forEach((id, i) => reels.append(...(i ? [", "] : []), reelRef(id, urls)));
  block.append(inputs, reels);
  return block;
}

// A hook or script is saved by its run and its place in the results (1-based), as boards refer to it.
function hookItem(h, index, analysis, urls) {
  const item = el("li", null, "hook");
  if (h.hook_id) item.dataset.hookId = h.hook_id;
  const source = h.adapted_from || {};
  const username = h.source_username || source.username;
  item.append(el("strong", h.hook_text, "hook-text"), el("span", ` (${words(h.hook_type)}, after @${username}) `),
    el("span", h.why_it_fits, "muted"), " ",
    saveButton({ kind: "hook", queue_id: analysis.id, run: analysis.run, index: index + 1 }, `Hook: ${h.hook_text}`));
  if (typeof h.estimated_effectiveness === "number") {
    const scores = el("p", null, "reel-scores");
    scores.append(el("span", `${numberFormat.format(h.estimated_effectiveness)}/10 estimated`, "score effectiveness"));
    if (h.pattern_rank) scores.append(el("span", `pattern #${h.pattern_rank}`, "score niche pattern-rank"));
    item.append(scores);
  }
  const original = h.original_competitor_hook || source.original_hook;
  if (original) {
    const from = el("p", "Adapted from ", "source");
    const reelId = h.source_reel_id || source.content_id;
    const ref = link(source.url || urls.get(reelId), `@${username}'s reel`);
    if (reelId) ref.dataset.reelId = reelId;
    from.append(ref, `: "${original}"`);
    if (typeof source.outlier_score === "number") {
      const views = typeof source.view_count === "number" ? `, ${numberFormat.format(source.view_count)} views` : "";
      from.append(` (${times(source.outlier_score)} their median${views})`);
    }
    item.append(from);
  }
  if (h.effectiveness_evidence) {
    item.append(evidenceBlock(`Why ${numberFormat.format(h.estimated_effectiveness)}/10`, h.effectiveness_evidence, urls));
  }
  return item;
}

function renderHooks(results, reels) {
  const urls = reelUrls(results, reels);
  $("generated-hooks").replaceChildren(...list(results.generated_hooks).map((h, i) => hookItem(h, i, results.analysis, urls)));
  renderPatterns(((results.profile_analysis || {}).top_performing_patterns), urls);
}

function patternItem(p, urls) {
  const item = el("li", null, "pattern");
  item.dataset.rank = String(p.rank);
  const who = list(p.competitor_usernames).map((u) => `@${u}`).join(", ");
  item.append(el("strong", `#${p.rank} ${words(p.hook_type)}`), " ", el("span", `"${p.template}"`, "template"),
    el("p", `Wins at ${count(p.competitors_won, "competitor")}${who ? ` (${who})` : ""} with ` +
      `${count(p.outlier_reels, "outlier reel")}; ` +
      `strength ${times(p.strength)}, the mean of each competitor's best multiple.`, "pattern-won"));
  const evidence = list(p.evidence);
  if (evidence.length) {
    const block = el("details", null, "evidence");
    const reels = el("ul", null, "evidence-reels");
    reels.append(...evidence.map((r) => {
      const line = el("li");
      line.dataset.reelId = r.content_id;
      const niche = typeof r.niche_outlier_score === "number"
        ? `, ${times(r.niche_outlier_score)} the niche median` : "";
      const views = typeof r.view_count === "number" ? `, ${numberFormat.format(r.view_count)} views` : "";
      line.append(`@${r.username}: "${r.hook_text}" (${times(r.outlier_score)} their median${niche}${views}) `,
        reelRef(r.content_id, urls));
      return line;
    }));
    block.append(el("summary", `Evidence: ${count(evidence.length, "reel")}`), reels);
    item.append(block);
  }
  return item;
}

function renderPatterns(patterns, urls) {
  const items = list(patterns).map((p) => patternItem(p, urls));
  $("hook-patterns").replaceChildren(...(items.length ? items : [el("li", "No hook pattern data for this run.", "muted")]));
}

function headed(title, body) {
  return body ? [el("h5", title), body] : [];
}

function bullets(values, className) {
  const items = list(values);
  if (!items.length) return null;
  const ul = el("ul", null, className);
  ul.append(...items.map((v) => el("li", v)));
  return ul;
}

function structureList(breakdown) {
  if (!breakdown) return null;
  const ol = el("ol", null, "structure");
  for (const name of PARTS) {
    const part = breakdown[name];
    if (!part) continue;
    const item = el("li");
    item.dataset.part = name;
    item.append(timing(part.start_second, part.end_second), " ", el("strong", PART_NAMES[name]), " ",
      el("span", part.text, "part-text"));
    ol.append(item);
  }
  return ol;
}

function shotList(shots) {
  const items = list(shots);
  if (!items.length) return null;
  const ol = el("ol", null, "shots");
  ol.append(...items.map((s) => {
    const item = el("li", null, "shot");
    item.dataset.shot = String(s.shot);
    const head = el("p", null, "shot-head");
    head.append(timing(s.start_second, s.end_second), " ", el("strong", `Shot ${s.shot}`), " ",
      el("span", PART_NAMES[s.segment] || words(s.segment), "segment"));
    item.append(head, el("p", s.description, "description"));
    if (s.on_screen_text) item.append(el("p", `On screen: "${s.on_screen_text}"`, "on-screen"));
    return item;
  }));
  return ol;
}

function notesList(notes) {
  if (!notes) return null;
  const dl = el("dl", null, "facts notes");
  for (const [name, label] of [["tone", "Tone"], ["pacing", "Pacing"], ["emphasis", "Emphasis"]]) {
    if (notes[name]) dl.append(el("dt", label), el("dd", notes[name]));
  }
  return dl;
}

function scriptBlock(s, index, analysis) {
  const block = el("article", null, "script");
  const full = el("details", null, "full-script");
  full.append(el("summary", "The full script, with timing markers"), el("pre", s.full_script));
  block.append(el("h4", `Script ${index + 1}: ${s.title || s.hook}`),
    el("p", `About ${s.estimated_duration_seconds} seconds, ${s.word_count} words.`, "muted"),
    ...headed("Structure", structureList(s.structure_breakdown)),
    ...headed("Shot list", shotList(s.visual_suggestions)),
    ...headed("Production notes", notesList(s.production_notes)),
    ...headed("Key messages", bullets(s.key_messaging, "key-messaging")),
    ...headed("Why it should work", bullets(s.success_factors, "success-factors")),
    // A run from before the timed structure has only the script itself: shown open.
    Object.assign(full, { open: !s.structure_breakdown }),
    saveButton({ kind: "script", queue_id: analysis.id, run: analysis.run, index: index + 1 }, `Script ${index + 1}: ${s.hook}`));
  return block;
}

function renderScripts(results) {
  $("scripts").replaceChildren(...list(results.complete_scripts).map((s, i) => scriptBlock(s, i, results.analysis)));
}
