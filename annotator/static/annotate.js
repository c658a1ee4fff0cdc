// The annotation page. Offsets sent to and read from the server are Unicode code points
// (Python str indices); the DOM counts UTF-16 code units, so every crossing converts.
// All text goes into the page through textContent, never innerHTML: article text, notes and
// actor names are untrusted.
import { api } from "./api.js";
import { SaveQueue, newClientId, sameClaimContent } from "./savequeue.js";
import { FormDraft } from "./drafts.js";
import { renderConflict } from "./conflicts.js";
import { ArticleView } from "./highlights.js";
import { matchesKey as matches } from "./keys.js";

const root = document.getElementById("annotate");
const documentId = Number(root.dataset.documentId);
const projectId = Number(root.dataset.projectId);
const username = root.dataset.username;
const canManage = root.dataset.canManage === "true";
const scheme = JSON.parse(document.getElementById("scheme-data").textContent);

const $ = (id) => document.getElementById(id);
const textEl = $("text");
const form = $("claim-form");
const evidenceList = $("evidence-list");

const FALLBACK_COLORS = ["#2b83ba", "#d7191c", "#1a9641", "#fdae61", "#8c8c8c", "#7a5af8"];
const stanceColor = {};
scheme.stances.forEach((s, i) => { stanceColor[s.value] = s.color || FALLBACK_COLORS[i % FALLBACK_COLORS.length]; });
const stanceLabel = Object.fromEntries(scheme.stances.map((s) => [s.value, s.label || s.value]));
const verdictLabel = Object.fromEntries(scheme.verdicts.map((v) => [v.value, v.label || v.value]));
const schemeLabels = (items) => Object.fromEntries((items || []).map((x) => [x.value, x.label || x.value]));
const conflictLabels = { stance: stanceLabel, verdict: verdictLabel,
  type: schemeLabels(scheme.evidence_types), relation: schemeLabels(scheme.evidence_relations) };

const state = {
  text: "",
  codePoints: [],      // the text as an array of code points
  cpToU16: null,       // code point index -> UTF-16 index (length n+1)
  u16ToCp: null,       // UTF-16 index -> index of the code point containing it (length m+1)
  claims: [],          // what the page shows: the stored claims with the queued changes applied
  server: new Map(),   // claim key -> the claim as the server last returned it
  actors: [],
  editing: null,       // the claim being edited, or null for a new one
  draft: null,         // {start, end, text, mention}
  draftVersion: null,  // the version a refused change in the form was made on
  refusedDraft: null,  // the id of the stored refused change the form shows, or null
  lastSelection: null, // the latest selection made while the form was open
  selectedId: null,
  status: null,        // the user's assignment status on the document; null: not assigned
  deleted: [],         // deleted claims (managers only)
};

// ---------- server ----------

function setSaveStatus(message) {
  $("save-status").textContent = message;
  root.dataset.saveStatus = message;
}

// ---------- the save queue: every write goes through it (see savequeue.js) ----------

// A claim's key: its id as a string, or "new:<client id>" while its create is queued.
function claimKey(claim) { return String(claim.id); }

const queue = new SaveQueue({
  scope: `${username}:${documentId}`, documentId, onEvent: (event) => queueEvent(event),
});
const awaited = new Set(); // ids of the operations a form is waiting on
const formDraft = new FormDraft(`${username}:${documentId}`);
let sendingForm = null; // the form whose save awaits its first answer (its draft is the queue's)
let lastOutcome = null;

function showQueueState() {
  const n = queue.pending;
  root.dataset.queue = queue.state;
  root.dataset.pending = n;
  root.dataset.refused = queue.refused.length;
  if (queue.state === "conflict") setSaveStatus("Conflict");
  else if (queue.state === "offline") setSaveStatus(`Offline — ${n} ${n === 1 ? "change" : "changes"} waiting${volatileNote()}`);
  else if (queue.state === "saving") setSaveStatus(`Saving…${volatileNote()}`);
  else if (lastOutcome) setSaveStatus(`${lastOutcome}${volatileNote()}`);
}

function volatileNote() {
  return queue.volatile ? ", kept only in this tab (the browser's storage is full): do not close or reload it" : "";
}

// Waiting or refused changes the browser could not store are lost with the tab: ask first.
window.addEventListener("beforeunload", (event) => {
  if (queue.held && queue.volatile) { event.preventDefault(); event.returnValue = ""; }
});

function queueEvent({ type, op, result }) {
  if (type === "change") { showQueueState(); return; }
  if (type === "done") {
    if (result.data && result.data.id != null) state.server.set(String(result.data.id), result.data);
    else state.server.delete(String(queue.serverId(op.key)));
    lastOutcome = op.kind === "delete" && !result.theirs ? "Deleted" : "Saved";
    if (result.data && result.data.id != null && !result.theirs) root.dataset.lastSavedClaim = result.data.id;
    refreshView();
    performance.mark("save-stored-shown");
    if (op.kind === "delete" && canManage) loadDeleted();
  } else if (type === "rejected") {
    lastOutcome = op.kind === "delete" ? "Not deleted" : "Not saved";
    refreshView();
    if (!awaited.has(op.id)) {
      // A change queued earlier (before a reload) that the server refuses: say so.
      setSaveStatus(`Not saved: ${(result.data && result.data.error) || `HTTP ${result.status}`}`);
      if (op.payload) showRefused(op, result.data);
    }
  } else if (type === "conflict") {
    showConflict(op, result.data.current);
  }
}

// The stored claims with every queued change applied, in reading order.
function viewClaims() {
  const view = new Map(state.server);
  for (const op of queue.ops) {
    const known = queue.serverId(op.key);
    const key = known != null ? String(known) : op.key;
    if (op.kind === "delete") { view.delete(key); continue; }
    const base = view.get(key) || { id: key, annotator: username, version: null, evidence: [] };
    view.set(key, { ...base, ...op.payload, evidence: op.payload.evidence || base.evidence,
      id: base.id, pending: true });
  }
  return [...view.values()].sort((a, b) => a.start - b.start || a.end - b.end
    || String(a.id).localeCompare(String(b.id), undefined, { numeric: true }));
}

function refreshView() {
  const before = state.claims;
  state.claims = viewClaims();
  if (state.editing) {
    const claim = queue.claimOf(claimKey(state.editing));
    const now = state.claims.find((c) => queue.claimOf(claimKey(c)) === claim);
    if (now) {
      if (state.selectedId === state.editing.id) state.selectedId = now.id;
      state.editing = now;
      $("form-title").textContent = formTitle(now);
    }
  }
  renderChanged(before, state.claims);
}

function findClaim(id) { return state.claims.find((c) => String(c.id) === String(id)) || null; }

function formTitle(claim) {
  if (!claim) return "New claim";
  const name = typeof claim.id === "string" ? "New claim (waiting to be saved)" : `Claim #${claim.id}`;
  return `${name}${isMine(claim) ? "" : ` by ${claim.annotator}`}`;
}

// ---------- offsets ----------

function indexText(text) {
  const codePoints = Array.from(text);
  const cpToU16 = new Int32Array(codePoints.length + 1);
  const u16ToCp = new Int32Array(text.length + 1);
  let u = 0;
  codePoints.forEach((ch, i) => {
    cpToU16[i] = u;
    for (let k = 0; k < ch.length; k++) u16ToCp[u + k] = i;
    u += ch.length;
  });
  cpToU16[codePoints.length] = u;
  u16ToCp[u] = codePoints.length;
  Object.assign(state, { text, codePoints, cpToU16, u16ToCp });
}

function sliceCp(start, end) {
  return state.codePoints.slice(start, end).join("");
}

// The selection inside the article as code point offsets, whitespace trimmed; null if none.
function selectionOffsets() {
  const selection = window.getSelection();
  if (!selection.rangeCount || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!textEl.contains(range.startContainer) || !textEl.contains(range.endContainer)) return null;
  const before = document.createRange();
  before.selectNodeContents(textEl);
  before.setEnd(range.startContainer, range.startOffset);
  const start16 = before.toString().length;
  const end16 = start16 + range.toString().length;
  let start = state.u16ToCp[start16];
  let end = state.u16ToCp[end16];
  if (state.cpToU16[end] !== end16) end += 1; // an end inside a surrogate pair takes the whole character
  while (start < end && /\s/u.test(state.codePoints[start])) start++;
  while (end > start && /\s/u.test(state.codePoints[end - 1])) end--;
  if (start >= end) return null;
  return { start, end, text: sliceCp(start, end) };
}

// ---------- rendering the article ----------

function render() {
  if (!state.view) return; // the text is not loaded yet
  const claims = state.claims;
  const selected = claims.find((c) => c.id === state.selectedId) || null;
  const marks = [];
  if (selected) {
    for (const ev of selected.evidence) {
      // A span in another article has no place in this one's text.
      const here = ev.document_id == null || ev.document_id === documentId;
      if (ev.start != null && here) marks.push([ev.start, ev.end, "evidence"]);
    }
    if (selected.actor_mention) marks.push([selected.actor_mention.start, selected.actor_mention.end, "mention"]);
  }
  // Only the paragraphs whose claims, lanes, selection or marks changed are drawn again.
  state.view.draw(claims, selected ? selected.id : null, marks);
  if (!state.listDeferred) renderClaimList();
  // suggestions.js redraws its highlights on the new text nodes, hiding what claims now cover.
  root.dispatchEvent(new CustomEvent("textrendered", { detail: { claims } }));
}

// After a queued change or an answer: draw again what changed.
function renderChanged() { render(); }

function shorten(text, max) {
  const points = Array.from(String(text));
  return points.length > max ? points.slice(0, max).join("") + "…" : points.join("");
}

function isMine(claim) { return !claim || claim.annotator === username; }

// A claim of someone else (managers see everyone's) is shown, not edited: only its annotator can.
function isReadOnly() { return !form.hidden && state.editing !== null && !isMine(state.editing); }

function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function timeElement(iso) {
  const el = document.createElement("time");
  el.dateTime = iso;
  el.title = iso;
  el.textContent = localTime(iso);
  return el;
}

// The claim list, kept in step with state.claims: an item is built again only when its claim
// object changed (every change makes a new object), and moved only when out of place.
const claimItems = new Map(); // claim id -> {claim, li}

function renderClaimList() {
  const list = $("claim-list");
  $("claim-count").textContent = `(${state.claims.length})`;
  const ids = new Set(state.claims.map((c) => c.id));
  for (const [id, item] of claimItems) {
    if (!ids.has(id)) { item.li.remove(); claimItems.delete(id); }
  }
  let cursor = list.firstChild;
  for (const claim of state.claims) {
    let item = claimItems.get(claim.id);
    if (!item || item.claim !== claim) {
      if (item) {
        if (item.li === cursor) cursor = cursor.nextSibling;
        item.li.remove();
      }
      item = { claim, li: claimItem(claim) };
      claimItems.set(claim.id, item);
    }
    if (item.li === cursor) cursor = cursor.nextSibling;
    else list.insertBefore(item.li, cursor);
  }
}

function claimItem(claim) {
  {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.claimId = claim.id;
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.style.backgroundColor = stanceColor[claim.stance] || "#888888";
    const quote = document.createElement("span");
    quote.textContent = ` “${shorten(claim.text, 90)}”`;
    const meta = document.createElement("span");
    meta.className = "meta";
    const parts = [claim.actor || "no actor", stanceLabel[claim.stance] || claim.stance];
    if (claim.verdict) parts.push(verdictLabel[claim.verdict] || claim.verdict);
    if (claim.evidence.length) parts.push(`${claim.evidence.length} evidence`);
    if (!isMine(claim)) parts.push(`by ${claim.annotator}`);
    if (claim.pending) { parts.push("waiting to be saved"); li.classList.add("pending"); }
    meta.textContent = parts.join(" · ");
    button.append(chip, quote, meta);
    button.addEventListener("click", () => openClaim(claim.id));
    li.append(button);
    return li;
  }
}

// ---------- the claim form ----------

function clearErrors() {
  form.querySelectorAll("[data-error-for], .ev-error").forEach((el) => { el.textContent = ""; });
  $("form-error").textContent = "";
}

function showErrors(body) {
  clearErrors();
  const fields = (body && body.fields) || {};
  const unplaced = [];
  for (const [field, message] of Object.entries(fields)) {
    const evidence = field.match(/^evidence\.(\d+)\./);
    if (evidence) {
      const item = evidenceList.children[Number(evidence[1])];
      if (item) { item.querySelector(".ev-error").textContent = `${field.split(".").pop()}: ${message}`; continue; }
    }
    const target = form.querySelector(`[data-error-for="${field.split(".")[0]}"]`);
    if (target) target.textContent = `${field}: ${message}`;
    else unplaced.push(`${field}: ${message}`);
  }
  $("form-error").textContent = [(body && body.error) || "Could not save.", ...unplaced].join(" — ");
}

function showQuote() {
  $("claim-quote").textContent = state.draft.text;
  const mention = state.draft.mention;
  $("mention-quote").textContent = mention ? mention.text : "none";
}

function updateNewActorHint() {
  const name = $("actor").value.trim();
  $("new-actor-hint").hidden = !name || Boolean(findActor(name));
}

function findActor(name) {
  return state.actors.find((a) => a.name === name || (a.aliases || []).includes(name));
}

function addEvidence(item = {}) {
  const node = $("evidence-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".ev-type").value = item.type || scheme.evidence_types[0].value;
  node.querySelector(".ev-relation").value = item.relation || scheme.evidence_relations[0].value;
  node.querySelector(".ev-description").value = item.description || "";
  node.dataset.description = item.description || ""; // as stored (see collectPayload)
  const sourceInput = node.querySelector(".ev-source-url");
  const sourceLink = node.querySelector(".ev-source-link");
  const showSourceLink = () => {
    // Only a web address becomes a link: a "javascript:" URL stays inert text in the field.
    const url = safeWebUrl(sourceInput.value.trim());
    sourceLink.hidden = !url;
    if (url) sourceLink.href = url; else sourceLink.removeAttribute("href");
  };
  sourceInput.value = item.source_url || "";
  sourceInput.addEventListener("input", showSourceLink);
  showSourceLink();
  if (item.id != null) node.dataset.evidenceId = item.id; // edits keep the item's identity
  const setSpan = (span) => {
    delete node.dataset.withheld;
    if (span) {
      Object.assign(node.dataset, { start: span.start, end: span.end, text: span.text });
    } else {
      delete node.dataset.start; delete node.dataset.end; delete node.dataset.text;
    }
    // A span in another article (propositions.js picks those) keeps its document's id.
    if (span && span.document_id) node.dataset.documentId = span.document_id; else delete node.dataset.documentId;
    node.querySelector(".ev-quote").textContent = span ? span.text : "none";
  };
  setSpan(item.start != null ? item : null);
  if (item.start == null && item.document_id != null) {
    // A span in an article this reader may not open: sent back by its article alone, the
    // server keeps the stored span ("clear" or a new selection replaces it).
    Object.assign(node.dataset, { documentId: item.document_id, withheld: "true" });
    node.querySelector(".ev-quote").textContent = "a passage you may not open, kept as it is";
  }
  node.querySelector(".ev-use-selection").addEventListener("click", () => {
    if (!state.lastSelection) {
      node.querySelector(".ev-error").textContent = "Select the evidence text in the article first.";
      return;
    }
    setSpan(state.lastSelection);
  });
  node.querySelector(".ev-clear-span").addEventListener("click", () => setSpan(null));
  node.querySelector(".ev-remove").addEventListener("click", () => node.remove());
  evidenceList.append(node);
  return node;
}

function safeWebUrl(value) {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch { return null; }
}

function setReadOnly(readOnly, claim) {
  form.classList.toggle("readonly", readOnly);
  form.querySelectorAll("input, select, textarea, button").forEach((el) => {
    if (el.id !== "cancel-claim") el.disabled = readOnly;
  });
  $("save-claim").hidden = readOnly;
  $("readonly-note").hidden = !readOnly;
  $("readonly-note").textContent = readOnly ? `Only ${claim.annotator} can change this claim.` : "";
}

function fillForm(claim) {
  clearErrors();
  formDraft.clear(); // what the previous form held was given up by opening this one
  state.draftVersion = null;
  state.refusedDraft = null; // a refused change replaced by this form stays stored, and reopens
  $("cancel-claim").textContent = "Cancel";
  $("actor").value = claim ? claim.actor || "" : "";
  updateNewActorHint();
  form.querySelectorAll('input[name="stance"]').forEach((r) => { r.checked = claim ? r.value === claim.stance : false; });
  $("verdict").value = claim && claim.verdict ? claim.verdict : "";
  $("note").value = claim ? claim.note : "";
  evidenceList.replaceChildren();
  if (claim) claim.evidence.forEach((item) => addEvidence(item));
  $("form-title").textContent = formTitle(claim);
  state.formToken = (state.formToken || 0) + 1;
  setReadOnly(!isMine(claim), claim);
  $("delete-claim").hidden = !claim || !isMine(claim);
  $("selection-box").hidden = true;
  state.lastSelection = null;
  showQuote();
  form.hidden = false;
  $("hint").hidden = true;
  // propositions.js shows the claim's proposition panel.
  root.dispatchEvent(new CustomEvent("claimformopen", { detail: { claim, mine: isMine(claim) } }));
}

// Managers, adjudicators and admins read documents they are not assigned to: their own
// claims there would make them coders of it (gold is decided on the review page).
const ASSIGNED_HINT = $("hint").textContent; // the page's own words
const NOT_ASSIGNED = "You are not assigned to this document: you can read its claims (or press Annotate this document to add your own)";

function openNew(selection) {
  state.editing = null;
  state.selectedId = null;
  state.draft = { start: selection.start, end: selection.end, text: selection.text, mention: null };
  fillForm(null);
  hideHistory();
  render();
  // Focus stays off the actor field, so the scheme's plain stance keys ("1".."5") work at once.
}

function openClaim(id) {
  const claim = findClaim(id);
  if (!claim) return;
  hideMenu();
  state.editing = claim;
  state.selectedId = claim.id;
  state.draft = {
    start: claim.start, end: claim.end, text: claim.text,
    mention: claim.actor_mention ? { ...claim.actor_mention } : null,
  };
  fillForm(claim);
  render();
  if (typeof claim.id === "number") loadHistory(claim.id); else hideHistory();
}

function closeForm() {
  form.hidden = true;
  formDraft.clear();
  root.dispatchEvent(new CustomEvent("claimformclose"));
  hideHistory();
  $("hint").hidden = false;
  state.editing = null;
  state.draft = null;
  state.lastSelection = null;
  if (state.selectedId !== null) { state.selectedId = null; render(); }
  openWaitingRefused();
}

// Cancel: on a refused change back in the form it means dropping that change for good.
function cancelForm() {
  if (state.refusedDraft) {
    queue.dropRefused(state.refusedDraft);
    lastOutcome = "Dropped the change the server refused";
    setSaveStatus(lastOutcome);
  }
  closeForm();
}

function collectPayload() {
  const stance = form.querySelector('input[name="stance"]:checked');
  const payload = {
    start: state.draft.start, end: state.draft.end, text: state.draft.text,
    actor: $("actor").value.trim() || null,
    actor_mention: state.draft.mention
      ? { start: state.draft.mention.start, end: state.draft.mention.end, text: state.draft.mention.text }
      : null,
    stance: stance ? stance.value : "",
    verdict: $("verdict").value || null,
    note: $("note").value,
    evidence: [...evidenceList.children].map((node) => {
      const item = {
        ...(node.dataset.evidenceId ? { id: Number(node.dataset.evidenceId) } : {}),
        type: node.querySelector(".ev-type").value,
        relation: node.querySelector(".ev-relation").value,
        description: typedDescription(node),
        source_url: node.querySelector(".ev-source-url").value.trim() || null,
      };
      if (node.dataset.start !== undefined) {
        Object.assign(item, { start: Number(node.dataset.start), end: Number(node.dataset.end), text: node.dataset.text });
        if (node.dataset.documentId) item.document_id = Number(node.dataset.documentId);
      } else if (node.dataset.withheld) {
        item.document_id = Number(node.dataset.documentId);
      }
      return item;
    }),
  };
  if (!payload.stance) delete payload.stance; // the server names the missing field
  return payload;
}

// A <textarea> reads a stored "\r\n" as "\n": an untouched description goes back as stored.
function typedDescription(node) {
  const typed = node.querySelector(".ev-description").value;
  const stored = node.dataset.description;
  return stored !== undefined && typed === stored.replace(/\r\n?/g, "\n") ? stored : typed;
}

async function ensureActor(name) {
  if (!name || findActor(name)) return true;
  let result;
  try {
    result = await api("POST", `/api/v1/projects/${projectId}/actors`, { name });
  } catch {
    // Actors are shared by the project, so a new one is added online only; the form keeps the edit.
    showErrors({ error: "Not saved: the server is unreachable, and a new actor can only be added online.",
      fields: { actor: "choose an existing actor, or save again once the connection is back" } });
    return false;
  }
  if (!result.ok) { showErrors({ error: result.data.error, fields: { actor: (result.data.fields || {}).name || result.data.error } }); return false; }
  state.actors.push(result.data);
  const option = document.createElement("option");
  option.value = result.data.name;
  $("actor-list").append(option);
  return true;
}

async function saveClaim() {
  if (!state.draft || isReadOnly()) return;
  const payload = collectPayload();
  if (!(await ensureActor(payload.actor))) { setSaveStatus("Not saved"); return; }
  const claim = state.editing;
  let op;
  if (claim) {
    const key = claimKey(claim);
    // A claim with changes still queued is edited on top of them: the queue sends this edit
    // with the version the earlier one comes back with.
    // A refused change back in the form keeps the version it was made on (a later save of
    // the claim then meets it as a conflict instead of being overwritten).
    const version = state.draftVersion ?? (claim.pending ? null : claim.version);
    op = { kind: "update", key, payload, version,
      fallbackVersion: (state.server.get(key) || {}).version };
  } else {
    const clientId = newClientId();
    if (state.draft.suggestionId) payload.suggestion_id = state.draft.suggestionId; // edit, then accept
    op = { kind: "create", key: `new:${clientId}`, clientId, payload };
  }
  await submit(op);
}

// Queue a write from the open form: the page shows it at once; the form closes when the
// server took it or it waits for the connection, and stays open on a refusal (422).
// A refused change fixed in the form replaces the stored one (see enqueue).
async function submit(op) {
  const form = state.formToken;
  const fixes = state.refusedDraft;
  performance.mark("save-start");
  const pending = queue.enqueue(op, fixes);
  // The queue holds the change now: a draft of it as well would be saved twice after a reload.
  formDraft.clear();
  sendingForm = form;
  awaited.add(op.id);
  refreshView();
  performance.mark("save-shown");
  const { outcome, result } = await pending;
  awaited.delete(op.id);
  if (sendingForm === form) sendingForm = null;
  if (state.formToken !== form) {
    if (outcome === "rejected" && op.payload) showRefused(op, result.data);
    return;
  }
  if (outcome === "rejected") {
    if (fixes) {
      // Refused again: this version is the one kept until it is saved or dropped.
      queue.keepRefused(op, result.data);
      state.refusedDraft = op.id;
    }
    showErrors(result.data);
    rememberDraft(); // refused at once: the form's typing is kept again, as before the save
    return;
  }
  closeForm();
}

function refusal(body) { return (body && body.error) || "refused"; }

// A refused change is stored (until it is saved fixed or dropped) and goes back in the form,
// but never over a form in use: it waits until that one is closed (what is being typed
// there is not saved anywhere yet).
function showRefused(op, body) {
  queue.keepRefused(op, body);
  if (form.hidden) { openDraft(op); return; }
  lastOutcome = `Not saved: ${refusal(body)} (it opens when this form is closed)`;
  setSaveStatus(`${lastOutcome}${volatileNote()}`);
}

// The first stored refused change, in the form if none is open (after a reload too).
function openWaitingRefused() {
  if (form.hidden && queue.refused.length) openDraft(queue.refused[0]);
}

// Whether the open form shows the claim of queue key `key` (a create's key, or an id).
function formShows(key) {
  return !form.hidden && state.editing !== null
    && queue.claimOf(claimKey(state.editing)) === queue.claimOf(key);
}

// A change not stored on the server back in the form: over the claim `stored` (null for a
// new claim), to be saved on `version` (the one it was made on) when given.
function openInForm(stored, payload, version) {
  const draft = { ...(stored || {}), ...payload, evidence: payload.evidence || [] };
  state.editing = stored;
  state.selectedId = stored ? stored.id : null;
  state.draft = { start: draft.start, end: draft.end, text: draft.text,
    mention: draft.actor_mention ? { ...draft.actor_mention } : null };
  fillForm(stored ? draft : { ...draft, id: null, annotator: username });
  if (stored && version != null) state.draftVersion = version;
  if (!stored) { state.editing = null; $("form-title").textContent = "New claim"; $("delete-claim").hidden = true; }
}

// A refused change back in the form, with the server's field errors, to fix and save again.
function openDraft(op) {
  const known = queue.serverId(op.key);
  openInForm(known != null ? state.server.get(String(known)) || null : null, op.payload,
    op.sentVersion);
  state.refusedDraft = op.id;
  $("cancel-claim").textContent = "Drop change";
  showErrors(op.answer);
  lastOutcome = `Not saved: ${refusal(op.answer)} — fix it and save, or drop it`;
  setSaveStatus(`${lastOutcome}${volatileNote()}`);
  render();
}

// What the open form holds, kept in the browser until it is saved or closed (drafts.js).
// A refused change in the form is kept by the queue instead; a claim opened and left as it
// is holds nothing to keep.
function rememberDraft(released = false) {
  if (form.hidden || !state.draft || isReadOnly() || state.refusedDraft) return;
  if (sendingForm === state.formToken) return; // the queue holds it until the answer
  const claim = state.editing;
  const payload = collectPayload();
  if (claim && sameClaimContent(claim, payload)) { formDraft.clear(); return; }
  formDraft.save({
    key: claim ? claimKey(claim) : null,
    payload,
    version: state.draftVersion ?? (claim && !claim.pending ? claim.version : null),
    suggestionId: state.draft.suggestionId || null,
  }, released);
}

// The typing left in the form when a page on this document was last left, back in the form
// to save or cancel. An edit goes out on the version it was typed on: a claim saved since
// meets it as a conflict. The draft of a claim that is gone (deleted meanwhile) is dropped.
function restoreDraft() {
  const draft = formDraft.load();
  if (!draft || !form.hidden) return;
  const claim = draft.key == null ? null : findClaim(draft.key);
  if (draft.key != null && !(claim && isMine(claim))) { formDraft.clear(); return; }
  openInForm(claim, draft.payload, draft.version);
  if (draft.suggestionId) state.draft.suggestionId = draft.suggestionId;
  rememberDraft(); // opening the form started a new draft: this one, until it is saved
  const waiting = queue.refused.length ? " (a change the server refused opens once this form is closed)" : "";
  lastOutcome = `Restored what you were typing when the page was left: save it, or cancel${waiting}`;
  setSaveStatus(lastOutcome);
  render();
}

function showConflict(op, current) {
  const known = queue.serverId(op.key);
  const stored = state.server.get(String(known != null ? known : current.id)) || current;
  // The choice decides every queued change of the claim: mine is the last of them.
  const last = queue.latest(op);
  const deleting = last.kind === "delete";
  const mine = deleting ? stored : { ...stored, ...last.payload };
  // A create meets a claim only when its suggestion was already accepted (the list, a tab).
  const title = op.kind === "create" && !deleting
    ? `You already accepted this suggestion as claim #${current.id}, so your copy was not `
      + `saved as a second claim: keep yours to apply it to claim #${current.id}.`
    : undefined;
  renderConflict($("conflict"), {
    mine, theirs: current, deleting, labels: conflictLabels, title,
    onChoose: (choice, merged) => {
      // Only the form of that claim closes: another claim's form may hold unsaved typing.
      if (choice === "theirs" && formShows(op.key)) closeForm();
      queue.resolve(choice, merged);
    },
  });
}

async function deleteClaim() {
  if (!state.editing || !isMine(state.editing)) return;
  const claim = state.editing;
  const key = claimKey(claim);
  await submit({ kind: "delete", key, version: state.draftVersion ?? (claim.pending ? null : claim.version),
    fallbackVersion: (state.server.get(key) || {}).version });
}

// ---------- a claim's history (its audit events and its evidence's) ----------

// Bookkeeping that changes on every write, or never: not worth listing as a change.
const QUIET_FIELDS = new Set(["id", "version", "document_id", "annotator", "created_at",
  "updated_at", "deleted_at", "scheme_version", "is_gold"]);
const ACTION_WORDS = { create: "created", update: "updated", delete: "deleted", restore: "restored",
  link: "linked", unlink: "unlinked", reject: "rejected", unreject: "rejection undone" };

function isShortScalar(value) {
  if (value === null || value === undefined) return true;
  if (typeof value === "number" || typeof value === "boolean") return true;
  return typeof value === "string" && Array.from(value).length <= 80;
}

function shown(value) {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "string" ? `“${value}”` : String(value);
}

// [{field, from, to, short}] for the fields an event changed, in a stable order.
function changedFields(event) {
  const before = event.before || {};
  const after = event.after || {};
  if (event.action === "delete" || event.action === "restore") return [];
  const keys = event.action === "create" ? Object.keys(after) : [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changes = [];
  for (const key of keys) {
    if (QUIET_FIELDS.has(key)) continue;
    const from = before[key];
    const to = after[key];
    if (JSON.stringify(from ?? null) === JSON.stringify(to ?? null)) continue;
    if (event.action === "create" && (to === "" || (Array.isArray(to) && !to.length))) continue;
    changes.push({ field: key, from, to, short: isShortScalar(from) && isShortScalar(to) });
  }
  return changes;
}

function hideHistory() {
  $("history").hidden = true;
  $("history-list").replaceChildren();
  delete $("history").dataset.claimId;
}

function renderHistory(events) {
  const list = $("history-list");
  list.replaceChildren();
  for (const event of events) {
    const li = document.createElement("li");
    li.className = "history-event";
    li.dataset.action = event.action;
    li.dataset.entity = event.entity;
    li.dataset.entityId = event.entity_id;
    const who = document.createElement("span");
    who.className = "history-user";
    who.textContent = event.user || "unknown user";
    const what = document.createElement("span");
    what.className = "history-what";
    const entity = event.entity === "evidence" ? `evidence #${event.entity_id}` : event.entity;
    what.textContent = ` ${ACTION_WORDS[event.action] || event.action} ${entity}`;
    const head = document.createElement("div");
    head.append(timeElement(event.at), " · ", who, what);
    li.append(head);
    const changes = changedFields(event);
    if (changes.length) {
      const ul = document.createElement("ul");
      ul.className = "history-changes";
      for (const change of changes) {
        const item = document.createElement("li");
        item.dataset.field = change.field;
        if (!change.short) item.textContent = change.field;
        else if (event.action === "create") item.textContent = `${change.field}: ${shown(change.to)}`;
        else item.textContent = `${change.field}: ${shown(change.from)} → ${shown(change.to)}`;
        ul.append(item);
      }
      li.append(ul);
    }
    list.append(li);
  }
}

async function loadHistory(claimId) {
  const section = $("history");
  section.hidden = false;
  section.dataset.claimId = claimId;
  delete section.dataset.loaded;
  $("history-status").textContent = "Loading…";
  $("history-list").replaceChildren();
  let result;
  try {
    result = await api("GET", `/api/v1/claims/${claimId}/history`);
  } catch {
    result = { ok: false, data: { error: "The history needs the server, which is unreachable." } };
  }
  if (section.dataset.claimId !== String(claimId)) return; // another claim was opened meanwhile
  if (!result.ok) {
    $("history-status").textContent = (result.data && result.data.error) || "Could not load the history";
    return;
  }
  $("history-status").textContent = result.data.length ? "" : "No recorded changes.";
  renderHistory(result.data);
  section.dataset.loaded = "true";
}

// ---------- deleted claims (managers): list and restore ----------

async function loadDeleted() {
  if (!canManage || !$("deleted-list")) return;
  const result = await api("GET", `/api/v1/documents/${documentId}/claims?deleted=true`);
  if (!result.ok) { setSaveStatus(result.data.error || "Could not load deleted claims"); return; }
  state.deleted = result.data;
  renderDeleted();
}

function renderDeleted() {
  const list = $("deleted-list");
  list.replaceChildren();
  $("deleted-count").textContent = `(${state.deleted.length})`;
  for (const claim of state.deleted) {
    const li = document.createElement("li");
    li.dataset.claimId = claim.id;
    const quote = document.createElement("span");
    quote.textContent = `“${shorten(claim.text, 90)}”`;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.append(`${stanceLabel[claim.stance] || claim.stance} · by ${claim.annotator} · deleted `);
    if (claim.deleted_at) meta.append(timeElement(claim.deleted_at));
    const button = document.createElement("button");
    button.type = "button";
    button.className = "restore";
    button.dataset.claimId = claim.id;
    button.textContent = "Restore";
    button.addEventListener("click", () => restoreClaim(claim.id, button));
    li.append(quote, meta, button);
    list.append(li);
  }
}

async function restoreClaim(id, button) {
  button.disabled = true;
  setSaveStatus("Restoring…");
  const result = await api("POST", `/api/v1/claims/${id}/restore`);
  if (!result.ok) {
    button.disabled = false;
    setSaveStatus((result.data && result.data.error) || "Could not restore");
    return;
  }
  await Promise.all([loadClaims(), loadDeleted()]);
  openClaim(id);
  setSaveStatus("Restored");
}

// ---------- overlapping claims: a small menu to pick one ----------

function showMenu(ids, x, y) {
  const menu = $("claim-menu");
  menu.replaceChildren();
  for (const id of ids) {
    const claim = findClaim(id);
    if (!claim) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.claimId = claim.id;
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.style.backgroundColor = stanceColor[claim.stance] || "#888888";
    const label = document.createElement("span");
    label.textContent = ` ${stanceLabel[claim.stance] || claim.stance}: “${shorten(claim.text, 60)}”`
      + (isMine(claim) ? "" : ` · by ${claim.annotator}`);
    button.append(chip, label);
    button.addEventListener("click", () => openClaim(claim.id));
    menu.append(button);
  }
  menu.style.left = `${x + 4}px`;
  menu.style.top = `${y + 8}px`;
  menu.hidden = false;
}

function hideMenu() { $("claim-menu").hidden = true; }

// ---------- events ----------

textEl.addEventListener("mouseup", (event) => {
  const selection = selectionOffsets();
  if (selection) {
    hideMenu();
    if (state.status === null) { setSaveStatus(NOT_ASSIGNED); return; } // the server says 403
    if (form.hidden || isReadOnly()) { openNew(selection); return; }
    state.lastSelection = selection;
    $("selection-quote").textContent = selection.text;
    $("selection-box").hidden = false;
    return;
  }
  const segment = event.target.closest(".seg");
  if (!segment) { hideMenu(); return; }
  const ids = segment.dataset.claims.split(" ").filter(Boolean);
  if (ids.length === 1) openClaim(ids[0]);
  else showMenu(ids, event.pageX, event.pageY);
});

document.addEventListener("mousedown", (event) => {
  if (!$("claim-menu").contains(event.target)) hideMenu();
});

$("use-selection-claim").addEventListener("click", () => {
  if (!state.lastSelection) return;
  Object.assign(state.draft, { start: state.lastSelection.start, end: state.lastSelection.end, text: state.lastSelection.text });
  showQuote();
});
$("use-selection-mention").addEventListener("click", () => {
  if (!state.lastSelection) return;
  state.draft.mention = { ...state.lastSelection };
  showQuote();
});
$("clear-mention").addEventListener("click", () => { if (state.draft) { state.draft.mention = null; showQuote(); } });
$("actor").addEventListener("input", updateNewActorHint);
$("add-evidence").addEventListener("click", () => addEvidence().querySelector(".ev-description").focus());
$("cancel-claim").addEventListener("click", cancelForm);
$("delete-claim").addEventListener("click", deleteClaim);
form.addEventListener("submit", (event) => { event.preventDefault(); saveClaim(); });
form.addEventListener("input", () => rememberDraft());
form.addEventListener("change", () => rememberDraft());
// Also what was set without an input event (a stance key, a mention, evidence removed); the
// tab is going away, so the next page on the document may take the draft over at once.
window.addEventListener("pagehide", () => rememberDraft(true));
// Back from the back-forward cache: at pagehide this page released its queue and draft, and
// another page may have taken them over since. It starts again from what is stored rather
// than send (or show) them a second time.
window.addEventListener("pageshow", (event) => { if (event.persisted) window.location.reload(); });

// Whether the open claim form holds something a user would not want dropped unseen: an
// existing claim changed, or a new one given more than its span.
function formHasWork() {
  if (form.hidden || !state.draft || isReadOnly()) return false;
  if (state.refusedDraft) return true;
  const payload = collectPayload();
  if (state.editing) return !sameClaimContent(state.editing, payload);
  return Boolean(payload.stance || payload.actor || payload.verdict || payload.note.trim()
    || payload.actor_mention || payload.evidence.length);
}

// Queued changes are sent by this document's page: it is left (or marked done) only once
// they are stored, so no edit waits behind in the browser for a page nobody reopens. An open
// claim form with unsaved work stops it too: marking the document done without that claim,
// or leaving it in a draft nobody comes back to, is not what the user meant.
async function settled() {
  for (let waited = 0; queue.pending && !queue.conflict && waited < 5000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!queue.pending && !queue.refused.length) {
    if (!formHasWork()) return true;
    setSaveStatus("Save or cancel the open claim first");
    form.querySelector('input:not([type="hidden"]), textarea')?.focus();
    return false;
  }
  if (!queue.pending) {
    // Stored, it would not be lost, but the document is not finished while it waits.
    setSaveStatus("A change the server refused is waiting: fix and save it, or drop it, before leaving");
    return false;
  }
  setSaveStatus(queue.conflict ? "Conflict: choose a version before leaving"
    : `Offline — ${queue.pending} ${queue.pending === 1 ? "change" : "changes"} waiting: stay on this page until they are saved`);
  return false;
}

async function go(url) { if (url && (await settled())) window.location.assign(url); }

async function markDone() {
  if (state.status === null) return;
  if (!(await settled())) return;
  setSaveStatus("Marking done…");
  const result = await api("PUT", `/api/v1/documents/${documentId}/status`, { status: "done" });
  if (!result.ok) { setSaveStatus(result.data.error || "Could not mark done"); return; }
  setStatus("done");
  go(result.data.next_document_id ? `/documents/${result.data.next_document_id}` : root.dataset.projectUrl);
}

$("mark-done").addEventListener("click", markDone);

async function joinDocument() {
  const result = await api("POST", `/api/v1/documents/${documentId}/join`);
  if (!result.ok) { setSaveStatus((result.data && result.data.error) || "Could not join"); return; }
  const started = await api("POST", `/api/v1/documents/${documentId}/start`);
  setStatus(started.ok ? started.data.status : result.data.status);
  setSaveStatus("You annotate this document now: select text to mark a claim");
}

$("join-document").addEventListener("click", joinDocument);

// ---------- skipping the document, with a reason ----------

const skipForm = $("skip-form");

function openSkip() {
  if (state.status === null) return;
  skipForm.hidden = false;
  $("skip-error").textContent = "";
  $("skip-reason").focus();
}

function closeSkip() {
  skipForm.hidden = true;
  $("skip-error").textContent = "";
}

async function skipDocument() {
  $("skip-error").textContent = "";
  if (!(await settled())) return;
  setSaveStatus("Skipping…");
  const result = await api("POST", `/api/v1/documents/${documentId}/skip`, { reason: $("skip-reason").value });
  if (!result.ok) {
    setSaveStatus("Not skipped");
    const body = result.data || {};
    const fields = Object.entries(body.fields || {}).map(([field, message]) => `${field}: ${message}`);
    $("skip-error").textContent = [body.error || `HTTP ${result.status}`, ...fields].join(" — ");
    $("skip-reason").focus();
    return;
  }
  setStatus("skipped");
  setSaveStatus("Skipped");
  go(result.data.next_document_id ? `/documents/${result.data.next_document_id}` : root.dataset.projectUrl);
}

$("skip-document").addEventListener("click", () => (skipForm.hidden ? openSkip() : closeSkip()));
$("skip-cancel").addEventListener("click", closeSkip);
skipForm.addEventListener("submit", (event) => { event.preventDefault(); skipDocument(); });
$("next-document").addEventListener("click", () => go(root.dataset.nextUrl));
$("previous-document").addEventListener("click", () => go(root.dataset.previousUrl));

// ---------- keyboard shortcuts, all defined in the label scheme ----------

const actions = {
  save: () => {
    if (!skipForm.hidden && skipForm.contains(document.activeElement)) skipForm.requestSubmit();
    else if (!form.hidden) form.requestSubmit();
  },
  cancel: () => {
    hideMenu();
    if (!skipForm.hidden && skipForm.contains(document.activeElement)) { closeSkip(); return; }
    if (form.hidden) return;
    // Dropping a refused change loses it for good: only its button does that, not a stray key.
    if (state.refusedDraft) { setSaveStatus("Fix this change and save it, or press Drop change"); return; }
    closeForm();
  },
  delete: () => { if (!form.hidden && state.editing) deleteClaim(); },
  add_evidence: () => { if (!form.hidden) addEvidence().querySelector(".ev-description").focus(); },
  mark_done: markDone,
  next_document: () => go(root.dataset.nextUrl),
  previous_document: () => go(root.dataset.previousUrl),
};
const actionNames = { save: "Save claim", cancel: "Cancel / close", delete: "Delete claim", add_evidence: "Add evidence", mark_done: "Mark done & next", next_document: "Next document", previous_document: "Previous document" };

// Keys that edit or move through text whatever the modifier (Ctrl+Delete deletes a word,
// Alt+ArrowLeft moves by a word on a Mac): in a text field they are the field's.
const TEXT_EDITING_KEYS = new Set(["Delete", "Backspace", "ArrowLeft", "ArrowRight", "ArrowUp",
  "ArrowDown", "Home", "End"]);

document.addEventListener("keydown", (event) => {
  // A focused radio button (a clicked stance) takes no typed text: the stance keys still apply.
  const typing = event.target.closest('input:not([type="radio"]), textarea, select');
  const inText = event.target.closest('input:not([type="radio"]):not([type="checkbox"]), textarea');
  const plain = !event.ctrlKey && !event.altKey && !event.metaKey;
  for (const [action, spec] of Object.entries(scheme.shortcuts || {})) {
    if (typing && plain && spec !== "Escape") continue; // plain keys belong to the field being typed in
    if (inText && TEXT_EDITING_KEYS.has(event.key)) continue;
    if (!matches(event, spec)) continue;
    event.preventDefault();
    // Escape in a field (say, to close the actor list) leaves the field first when the
    // form holds unsaved work: a second Escape cancels. One key should not drop typing. (A
    // refused change is never dropped by a key: cancel says so.)
    if (action === "cancel" && inText && form.contains(inText) && !state.refusedDraft
        && formHasWork()) {
      inText.blur();
      setSaveStatus("Press Escape again to discard this claim's changes");
      return;
    }
    actions[action]();
    return;
  }
  if (form.hidden || isReadOnly() || (typing && plain)) return;
  for (const stance of scheme.stances) {
    if (stance.key && matches(event, stance.key)) {
      event.preventDefault();
      form.querySelector(`input[name="stance"][value="${stance.value}"]`).checked = true;
      return;
    }
  }
  for (const verdict of scheme.verdicts) {
    if (verdict.key && matches(event, verdict.key)) { event.preventDefault(); $("verdict").value = verdict.value; return; }
  }
});

function renderShortcuts() {
  const list = $("shortcut-list");
  const add = (key, what) => {
    const dt = document.createElement("dt");
    const kbd = document.createElement("kbd");
    kbd.textContent = key;
    dt.append(kbd);
    const dd = document.createElement("dd");
    dd.textContent = what;
    list.append(dt, dd);
  };
  for (const [action, spec] of Object.entries(scheme.shortcuts || {})) add(spec, actionNames[action] || action);
  for (const s of scheme.stances) if (s.key) add(s.key, `Stance: ${s.label || s.value}`);
  for (const v of scheme.verdicts) if (v.key) add(v.key, `Verdict: ${v.label || v.value}`);
}

// ---------- loading ----------

function setStatus(status) {
  state.status = status || null;
  const el = $("doc-status");
  // Managers may open documents that are not assigned to them: nothing to finish or skip.
  el.textContent = status ? status.replace("_", " ") : "not assigned";
  el.className = `status status-${status || "none"}`;
  $("mark-done").hidden = !status;
  $("skip-document").hidden = !status;
  // Managers, adjudicators and admins may join a document's annotators (the API decides).
  $("join-document").hidden = Boolean(status);
  if (!status) closeSkip();
  $("hint").textContent = status ? ASSIGNED_HINT
    : "You are not assigned to this document: click a highlight to read a claim.";
}

async function loadClaims(request = api("GET", `/api/v1/documents/${documentId}/claims`)) {
  const result = await request;
  if (!result.ok) { setSaveStatus(result.data.error || "Could not load claims"); return; }
  state.server = new Map(result.data.map((c) => [String(c.id), c]));
  state.claims = viewClaims(); // changes still queued (from before a reload) show at once
  if (state.editing) state.editing = findClaim(state.editing.id);
  render();
}

async function load() {
  document.querySelectorAll(".chip[data-color]").forEach((chip) => { chip.style.backgroundColor = chip.dataset.color; });
  renderShortcuts();
  const claims = api("GET", `/api/v1/documents/${documentId}/claims`); // meanwhile
  const [doc, actors] = await Promise.all([
    api("GET", `/api/v1/documents/${documentId}`),
    api("GET", `/api/v1/projects/${projectId}/actors`),
  ]);
  if (!doc.ok) { setSaveStatus(doc.data.error || "Could not load the document"); return; }
  indexText(doc.data.text);
  state.view = new ArticleView(textEl, {
    text: state.text, codePoints: state.codePoints, cpToU16: state.cpToU16,
    colorOf: (stance) => stanceColor[stance] || "#888888",
    titleOf: (c) => `${stanceLabel[c.stance] || c.stance}${c.actor ? " · " + c.actor : ""}`,
  });
  setStatus(doc.data.status);
  if (doc.data.status === "todo") {
    // Opening the page changed nothing on the server (a GET): the page says it was opened.
    const started = await api("POST", `/api/v1/documents/${documentId}/start`);
    if (started.ok) setStatus(started.data.status);
  }
  state.actors = actors.ok ? actors.data : [];
  // A long list (1,000 claims) costs more style and layout than the article: it is filled
  // in just after the first frame, so the text is ready to annotate first.
  state.listDeferred = true;
  await Promise.all([loadClaims(claims), loadDeleted()]);
  showQueueState();
  // What was being typed when the page was left, then (once that form is closed) the
  // changes refused before a reload, with the server's errors.
  restoreDraft();
  openWaitingRefused();
  queue.pump();
  root.dataset.ready = "true";
  performance.mark("annotate-ready"); // bench/bench_longdoc.py reads these marks
  requestAnimationFrame(() => setTimeout(() => {
    state.listDeferred = false;
    renderClaimList();
    root.dataset.listReady = "true";
    performance.mark("claim-list-ready");
  }, 0));
}

// ---------- suggestions (suggestions.js): edit one before accepting, or reload after one ----------

root.addEventListener("opensuggestion", ({ detail }) => {
  if (state.status === null) { setSaveStatus(NOT_ASSIGNED); return; }
  openNew(detail);
  state.draft.mention = detail.mention;
  state.draft.suggestionId = detail.suggestionId;
  $("actor").value = detail.actor || "";
  updateNewActorHint();
  const radio = form.querySelector(`input[name="stance"][value="${CSS.escape(detail.stance)}"]`);
  if (radio) radio.checked = true;
  showQuote();
});
root.addEventListener("claimschanged", () => loadClaims());

load();
