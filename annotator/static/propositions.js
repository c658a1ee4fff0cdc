// The annotation page's proposition panel and its "evidence in another article" picker.
// annotate.js tells it which claim is open (claimformopen / claimformclose events on #annotate);
// everything else goes through the JSON API. Untrusted text only ever goes in by textContent.
import { api } from "./api.js";

const root = document.getElementById("annotate");
const projectId = Number(root.dataset.projectId);
const documentId = Number(root.dataset.documentId);
const panel = document.getElementById("proposition-panel");
const evidenceList = document.getElementById("evidence-list");

let open = null;      // { claim, mine } of the open claim
let loadToken = 0;    // answers for a claim that is no longer open are dropped

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function section(id) {
  let node = document.getElementById(id);
  if (!node) { node = el("div", { id }); panel.append(node); }
  node.replaceChildren();
  return node;
}

function setStatus(message) {
  section("proposition-status").append(el("p", { class: message ? "field-error" : "muted", role: "status" }, message));
}

function propositionLink(proposition) {
  return el("a", { href: `/propositions/${proposition.id}`, class: "proposition-link" }, proposition.text);
}

async function link(propositionId) {
  const result = await api("PUT", `/api/v1/claims/${open.claim.id}/proposition`, { proposition_id: propositionId });
  if (!result.ok) { setStatus(result.data.error || "Not linked"); return; }
  setStatus("");
  renderPanel(result.data);
}

async function unlink() {
  const result = await api("DELETE", `/api/v1/claims/${open.claim.id}/proposition`);
  if (!result.ok) { setStatus(result.data.error || "Not unlinked"); return; }
  await load();
}

async function createAndLink(text) {
  const created = await api("POST", `/api/v1/projects/${projectId}/propositions`, { text });
  if (!created.ok) { setStatus((created.data.fields || {}).text || created.data.error); return; }
  await link(created.data.id);
}

function renderSuggestions(list, linkedId) {
  const box = section("proposition-suggestions");
  const shown = list.filter((p) => p.id !== linkedId);
  if (!shown.length) { box.append(el("p", { class: "muted" }, "No similar propositions in this project.")); return; }
  const items = el("ol", { class: "proposition-suggestions" });
  for (const proposition of shown) {
    const item = el("li", { "data-proposition-id": String(proposition.id) });
    item.append(propositionLink(proposition));
    if (proposition.score != null) item.append(el("span", { class: "muted score" }, ` ${Math.round(proposition.score * 100)}%`));
    if (open.mine) {
      const button = el("button", { type: "button", class: "link-proposition" }, "Link");
      button.addEventListener("click", () => link(proposition.id));
      item.append(" ", button);
    }
    items.append(item);
  }
  box.append(items);
}

function renderPanel(data) {
  const linked = data.proposition;
  const current = section("proposition-current");
  if (linked) {
    current.append(el("span", {}, "States: "), propositionLink(linked));
    if (open.mine) {
      const button = el("button", { type: "button", id: "unlink-proposition", class: "link" }, "unlink");
      button.addEventListener("click", unlink);
      current.append(" ", button);
    }
  } else {
    current.append(el("span", { class: "muted" }, "Not linked to a proposition."));
  }
  renderSuggestions(data.suggestions, linked ? linked.id : null);
  const tools = section("proposition-tools");
  if (!open.mine) return;
  const search = el("input", { type: "search", id: "proposition-search", placeholder: "Find a proposition…", "aria-label": "Find a proposition" });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = search.value.trim() || open.claim.text;
      const found = await api("GET", `/api/v1/projects/${projectId}/propositions?similar_to=${encodeURIComponent(query)}`);
      if (found.ok) renderSuggestions(found.data, linked ? linked.id : null);
    }, 200);
  });
  const text = el("textarea", { id: "new-proposition-text", rows: "2", maxlength: "5000", "aria-label": "New proposition" });
  text.value = open.claim.text;
  const create = el("button", { type: "button", id: "create-proposition" }, "New proposition from this text");
  create.addEventListener("click", () => createAndLink(text.value.trim()));
  const all = el("a", { href: panel.dataset.propositionsUrl }, "All propositions");
  tools.append(search, text, create, el("p", {}, ""), all);
}

async function load() {
  const token = ++loadToken;
  setStatus("");
  const result = await api("GET", `/api/v1/claims/${open.claim.id}/proposition`);
  if (token !== loadToken || !open) return;
  if (!result.ok) { setStatus(result.data.error || "Could not load the proposition"); return; }
  renderPanel(result.data);
}

root.addEventListener("claimformopen", (event) => {
  const { claim, mine } = event.detail;
  // A new claim (or one still queued for saving) has no id yet: link it once it is saved.
  if (!claim || typeof claim.id !== "number") { open = null; panel.hidden = true; return; }
  open = { claim, mine };
  panel.hidden = false;
  load();
});

root.addEventListener("claimformclose", () => { open = null; loadToken++; panel.hidden = true; });

// ---------- evidence in another article ----------

let documentsCache = null;

async function projectDocuments() {
  if (!documentsCache) {
    const result = await api("GET", `/api/v1/projects/${projectId}/documents`);
    documentsCache = result.ok ? result.data.filter((d) => d.id !== documentId) : [];
  }
  return documentsCache;
}

// Code point offsets of the selection inside `pre` (one text node), or null.
function previewSelection(pre) {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
  const range = selection.getRangeAt(0);
  const node = pre.firstChild;
  if (!node || range.startContainer !== node || range.endContainer !== node) return null;
  const text = node.textContent;
  const start = Array.from(text.slice(0, range.startOffset)).length;
  const end = start + Array.from(text.slice(range.startOffset, range.endOffset)).length;
  return { start, end, text: text.slice(range.startOffset, range.endOffset) };
}

async function openPicker(item) {
  let picker = item.querySelector(".ev-other-picker");
  if (picker) { picker.remove(); return; }
  picker = el("div", { class: "ev-other-picker" });
  const choose = el("select", { class: "ev-other-document", "aria-label": "Article" });
  choose.append(el("option", { value: "" }, "— choose an article —"));
  for (const doc of await projectDocuments()) {
    choose.append(el("option", { value: String(doc.id) }, doc.title || doc.external_id));
  }
  const preview = el("pre", { class: "ev-other-preview doc-text" });
  const use = el("button", { type: "button", class: "ev-other-use" }, "Use selection from this article");
  const error = el("p", { class: "field-error" });
  choose.addEventListener("change", async () => {
    preview.textContent = "";
    if (!choose.value) return;
    const result = await api("GET", `/api/v1/documents/${choose.value}`);
    if (result.ok) preview.textContent = result.data.text; else error.textContent = result.data.error;
  });
  use.addEventListener("click", () => {
    const span = previewSelection(preview);
    if (!choose.value || !span) { error.textContent = "Choose an article and select the evidence text in it."; return; }
    delete item.dataset.withheld;
    Object.assign(item.dataset, { documentId: choose.value, start: span.start, end: span.end, text: span.text });
    showElsewhere(item, choose.selectedOptions[0].textContent);
    picker.remove();
  });
  picker.append(choose, preview, use, error);
  item.querySelector(".ev-span").after(picker);
}

function showElsewhere(item, title) {
  if (!item.dataset.withheld) item.querySelector(".ev-quote").textContent = item.dataset.text;
  let where = item.querySelector(".ev-elsewhere");
  if (!where) { where = el("span", { class: "ev-elsewhere muted" }); item.querySelector(".ev-quote").after(where); }
  where.textContent = ` (in ${title})`;
}

function enhance(item) {
  if (item.querySelector(".ev-other-article")) return;
  const button = el("button", { type: "button", class: "ev-other-article" }, "Span in another article…");
  button.disabled = item.closest("form")?.classList.contains("readonly") || false;
  button.addEventListener("click", () => openPicker(item));
  item.querySelector(".ev-span").append(" ", button);
  if (item.dataset.documentId && Number(item.dataset.documentId) !== documentId) {
    projectDocuments().then((docs) => {
      const doc = docs.find((d) => d.id === Number(item.dataset.documentId));
      showElsewhere(item, doc ? doc.title || doc.external_id : `article #${item.dataset.documentId}`);
    });
  }
  // Choosing a span in this article (annotate.js) drops the other article's label.
  item.querySelector(".ev-use-selection").addEventListener("click", () => item.querySelector(".ev-elsewhere")?.remove());
  item.querySelector(".ev-clear-span").addEventListener("click", () => item.querySelector(".ev-elsewhere")?.remove());
}

new MutationObserver((records) => {
  for (const record of records) {
    record.addedNodes.forEach((node) => { if (node.classList?.contains("evidence-item")) enhance(node); });
  }
}).observe(evidenceList, { childList: true });
