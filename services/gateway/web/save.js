// "Save to a board": a reel or post of the Discover view, or a hook or script of an analysis's results,
// saved with an optional note to one of the user's boards or to a new one (POST /api/boards, then
// POST /api/boards/{id}/items). Needs api.js.
"use strict";

const NEW_BOARD = "new";
const saving = { thing: null, button: null, lastBoard: null };

// thing: the item as the boards API takes it ({kind: "content", content_id} or {kind, queue_id, run,
// index}); title: what the dialog says is being saved.
function saveButton(thing, title) {
  const button = Object.assign(el("button", "Save", "save"), { type: "button" });
  button.addEventListener("click", () => openSaveDialog(thing, title, button));
  return button;
}

function labelled(text, control) {
  const label = el("label", text);
  label.append(control);
  return label;
}

function saveDialog() {
  const existing = $("save-dialog");
  if (existing) return existing;
  const board = Object.assign(el("select"), { id: "save-board" });
  const name = Object.assign(el("input"), { id: "save-new-name", maxLength: 100, placeholder: "Ideas to film", autocomplete: "off" });
  const newBoard = Object.assign(labelled("New board's name", name), { id: "save-new-board" });
  const note = Object.assign(el("textarea"), { id: "save-note", rows: 3, maxLength: 2000 });
  const cancel = Object.assign(el("button", "Cancel", "secondary"), { id: "save-cancel", type: "button" });
  const actions = el("p", null, "actions");
  actions.append(Object.assign(el("button", "Save"), { id: "save-submit", type: "submit" }), cancel);
  const error = Object.assign(el("p", null, "error"), { id: "save-error", hidden: true });
  error.setAttribute("role", "alert");
  const form = Object.assign(el("form"), { id: "save-form", noValidate: true });
  form.append(el("h2", "Save to a board"), Object.assign(el("p", null, "muted"), { id: "save-what" }),
    labelled("Board", board), newBoard, labelled("Note (optional)", note), actions, error);
  const dialog = Object.assign(el("dialog"), { id: "save-dialog" });
  dialog.setAttribute("aria-labelledby", "save-title");
  form.firstChild.id = "save-title";
  dialog.append(form);
  document.body.append(dialog);
  board.addEventListener("change", () => { newBoard.hidden = board.value !== NEW_BOARD; });
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", submitSave);
  return dialog;
}

async function openSaveDialog(thing, title, button) {
  const dialog = saveDialog();
  Object.assign(saving, { thing, button });
  $("save-what").textContent = title.slice(0, 200);
  $("save-note").value = "";
  $("save-new-name").value = "";
  showError("save-error", "");
  fillBoards([]);
  $("save-submit").disabled = true;  // until the user's boards are listed to choose from
  dialog.showModal();
  if (!auth.token) {
    showError("save-error", "Sign in (at the top of the page) to keep boards.");
    return;
  }
  try {
    fillBoards((await api("GET", "/api/boards")).boards);
  } catch (err) {
    showError("save-error", err.message);  // a new board may still be made
  }
  $("save-submit").disabled = false;
}

function boardOption(board) {
  const option = Object.assign(el("option", `${board.name} (${board.item_count})`), { value: board.id });
  option.dataset.name = board.name;
  return option;
}

function fillBoards(boards) {
  const select = $("save-board");
  const options = boards.map(boardOption);
  options.push(Object.assign(el("option", "A new board..."), { value: NEW_BOARD }));
  select.replaceChildren(...options);
  const last = boards.find((b) => b.id === saving.lastBoard) || boards[boards.length - 1];
  select.value = last ? last.id : NEW_BOARD;
  $("save-new-board").hidden = select.value !== NEW_BOARD;
}

async function submitSave(event) {
  event.preventDefault();
  showError("save-error", "");
  const select = $("save-board");
  const submit = $("save-submit");
  submit.disabled = true;
  try {
    if (select.value === NEW_BOARD) {
      const name = $("save-new-name").value.trim();
      if (!name) throw new Problem("Give the new board a name.", 0, "");
      const board = await api("POST", "/api/boards", { name });
      // Chosen from now on: if saving the item fails, a retry does not create the board again.
      select.prepend(boardOption(board));
      select.value = board.id;
      $("save-new-board").hidden = true;
    }
    const boardId = select.value;
    const boardName = select.selectedOptions[0].dataset.name;
    const note = $("save-note").value.trim();
    await api("POST", `/api/boards/${encodeURIComponent(boardId)}/items`, note ? { ...saving.thing, note } : saving.thing);
    saving.lastBoard = boardId;
    saving.button.textContent = `Saved to ${boardName}`;
    saving.button.classList.add("saved");
    $("save-dialog").close();
  } catch (err) {
    showError("save-error", err.message);
  } finally {
    submit.disabled = !auth.token;
  }
}
