// The watchlist screen's boards: the user's boards (GET /api/boards), a new one (POST), one opened with
// its items as they are now (GET /api/boards/{id}), an item removed (DELETE .../items/{item_id}), and
// the board downloaded (GET .../export?format=csv|md|json). Needs api.js.
"use strict";

const KIND_NAMES = { content: "Reel or post", hook: "Hook", script: "Script" };
const boardView = { open: null };

async function loadBoards() {
  if (!auth.token) {
    $("boards").replaceChildren();
    $("boards-empty").hidden = true;
    closeBoard();
    return;
  }
  try {
    const { boards } = await api("GET", "/api/boards");
    $("boards").replaceChildren(...boards.map(boardEntry));
    $("boards-empty").hidden = boards.length > 0;
    if (boardView.open && !boards.some((b) => b.id === boardView.open.id)) closeBoard();
  } catch (err) {
    showError("boards-error", err.message);
  }
}

function boardEntry(board) {
  const entry = el("li");
  entry.dataset.boardId = board.id;
  const open = Object.assign(el("button", board.name, "board-open"), { type: "button" });
  open.addEventListener("click", () => openBoard(board.id));
  const count = board.item_count === 1 ? "1 item" : `${board.item_count} items`;
  entry.append(open, el("span", ` ${count}`, "muted board-count"));
  return entry;
}

function closeBoard() {
  boardView.open = null;
  $("board").hidden = true;
}

async function openBoard(boardId) {
  showError("board-error", "");
  try {
    const board = await api("GET", `/api/boards/${encodeURIComponent(boardId)}`);
    boardView.open = board;
    $("board").hidden = false;
    $("board").dataset.boardId = board.id;
    $("board-title").textContent = board.name;
    $("board-items").replaceChildren(...board.items.map(boardItem));
    $("board-empty").hidden = board.items.length > 0;
  } catch (err) {
    showError("boards-error", err.message);
  }
}

// What an item points at, as it is now; null when the read model no longer has it.
function itemBody(item) {
  const data = item.data;
  if (!data) return [el("p", "No longer available: what this pointed at is gone.", "muted")];
  if (item.kind === "hook") return [el("strong", data.hook_text || "")];
  if (item.kind === "script") {
    return [el("strong", data.hook || ""), el("pre", (data.script && data.script.full_script) || "")];
  }
  const facts = [];  // a post has no views; a reel of a creator without a median, no score
  if (data.view_count != null) facts.push(`${numberFormat.format(data.view_count)} views`);
  if (data.like_count != null) facts.push(`${numberFormat.format(data.like_count)} likes`);
  if (data.outlier_score != null) facts.push(`${times(data.outlier_score)} the creator's median`);
  return [el("strong", `@${data.username}`), link(data.url, (data.description || data.url || "").slice(0, 160)),
    el("p", facts.join(" \u00b7 "), "muted")];
}

function boardItem(item) {
  const entry = el("li", null, `board-item ${item.kind}`);
  Object.assign(entry.dataset, { itemId: item.id, kind: item.kind });
  if (item.content_id) entry.dataset.contentId = item.content_id;
  entry.append(el("span", KIND_NAMES[item.kind] || item.kind, "badge"), ...itemBody(item));
  if (item.note) entry.append(el("p", `Note: ${item.note}`, "note"));
  const remove = Object.assign(el("button", "Remove", "secondary remove"), { type: "button" });
  remove.addEventListener("click", () => removeItem(item.id, remove));
  entry.append(el("p", `Saved ${when(item.added_at)}`, "muted"), remove);
  return entry;
}

async function removeItem(itemId, button) {
  const boardId = boardView.open.id;
  button.disabled = true;
  try {
    await api("DELETE", `/api/boards/${encodeURIComponent(boardId)}/items/${encodeURIComponent(itemId)}`);
    await Promise.all([openBoard(boardId), loadBoards()]);
  } catch (err) {
    button.disabled = false;
    showError("board-error", err.message);
  }
}

async function createBoard(event) {
  event.preventDefault();
  showError("boards-error", "");
  const name = $("board-name").value.trim();
  if (!name) {
    showError("boards-error", "Give the new board a name.");
    return;
  }
  try {
    const board = await api("POST", "/api/boards", { name });
    $("board-name").value = "";
    await loadBoards();
    await openBoard(board.id);
  } catch (err) {
    showError("boards-error", err.message);
  }
}

async function exportBoard(event) {
  const board = boardView.open;
  const format = event.currentTarget.dataset.format;
  showError("board-error", "");
  try {
    await download(`/api/boards/${encodeURIComponent(board.id)}/export?format=${format}`, `board.${format}`);
  } catch (err) {
    showError("board-error", err.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("board-form").addEventListener("submit", createBoard);
  for (const button of document.querySelectorAll("#board button.export")) button.addEventListener("click", exportBoard);
});

onPageReady(() => {
  onAccountChange(loadBoards);
  loadBoards();
});
