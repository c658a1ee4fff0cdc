// Suggested claims on the annotation page: dashed, lighter highlights (the CSS Custom
// Highlight API, so the article's DOM stays annotate.js's) and a list in the panel. One key
// accepts the focused suggestion, one rejects it, one opens it in the claim form to edit
// first; keys come from the label scheme and never take a key the page already uses.
// annotate.js tells this module when it redrew the text ("textrendered") and is asked to
// open a suggestion in its form ("opensuggestion") or to reload the claims ("claimschanged").
import { api } from "./api.js";
import { matchesKey as matches } from "./keys.js";

const root = document.getElementById("annotate");
const panel = document.getElementById("suggestions");
const list = document.getElementById("suggestion-list");
const textEl = document.getElementById("text");
const claimForm = document.getElementById("claim-form");
const documentId = Number(root.dataset.documentId);
const scheme = JSON.parse(document.getElementById("scheme-data").textContent);
const stanceLabel = Object.fromEntries(scheme.stances.map((s) => [s.value, s.label || s.value]));
const KEY_NAMES = { accept: "Accept suggestion", reject: "Reject suggestion",
  edit: "Edit suggestion, then save to accept", next: "Next suggestion", previous: "Previous suggestion" };

const state = { enabled: false, all: [], claims: [], focus: 0, keys: {}, cpToU16: null, busy: false };

// ---------- offsets: code points (the server's) to UTF-16 (the DOM's) ----------

function indexText(text) {
  const points = Array.from(text);
  const map = new Int32Array(points.length + 1);
  let u = 0;
  points.forEach((ch, i) => { map[i] = u; u += ch.length; });
  map[points.length] = u;
  state.cpToU16 = map;
}

// A DOM Range over [start, end) code points of the article, across annotate.js's spans.
function rangeFor(start, end) {
  const from = state.cpToU16[start];
  const to = state.cpToU16[end];
  const walker = document.createTreeWalker(textEl, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let offset = 0;
  let started = false;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const length = node.data.length;
    if (!started && from <= offset + length) { range.setStart(node, from - offset); started = true; }
    if (started && to <= offset + length) { range.setEnd(node, to - offset); return range; }
    offset += length;
  }
  return null;
}

function u16Offset(node, offset) {
  const before = document.createRange();
  before.selectNodeContents(textEl);
  before.setEnd(node, offset);
  return before.toString().length;
}

// ---------- what is shown ----------

function visible() {
  // Claims the page shows (the user's own; everyone's for managers) hide what they cover.
  return state.all.filter((s) => !state.claims.some((c) => c.start < s.end && s.start < c.end));
}

function focused() {
  const shown = visible();
  if (!shown.length) return null;
  state.focus = Math.min(Math.max(state.focus, 0), shown.length - 1);
  return shown[state.focus];
}

function paint() {
  if (!state.enabled) return;
  const shown = visible();
  const current = focused();
  root.dataset.suggestions = String(shown.length);
  document.getElementById("suggestion-count").textContent = `(${shown.length})`;
  list.replaceChildren(...shown.map((s) => listItem(s, s === current)));
  document.getElementById("suggestion-empty").hidden = shown.length > 0;
  if (!window.CSS || !CSS.highlights || !state.cpToU16) return;
  const all = new Highlight();
  const focus = new Highlight();
  for (const s of shown) {
    const range = rangeFor(s.start, s.end);
    if (range) (s === current ? focus : all).add(range);
  }
  CSS.highlights.set("suggestion", all);
  CSS.highlights.set("suggestion-focus", focus);
}

function button(text, className, onClick, key) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = className;
  el.textContent = text;
  if (key) {
    const kbd = document.createElement("kbd");
    kbd.textContent = key;
    el.append(" ", kbd);
  }
  el.addEventListener("click", (event) => { event.stopPropagation(); onClick(); });
  return el;
}

function listItem(suggestion, isFocused) {
  const li = document.createElement("li");
  li.className = "suggestion" + (isFocused ? " focused" : "");
  li.dataset.suggestionId = suggestion.id;
  if (isFocused) li.setAttribute("aria-current", "true");
  const quote = document.createElement("q");
  quote.textContent = suggestion.text;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = [suggestion.actor || "no actor", stanceLabel[suggestion.stance] || suggestion.stance,
    suggestion.source === "rules" ? "cue rule" : `model ${Math.round(suggestion.score * 100)} %`].join(" · ");
  const actions = document.createElement("span");
  actions.className = "suggestion-actions";
  actions.append(
    button("Accept", "accept primary", () => accept(suggestion), state.keys.accept),
    button("Edit…", "edit", () => edit(suggestion), state.keys.edit),
    button("Reject", "reject", () => reject(suggestion), state.keys.reject),
  );
  li.append(quote, meta, actions);
  li.addEventListener("click", () => focusOn(suggestion));
  return li;
}

function focusOn(suggestion, scroll = true) {
  const index = visible().indexOf(suggestion);
  if (index < 0) return;
  state.focus = index;
  paint();
  if (!scroll) return;
  const range = rangeFor(suggestion.start, suggestion.end);
  if (range) {
    const box = range.getBoundingClientRect();
    const frame = textEl.getBoundingClientRect();
    if (box.top < frame.top || box.bottom > frame.bottom) textEl.scrollTop += box.top - frame.top - 60;
  }
}

function setStatus(message) {
  document.getElementById("suggestion-status").textContent = message;
}

// ---------- accept, reject, edit ----------

async function accept(suggestion) {
  if (state.busy) return;
  state.busy = true;
  setStatus("Accepting…");
  try {
    const result = await api("POST", `/api/v1/documents/${documentId}/suggestions/${suggestion.id}/accept`);
    if (!result.ok) { setStatus((result.data && result.data.error) || "Could not accept"); return; }
    state.all = state.all.filter((s) => s !== suggestion);
    root.dataset.lastAcceptedClaim = result.data.id;
    setStatus("Accepted: it is your claim now.");
    root.dispatchEvent(new CustomEvent("claimschanged"));
    paint();
  } catch {
    setStatus("Not accepted: the server is unreachable.");
  } finally {
    state.busy = false;
  }
}

async function reject(suggestion) {
  if (state.busy) return;
  state.busy = true;
  try {
    const result = await api("POST", `/api/v1/documents/${documentId}/suggestions/${suggestion.id}/reject`);
    if (!result.ok) { setStatus((result.data && result.data.error) || "Could not reject"); return; }
    state.all = state.all.filter((s) => s !== suggestion);
    setStatus("Rejected: it will not be suggested to you again.");
    paint();
  } catch {
    setStatus("Not rejected: the server is unreachable.");
  } finally {
    state.busy = false;
  }
}

function edit(suggestion) {
  root.dispatchEvent(new CustomEvent("opensuggestion", { detail: {
    start: suggestion.start, end: suggestion.end, text: suggestion.text,
    actor: suggestion.actor, stance: suggestion.stance,
    mention: suggestion.actor_mention ? { ...suggestion.actor_mention } : null,
    suggestionId: suggestion.id,
  } }));
}

// ---------- keys ----------

// The page's own keys: a suggestion key equal to one of them is left out (the server checks
// schemes that name suggestion keys; the defaults could still meet an older scheme's key).
function takenKeys() {
  const taken = new Set(Object.values(scheme.shortcuts || {}).map((k) => k.toLowerCase()));
  for (const item of [...scheme.stances, ...scheme.verdicts]) if (item.key) taken.add(item.key.toLowerCase());
  return taken;
}

function usableKeys(keys) {
  const taken = takenKeys();
  return Object.fromEntries(Object.entries(keys).filter(([, spec]) => !taken.has(spec.toLowerCase())));
}

function listKeys() {
  const shortcuts = document.getElementById("shortcut-list");
  if (!shortcuts) return;
  for (const [action, spec] of Object.entries(state.keys)) {
    const dt = document.createElement("dt");
    const kbd = document.createElement("kbd");
    kbd.textContent = spec;
    dt.append(kbd);
    const dd = document.createElement("dd");
    dd.textContent = KEY_NAMES[action] || action;
    shortcuts.append(dt, dd);
  }
}

const keyActions = {
  accept: () => { const s = focused(); if (s) accept(s); },
  reject: () => { const s = focused(); if (s) reject(s); },
  edit: () => { const s = focused(); if (s) edit(s); },
  next: () => { const shown = visible(); if (shown.length) focusOn(shown[(state.focus + 1) % shown.length]); },
  previous: () => { const shown = visible(); if (shown.length) focusOn(shown[(state.focus - 1 + shown.length) % shown.length]); },
};

document.addEventListener("keydown", (event) => {
  // Only while no claim is open and nothing is typed: then the page's plain keys are free.
  if (!claimForm.hidden || event.target.closest("input, textarea, select, [contenteditable]")) return;
  const skipForm = document.getElementById("skip-form");
  if (skipForm && !skipForm.hidden) return;
  for (const [action, spec] of Object.entries(state.keys)) {
    if (matches(event, spec)) { event.preventDefault(); keyActions[action](); return; }
  }
});

// A click on a suggested span (outside a claim) focuses it.
textEl.addEventListener("click", (event) => {
  if (!state.all.length || !window.getSelection().isCollapsed || event.target.closest(".seg")) return;
  const caret = document.caretPositionFromPoint
    ? document.caretPositionFromPoint(event.clientX, event.clientY) : null;
  if (!caret || !textEl.contains(caret.offsetNode)) return;
  const u16 = u16Offset(caret.offsetNode, caret.offset);
  const hit = visible().find((s) => state.cpToU16[s.start] <= u16 && u16 < state.cpToU16[s.end]);
  if (hit) focusOn(hit, false);
});

// ---------- loading ----------

root.addEventListener("textrendered", ({ detail }) => {
  if (!state.cpToU16) indexText(textEl.textContent);
  state.claims = detail.claims || [];
  paint();
});

async function load() {
  const result = await api("GET", `/api/v1/documents/${documentId}/suggestions`);
  if (!result.ok || !result.data.enabled) { panel.hidden = true; root.dataset.suggestions = "off"; return; }
  state.enabled = true;
  state.keys = usableKeys(result.data.keys || {});
  state.all = result.data.suggestions;
  panel.hidden = false;
  listKeys();
  if (root.dataset.ready === "true" && !state.cpToU16) indexText(textEl.textContent);
  paint();
  root.dataset.suggestionsReady = "true";
}

load();
