// The review page: the article once, every annotator's claims aligned to it in stacked lanes
// (one per annotator, then the gold lane), the units with their differences, and the
// decisions that make gold claims. Offsets from the server are Unicode code points; the DOM
// counts UTF-16 code units, so rendering converts (as annotate.js does). All text goes into
// the page through textContent: article text, notes, actor and user names are untrusted.
import { api } from "./api.js";
import { CONFLICT_FIELDS, changesFrom, renderConflict, valuesOf } from "./conflicts.js";

const root = document.getElementById("review");
const documentId = Number(root.dataset.documentId);
const projectId = Number(root.dataset.projectId);
const data = JSON.parse(document.getElementById("review-data").textContent);
const scheme = data.scheme;

const $ = (id) => document.getElementById(id);
const textEl = $("text");

const CODER_COLORS = ["#2b83ba", "#d7191c", "#1a9641", "#e08214", "#7a5af8", "#c51b7d", "#01665e", "#8c510a"];
const GOLD_COLOR = "#b8860b";
const LANE_PX = 5;   // one lane: a 3px stripe and a 2px gap
const STRIPE_PX = 3;

// What each difference kind is called on a badge, and which row of a unit's table it concerns.
const DIFF_LABELS = {
  missing: "only some marked", boundaries: "boundaries", actor: "actor",
  stance: "stance", verdict: "verdict", evidence: "evidence",
};
const ROWS = [
  { field: "text", label: "Span", diff: "boundaries" },
  { field: "actor", label: "Actor", diff: "actor" },
  { field: "stance", label: "Stance", diff: "stance" },
  { field: "verdict", label: "Verdict", diff: "verdict" },
  { field: "evidence", label: "Evidence", diff: "evidence" },
  { field: "note", label: "Note", diff: null },
];
const STATUS_WORDS = { none: "review not started", open: "review open", done: "review done" };

const labels = (items) => Object.fromEntries((items || []).map((x) => [x.value, x.label || x.value]));
const stanceLabel = labels(scheme.stances);
const verdictLabel = labels(scheme.verdicts);
const typeLabel = labels(scheme.evidence_types);
const relationLabel = labels(scheme.evidence_relations);
const conflictLabels = { stance: stanceLabel, verdict: verdictLabel, type: typeLabel, relation: relationLabel };
const LABEL_FIELDS = ["actor", "stance", "verdict", "note"];

const state = {
  text: "",
  codePoints: [],
  cpToU16: null,
  review: null,       // GET /api/v1/documents/{id}/review
  actors: data.actors || [],
  selected: null,     // index of the selected unit
  busy: false,
  loads: 0,
};

// ---------- server ----------

function errorText(result) {
  const body = result.data || {};
  const fields = Object.entries(body.fields || {}).map(([field, message]) => `${field}: ${message}`);
  return [body.error || `HTTP ${result.status}`, ...fields].join(" — ");
}

function say(message, isError = false) {
  const el = $("review-message");
  el.textContent = message;
  el.classList.toggle("error", isError);
  root.dataset.message = message;
}

// ---------- offsets ----------

function indexText(text) {
  const codePoints = Array.from(text);
  const cpToU16 = new Int32Array(codePoints.length + 1);
  let u = 0;
  codePoints.forEach((ch, i) => { cpToU16[i] = u; u += ch.length; });
  cpToU16[codePoints.length] = u;
  Object.assign(state, { text, codePoints, cpToU16 });
}

function shorten(text, max) {
  const points = Array.from(String(text));
  return points.length > max ? points.slice(0, max).join("") + "…" : points.join("");
}

// ---------- small builders ----------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function button(text, className, onClick) {
  const node = el("button", className, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function chip(color) {
  const node = el("span", "chip");
  node.style.backgroundColor = color;
  return node;
}

// ---------- lanes ----------

function lanes() {
  const coders = state.review.coders;
  return [
    ...coders.map((name, i) => ({ name, color: CODER_COLORS[i % CODER_COLORS.length], gold: false })),
    { name: "gold", color: GOLD_COLOR, gold: true },
  ];
}

function coderColor(name) {
  const i = state.review.coders.indexOf(name);
  return i < 0 ? "#888888" : CODER_COLORS[i % CODER_COLORS.length];
}

function renderLegend() {
  const list = $("legend");
  list.replaceChildren();
  lanes().forEach((lane, i) => {
    const li = el("li", lane.gold ? "lane gold" : "lane");
    li.dataset.lane = i;
    li.append(chip(lane.color), el("span", null, lane.gold ? "gold" : lane.name));
    list.append(li);
  });
  list.prepend(el("li", "muted", "Lanes under the text, top to bottom:"));
}

// The article once, cut where any claim starts or ends; each piece carries a stripe for
// every lane (annotator, then gold) that has a claim over it.
function renderText() {
  const review = state.review;
  const laneList = lanes();
  const goldLane = laneList.length - 1;
  const items = [];
  review.units.forEach((unit, u) => {
    for (const [coder, claim] of Object.entries(unit.claims)) {
      items.push({ start: claim.start, end: claim.end, lane: review.coders.indexOf(coder), unit: u, id: claim.id, gold: false });
    }
  });
  for (const claim of review.gold) {
    items.push({ start: claim.start, end: claim.end, lane: goldLane, unit: null, id: claim.id, gold: true });
  }
  const bounds = new Set([0, state.codePoints.length]);
  for (const item of items) { bounds.add(item.start); bounds.add(item.end); }
  const points = [...bounds].sort((a, b) => a - b);
  const padding = laneList.length * LANE_PX;
  textEl.style.lineHeight = `calc(1.7em + ${padding}px)`;
  const fragment = document.createDocumentFragment();
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const piece = state.text.slice(state.cpToU16[a], state.cpToU16[b]);
    const covering = items.filter((item) => item.start <= a && item.end >= b);
    if (!covering.length) { fragment.append(document.createTextNode(piece)); continue; }
    const span = el("span", "seg", piece);
    span.dataset.start = a;
    span.dataset.end = b;
    const units = [...new Set(covering.filter((c) => !c.gold).map((c) => c.unit))];
    const usedLanes = [...new Set(covering.map((c) => c.lane))].sort((x, y) => x - y);
    span.dataset.units = units.join(" ");
    span.dataset.lanes = usedLanes.join(" ");
    span.dataset.claims = covering.filter((c) => !c.gold).map((c) => c.id).join(" ");
    span.dataset.gold = covering.filter((c) => c.gold).map((c) => c.id).join(" ");
    if (units.some((u) => !review.units[u].agreed)) span.classList.add("differs");
    else if (units.length) span.classList.add("agreed");
    if (units.length && units.every((u) => review.units[u].decided)) span.classList.add("decided");
    if (!units.length) span.classList.add("gold-only");
    if (state.selected !== null && units.includes(state.selected)) span.classList.add("selected");
    const stripes = [], positions = [];
    for (const lane of usedLanes) {
      const color = laneList[lane].color;
      stripes.push(`linear-gradient(${color}, ${color})`);
      positions.push(`0 calc(100% - ${(laneList.length - 1 - lane) * LANE_PX}px)`);
    }
    span.style.backgroundImage = stripes.join(", ");
    span.style.backgroundSize = stripes.map(() => `100% ${STRIPE_PX}px`).join(", ");
    span.style.backgroundPosition = positions.join(", ");
    span.style.paddingBottom = `${padding}px`;
    span.title = usedLanes.map((lane) => laneList[lane].gold ? "gold" : laneList[lane].name).join(", ")
      + (units.length ? ` · unit ${units.map((u) => u + 1).join(", ")}` : "");
    fragment.append(span);
  }
  textEl.replaceChildren(fragment);
}

function selectUnit(index, scroll = true) {
  state.selected = index;
  document.querySelectorAll("#units > li.unit").forEach((li) => {
    li.classList.toggle("selected", Number(li.dataset.unit) === index);
  });
  textEl.querySelectorAll(".seg").forEach((seg) => {
    const units = seg.dataset.units.split(" ").filter(Boolean).map(Number);
    seg.classList.toggle("selected", units.includes(index));
  });
  const li = $(`unit-${index}`);
  if (li && scroll) li.scrollIntoView({ block: "nearest" });
}

textEl.addEventListener("click", (event) => {
  if (!window.getSelection().isCollapsed) return; // reading, not choosing
  const seg = event.target.closest(".seg");
  if (!seg) return;
  const units = seg.dataset.units.split(" ").filter(Boolean).map(Number);
  if (!units.length) return;
  // Where several units overlap, each click takes the next one.
  const at = units.indexOf(state.selected);
  selectUnit(units[(at + 1) % units.length]);
});

// ---------- the units ----------

function evidenceText(items) {
  if (!items || !items.length) return "none";
  return items.map((e) => {
    const parts = [`${relationLabel[e.relation] || e.relation} · ${typeLabel[e.type] || e.type}`];
    if (e.text) parts.push(`“${shorten(e.text, 60)}”`);
    if (e.description) parts.push(shorten(e.description, 60));
    return parts.join(" ");
  }).join("; ");
}

function cellContent(field, claim) {
  switch (field) {
    case "text": {
      const frag = document.createDocumentFragment();
      frag.append(el("q", null, shorten(claim.text, 240)), " ", el("span", "offsets", `[${claim.start}, ${claim.end})`));
      return frag;
    }
    case "actor": return claim.actor || "—";
    case "stance": return stanceLabel[claim.stance] || claim.stance;
    case "verdict": return claim.verdict ? verdictLabel[claim.verdict] || claim.verdict : "—";
    case "evidence": return evidenceText(claim.evidence);
    case "note": return claim.note || "—";
    default: return "";
  }
}

function goldById(id) { return state.review.gold.find((g) => g.id === id); }

function goldSummary(gold) {
  const parts = [`#${gold.id}`, `“${shorten(gold.text, 80)}”`, gold.actor || "no actor",
    stanceLabel[gold.stance] || gold.stance];
  if (gold.verdict) parts.push(verdictLabel[gold.verdict] || gold.verdict);
  return parts.join(" · ");
}

function renderUnits() {
  const review = state.review;
  const list = $("units");
  list.replaceChildren();
  review.units.forEach((unit, index) => list.append(renderUnit(unit, index)));
  if (!review.units.length) list.append(el("li", "muted", "No annotator marked a claim on this document."));
}

function renderUnit(unit, index) {
  const review = state.review;
  // [[coder, claim]] in the order of the document's coders (the columns), not of the spans
  const versions = review.coders.filter((c) => unit.claims[c]).map((c) => [c, unit.claims[c]]);
  const li = el("li", "unit");
  li.id = `unit-${index}`;
  li.dataset.unit = index;
  li.dataset.claimIds = unit.claim_ids.join(" ");
  li.dataset.differences = unit.differences.join(" ");
  li.dataset.decided = unit.decided ? "true" : "false";
  li.classList.add(unit.agreed ? "agreed" : "differs");
  if (unit.decided) li.classList.add("decided");
  if (state.selected === index) li.classList.add("selected");

  const head = el("div", "unit-head");
  const title = button(`Unit ${index + 1}`, "link unit-title", () => {
    selectUnit(index, false);
    const seg = textEl.querySelector(`.seg[data-units~="${index}"]`);
    if (seg) seg.scrollIntoView({ block: "center" });
  });
  const badges = el("span", "badges");
  if (unit.agreed) badges.append(Object.assign(el("span", "badge agreed", "agreed"), { title: "Every annotator marked it exactly alike" }));
  for (const kind of unit.differences) {
    const badge = el("span", `badge diff diff-${kind}`, DIFF_LABELS[kind] || kind);
    badge.dataset.diff = kind;
    badges.append(badge);
  }
  if (unit.decided) badges.append(el("span", "badge decided", "decided"));
  head.append(title, " ", badges);
  li.append(head);

  // The versions side by side: one column per annotator of the document.
  const table = el("table", "versions");
  const thead = el("thead");
  const headRow = el("tr");
  headRow.append(el("th"));
  for (const coder of review.coders) {
    const th = el("th");
    th.dataset.coder = coder;
    th.append(chip(coderColor(coder)), ` ${coder}`);
    const claim = unit.claims[coder];
    if (claim && unit.rejected.includes(claim.id)) th.append(" ", el("span", "badge rejected", "rejected"));
    headRow.append(th);
  }
  thead.append(headRow);
  const tbody = el("tbody");
  for (const row of ROWS) {
    const tr = el("tr");
    tr.dataset.field = row.field;
    const differs = row.diff && unit.differences.includes(row.diff);
    if (differs) tr.classList.add("differs");
    tr.append(el("th", null, row.label));
    for (const coder of review.coders) {
      const claim = unit.claims[coder];
      const td = el("td");
      td.dataset.coder = coder;
      if (!claim) {
        td.className = "absent";
        td.textContent = row.field === "text" ? "not marked" : "";
      } else {
        td.append(cellContent(row.field, claim));
        if (differs) td.classList.add("differs");
      }
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  const scroller = el("div", "versions-scroll");
  scroller.append(table);
  li.append(scroller);

  // What was decided so far.
  if (unit.gold_ids.length || unit.rejected.length) {
    const decision = el("div", "decision");
    for (const id of unit.gold_ids) {
      const gold = goldById(id);
      const p = el("p", "decision-gold");
      p.dataset.goldId = id;
      p.append(chip(GOLD_COLOR), ` Gold ${gold ? goldSummary(gold) : `#${id}`}`);
      decision.append(p);
    }
    if (unit.rejected.length) {
      const whose = versions.filter(([, c]) => unit.rejected.includes(c.id)).map(([coder]) => `${coder}'s`);
      const p = el("p", "decision-rejected",
        unit.rejected.length === unit.claim_ids.length ? "rejected" : `rejected: ${whose.join(", ")}`);
      // A rejection is one click with no confirmation, so it must be as easy to take back.
      const undo = button("Undo reject", "unreject", () => act(
        "POST", `/api/v1/documents/${documentId}/unreject`, { claim_ids: unit.rejected },
        "Rejection undone: the unit is open again"));
      decision.append(p, undo);
    }
    li.append(decision);
  }
  if (!unit.decided) li.append(renderActions(unit, versions));
  return li;
}

function renderActions(unit, versions) {
  const box = el("div", "unit-actions");
  const row = el("div", "action-row");
  for (const [coder, claim] of versions) {
    const accept = button(`Accept ${coder}'s`, "accept", () => act(
      "POST", `/api/v1/documents/${documentId}/gold`,
      { accept: claim.id, also: unit.claim_ids.filter((id) => id !== claim.id) },
      `Accepted ${coder}'s version`));
    accept.dataset.claimId = claim.id;
    accept.dataset.coder = coder;
    row.append(accept);
  }
  const edit = button("Edit…", "edit", () => openEdit(box, unit, versions));
  const reject = button("Reject", "danger reject", () => act(
    "POST", `/api/v1/documents/${documentId}/reject`, { claim_ids: unit.claim_ids }, "Rejected"));
  row.append(edit, reject);
  box.append(row);
  if (versions.length > 1) {
    const merge = el("div", "merge action-row");
    const select = (className, chosen) => {
      const node = el("select", className);
      for (const [coder, claim] of versions) {
        const option = el("option", null, coder);
        option.value = claim.id;
        node.append(option);
      }
      node.selectedIndex = chosen;
      return node;
    };
    const spanFrom = select("merge-span", 0);
    const fieldsFrom = select("merge-fields", 1);
    const spanLabel = el("label", null, "Merge: span from ");
    spanLabel.append(spanFrom);
    const fieldsLabel = el("label", null, " + labels from ");
    fieldsLabel.append(fieldsFrom);
    const go = button("Merge", "merge-button", () => {
      const span = versions.find(([, c]) => String(c.id) === spanFrom.value);
      const fields = versions.find(([, c]) => String(c.id) === fieldsFrom.value);
      act("POST", `/api/v1/documents/${documentId}/gold`,
        { span_from: Number(spanFrom.value), fields_from: Number(fieldsFrom.value) },
        `Merged: span from ${span[0]}, labels from ${fields[0]}`);
    });
    merge.append(spanLabel, fieldsLabel, " ", go);
    box.append(merge);
  }
  return box;
}

// ---------- edit forms: a unit's version into gold, or a gold claim ----------

function editForm(hint) {
  const form = $("edit-template").content.firstElementChild.cloneNode(true);
  form.querySelector(".edit-hint").textContent = hint;
  form.querySelector(".cancel").addEventListener("click", () => form.remove());
  return form;
}

function fill(form, claim) {
  form.elements.actor.value = claim.actor || "";
  form.elements.stance.value = claim.stance;
  form.elements.verdict.value = claim.verdict || "";
  form.elements.note.value = claim.note || "";
}

function labelsOf(form) {
  return {
    actor: form.elements.actor.value.trim() || null,
    stance: form.elements.stance.value,
    verdict: form.elements.verdict.value || null,
    note: form.elements.note.value,
  };
}

function closeForms() { document.querySelectorAll("form.edit-form").forEach((f) => f.remove()); }

function openEdit(box, unit, versions) {
  closeForms();
  const form = editForm("Span, actor mention and evidence come from the chosen version.");
  const from = form.elements.from;
  for (const [coder, claim] of versions) {
    const option = el("option", null, `${coder}'s version`);
    option.value = claim.id;
    from.append(option);
  }
  const chosen = () => versions.find(([, c]) => String(c.id) === from.value)[1];
  from.addEventListener("change", () => fill(form, chosen()));
  fill(form, chosen());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const source = chosen();
    const claim = {
      start: source.start, end: source.end, text: source.text,
      actor_mention: source.actor_mention
        ? { start: source.actor_mention.start, end: source.actor_mention.end, text: source.actor_mention.text } : null,
      // a new claim's evidence items have no ids yet
      evidence: source.evidence.map((item) => Object.fromEntries(Object.entries(item).filter(([k]) => k !== "id"))),
      ...labelsOf(form),
    };
    if (!(await ensureActor(claim.actor, form))) return;
    await act("POST", `/api/v1/documents/${documentId}/gold`, { claim, sources: unit.claim_ids },
      "Saved the edited gold claim", form,
      (current, answer) => showSettledConflict(unit, claim, current, answer));
  });
  box.append(form);
  form.elements.stance.focus();
}

function openGoldEdit(li, gold) {
  closeForms();
  const form = editForm("Span and evidence stay as they are.");
  form.querySelector(".edit-from").hidden = true;
  form.querySelector(".save").textContent = "Save";
  fill(form, gold);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const labels = labelsOf(form);
    if (!(await ensureActor(labels.actor, form))) return;
    await act("PATCH", `/api/v1/claims/${gold.id}`, { version: gold.version, ...labels },
      `Saved gold claim #${gold.id}`, form, (current) => showGoldConflict(gold, labels, current));
  });
  li.append(form);
  form.elements.stance.focus();
}

function findActor(name) {
  return state.actors.find((a) => a.name === name || (a.aliases || []).includes(name));
}

function renderActorList() {
  $("actor-list").replaceChildren(...state.actors.map((a) => Object.assign(el("option"), { value: a.name })));
}

// A name that is no actor of the project yet becomes one, as on the annotation page.
async function ensureActor(name, form) {
  if (!name || findActor(name)) return true;
  const result = await api("POST", `/api/v1/projects/${projectId}/actors`, { name });
  if (!result.ok) {
    form.querySelector(".edit-error").textContent = errorText(result);
    return false;
  }
  state.actors.push(result.data);
  renderActorList();
  return true;
}

// ---------- gold claims ----------

function sourceText(gold) {
  const owners = {};
  for (const unit of state.review.units) {
    for (const [coder, claim] of Object.entries(unit.claims)) owners[claim.id] = coder;
  }
  return (gold.sources || []).map((id) => (owners[id] ? `${owners[id]} #${id}` : `#${id}`)).join(", ");
}

function renderGold() {
  const list = $("gold-list");
  list.replaceChildren();
  const gold = state.review.gold;
  $("gold-count").textContent = `(${gold.length})`;
  if (!gold.length) { list.append(el("li", "muted", "None yet: accept, merge or edit a unit's versions.")); return; }
  for (const claim of gold) {
    const li = el("li", "gold-claim");
    li.dataset.claimId = claim.id;
    li.dataset.version = claim.version;
    const quote = el("span", "quote", `“${shorten(claim.text, 120)}”`);
    const parts = [claim.actor || "no actor", stanceLabel[claim.stance] || claim.stance];
    if (claim.verdict) parts.push(verdictLabel[claim.verdict] || claim.verdict);
    parts.push(`${claim.evidence.length} evidence`);
    const meta = el("span", "meta", parts.join(" · "));
    const sources = el("span", "meta sources", `#${claim.id} · from ${sourceText(claim) || "no claims"} · by ${claim.annotator}`);
    const note = claim.note ? el("span", "meta note", `Note: ${claim.note}`) : null;
    const actions = el("span", "gold-actions");
    actions.append(
      button("Edit", "edit-gold", () => openGoldEdit(li, claim)),
      button("Delete", "danger delete-gold", () => act(
        "DELETE", `/api/v1/claims/${claim.id}?version=${claim.version}`, undefined,
        `Deleted gold claim #${claim.id}`, null, (current) => showGoldConflict(claim, null, current))),
    );
    li.append(chip(GOLD_COLOR), " ", quote, meta, sources);
    if (note) li.append(note);
    li.append(actions);
    list.append(li);
  }
}

// ---------- conflicts: a save met a gold claim newer than the page ----------

// Boxes waiting for the reader's choice, by key, with the place each belongs (host()). A
// reload draws the lists anew and the boxes are put back after it: an unsaved version, and
// the choices made in its box, stay on screen until the reader chooses.
const heldConflicts = new Map();

function placeConflict({ box, host }) {
  const at = host();
  if (at) at.append(box);
  else $("units").before(box);
}

function dropConflict(key) {
  const held = heldConflicts.get(key);
  if (held) held.box.remove();
  heldConflicts.delete(key);
}

// Both versions side by side, and nothing is written until the reader chooses. Keeping mine
// writes it onto the stored gold claim `theirs` on the version shown, so a still newer change
// meets the same choice again. spec: key (one box each), host, className, mine (the unsaved
// version), deleting (mine is a delete), writable (the fields mine may change), fields (the
// rows shown), title(theirs) (the box's opening line, when not a stale edit), message,
// reload (show the page as stored behind the box).
async function offerConflict(spec, theirs) {
  const { key, mine, deleting = false } = spec;
  closeForms();
  dropConflict(key);
  const box = el("div", `conflict ${spec.className}`);
  heldConflicts.set(key, { box, host: spec.host });
  placeConflict(heldConflicts.get(key));
  const url = `/api/v1/claims/${theirs.id}`;
  renderConflict(box, {
    mine, theirs, deleting, labels: conflictLabels, fields: spec.fields,
    title: spec.title && spec.title(theirs),
    onChoose: async (choice, merged) => {
      dropConflict(key);
      await idle(); // a choice made while another action is on its way waits for it
      const chosen = choice === "merge" ? { ...mine, ...merged } : mine;
      const changes = changesFrom(chosen, theirs, spec.writable);
      if (choice === "theirs" || (!deleting && !Object.keys(changes).length)) {
        await load();
        say(choice === "theirs" ? `Kept gold claim #${theirs.id} as stored`
          : `Gold claim #${theirs.id} already is as you chose`);
      } else if (deleting) {
        await act("DELETE", `${url}?version=${theirs.version}`, undefined,
          `Deleted gold claim #${theirs.id}`, null, (newer) => offerConflict(spec, newer));
      } else {
        const result = await act("PATCH", url, { version: theirs.version, ...changes },
          `Saved gold claim #${theirs.id}`, null, (newer) => offerConflict({ ...spec, mine: chosen }, newer));
        if (result && !result.ok && result.status !== 409) {
          // Not written, and no newer version to choose against: the chosen version must not
          // go with the box. The settling gold claim deleted meanwhile (404) leaves the unit
          // open: the chosen version is saved as its gold claim; anything else shows the box
          // again, under the server's answer.
          if (result.status === 404 && spec.whenGone) await spec.whenGone(chosen);
          else {
            const message = $("review-message").textContent;
            await offerConflict({ ...spec, mine: chosen, reload: false }, theirs);
            say(message, true);
          }
        }
      }
    },
  });
  say(spec.message, true);
  if (spec.reload) await load();
}

// Another adjudicator changed the gold claim since this page loaded it. `labels` is the
// unsaved edit (its span and evidence stay as stored), or null for a delete.
function showGoldConflict(gold, labels, current) {
  return offerConflict({
    key: `gold-${gold.id}`, className: "gold-conflict",
    host: () => $("gold-list").querySelector(`li.gold-claim[data-claim-id="${gold.id}"]`),
    mine: { ...gold, ...labels }, deleting: !labels,
    writable: LABEL_FIELDS, fields: ["span", ...LABEL_FIELDS],
    message: "Someone changed this gold claim since the page loaded: choose which version to keep.",
  }, current);
}

function unitHolding(claimIds) {
  return claimIds.map((id) => $("units").querySelector(`li.unit[data-claim-ids~="${id}"]`))
    .find(Boolean) || null;
}

// Another adjudicator settled the unit while this reader wrote a gold claim for it in the
// Edit… form (POST …/gold answered 409 naming their gold claim): the typed claim is kept
// next to theirs, and may be written onto it whole, field by field, or dropped. The unit's
// claims may have been settled apart, by several gold claims (`answer.settled_by`): the box
// compares with the first and names the others, which keeping mine leaves in place.
function showSettledConflict(unit, claim, current, answer = {}) {
  const others = (answer.settled_by || []).filter((id) => id !== current.id);
  const also = others.length
    ? ` Gold claim${others.length > 1 ? "s" : ""} ${others.map((id) => `#${id}`).join(", ")} `
      + `also settle${others.length > 1 ? "" : "s"} part of this unit and stay`
      + `${others.length > 1 ? "" : "s"} as stored: delete ${others.length > 1 ? "them" : "it"} `
      + "in the gold list if yours replaces it."
    : "";
  const named = [current.id, ...others].map((id) => `#${id}`).join(", ");
  return offerConflict({
    key: `unit-${unit.claim_ids.join("-")}`, className: "settled-conflict",
    host: () => unitHolding(unit.claim_ids),
    mine: claim, writable: CONFLICT_FIELDS.map((spec) => spec.field),
    title: (theirs) => `Gold claim #${theirs.id} settled this unit after the page loaded, `
      + `so your gold claim was not saved. Keep mine writes yours onto #${theirs.id}; `
      + `Take theirs discards yours.${also}`,
    message: `Someone settled this unit meanwhile (gold claim${others.length ? "s" : ""} `
      + `${named}): choose which version to keep.`,
    reload: true,
    // Their gold claim was deleted meanwhile: the unit is open again, for the chosen version.
    whenGone: (chosen) => act("POST", `/api/v1/documents/${documentId}/gold`,
      { claim: goldPayload(chosen), sources: unit.claim_ids }, "Saved the edited gold claim",
      null, (newer, again) => showSettledConflict(unit, chosen, newer, again)),
  }, current);
}

// A version shown in a conflict box as a new gold claim's payload (evidence without ids).
function goldPayload(version) {
  const claim = valuesOf(version);
  const mention = claim.actor_mention;
  claim.actor_mention = mention ? { start: mention.start, end: mention.end, text: mention.text } : null;
  claim.evidence = (claim.evidence || []).map((item) => Object.fromEntries(
    Object.entries(item).filter(([k]) => k !== "id")));
  return claim;
}

// ---------- the toolbar ----------

function renderToolbar() {
  const review = state.review;
  const status = review.status;
  const badge = $("review-state");
  badge.textContent = STATUS_WORDS[status] || status;
  badge.className = `status review-${status}`;
  badge.dataset.status = status;
  $("mark-done").hidden = status === "done";
  $("reopen").hidden = status !== "done";
  const agreed = review.units.filter((u) => u.agreed && !u.decided).length;
  const accept = $("accept-agreed");
  accept.disabled = agreed === 0;
  accept.textContent = `Accept all agreed (${agreed})`;
  const unfinished = review.unfinished || [];
  $("unit-count").textContent = `${review.units.length} unit(s) · ${review.open_units} open`
    + (unfinished.length ? ` · not finished: ${unfinished.join(", ")}` : "");
  $("units-summary").textContent = `(${review.units.length})`;
}

$("accept-agreed").addEventListener("click", () => act(
  "POST", `/api/v1/documents/${documentId}/gold/accept-agreed`, undefined,
  (body) => `Accepted ${body.accepted} agreed unit(s)`));
// Unfinished annotators warn, they do not block: a claim they add later opens the review
// again. Open units block (the server answers 409 with their count).
$("mark-done").addEventListener("click", () => {
  const unfinished = state.review.unfinished || [];
  if (unfinished.length && !window.confirm(
    `${unfinished.join(", ")} ${unfinished.length > 1 ? "have" : "has"} not finished this document. `
    + "Mark the review done anyway? A claim added later opens it again.")) return;
  act("PUT", `/api/v1/documents/${documentId}/review`, { status: "done" }, "Review marked done");
});
$("reopen").addEventListener("click", () => act(
  "PUT", `/api/v1/documents/${documentId}/review`, { status: "open" }, "Review reopened"));

// ---------- acting and loading ----------

async function idle() {
  while (state.busy) await new Promise((resolve) => setTimeout(resolve, 50));
}

function setBusy(busy) {
  state.busy = busy;
  root.dataset.busy = busy ? "true" : "false";
}

// One decision: send it, then show the review as the server now has it. Resolves to the
// answer (null when another action was on its way).
async function act(method, url, body, done, form = null, onConflict = null) {
  if (state.busy) return null;
  setBusy(true);
  say("Saving…");
  const wasDone = state.review && state.review.status === "done";
  const result = await api(method, url, body);
  setBusy(false);
  if (result.status === 409 && onConflict && result.data && result.data.current) {
    await onConflict(result.data.current, result.data);
    return result;
  }
  if (!result.ok) {
    // 409 without onConflict: a one-click decision (nothing typed to keep) on claims someone
    // decided since the page loaded.
    const message = result.status === 409
      ? `${(result.data && result.data.error) || "Someone changed this since the page loaded"}; the page has been reloaded.`
      : errorText(result);
    if (form && result.status !== 409) form.querySelector(".edit-error").textContent = message;
    say(message, true);
    if (result.status === 409) await load();
    return result;
  }
  await load();
  const message = typeof done === "function" ? done(result.data || {}) : done;
  // A decision taken back on a done review (a gold claim deleted, a rejection undone) opens
  // it again on the server: say so, the badge alone is easily missed.
  const reopened = wasDone && state.review.status !== "done" && method !== "PUT";
  say(reopened ? `${message}; the review is open again` : message);
  return result;
}

async function load() {
  const result = await api("GET", `/api/v1/documents/${documentId}/review`);
  if (!result.ok) { say(errorText(result), true); return; }
  state.review = result.data;
  if (state.selected !== null && state.selected >= state.review.units.length) state.selected = null;
  renderLegend();
  renderText();
  renderUnits();
  renderGold();
  renderToolbar();
  heldConflicts.forEach(placeConflict);
  state.loads += 1;
  root.dataset.loads = state.loads;
  root.dataset.ready = "true";
}

indexText(data.text);
renderActorList();
load();
