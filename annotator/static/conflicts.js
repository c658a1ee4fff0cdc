// Two versions of one claim side by side, when a save met a newer stored version (409):
// "mine" is the edit that was not saved, "theirs" the claim as stored now. The reader picks
// one whole version, or (for edits) one version per field. Used by the annotation page and
// the review page; all text goes in through textContent.

// The fields a reader compares, and how each is read from a claim (payload or stored).
export const CONFLICT_FIELDS = [
  { field: "span", label: "Span", keys: ["start", "end", "text"] },
  { field: "actor", label: "Actor", keys: ["actor"] },
  { field: "actor_mention", label: "Actor mention", keys: ["actor_mention"] },
  { field: "stance", label: "Stance", keys: ["stance"] },
  { field: "verdict", label: "Verdict", keys: ["verdict"] },
  { field: "note", label: "Note", keys: ["note"] },
  { field: "evidence", label: "Evidence", keys: ["evidence"] },
];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function valueOf(claim, spec) {
  return spec.keys.map((k) => {
    const v = claim[k];
    if (k === "actor_mention") return v ? [v.start, v.end] : null;
    if (k === "evidence") {
      // document_id: a span in another article (absent for the claim's own).
      return (v || []).map((e) => [e.type, e.relation, e.description || "", e.document_id ?? null,
        e.start ?? null, e.end ?? null, e.source_url || null]);
    }
    return v ?? (k === "note" ? "" : null);
  });
}

/** The fields (by CONFLICT_FIELDS name) on which the two versions differ. */
export function differingFields(mine, theirs) {
  return CONFLICT_FIELDS.filter((spec) => JSON.stringify(valueOf(mine, spec))
    !== JSON.stringify(valueOf(theirs, spec))).map((spec) => spec.field);
}

/** `version`'s values of `fields` (CONFLICT_FIELDS names; all by default), as a write sends
 *  them: a missing note is "", any other missing value null. */
export function valuesOf(version, fields = CONFLICT_FIELDS.map((spec) => spec.field)) {
  return Object.fromEntries(CONFLICT_FIELDS.filter((spec) => fields.includes(spec.field))
    .flatMap((spec) => spec.keys.map((k) => [k, version[k] ?? (k === "note" ? "" : null)])));
}

/**
 * What of `version` a PATCH of the stored `theirs` must send: the fields (CONFLICT_FIELDS
 * names, among `writable`) on which the two differ. An unchanged field is left out, so its
 * evidence keeps its ids and the claim's history records only real changes.
 */
export function changesFrom(version, theirs, writable) {
  return valuesOf(version, differingFields(version, theirs)
    .filter((field) => writable.includes(field)));
}

/** A payload taking each field from mine or theirs (choices: field -> "mine"|"theirs"). */
export function mergePayload(mine, theirs, choices) {
  const merged = {};
  for (const spec of CONFLICT_FIELDS) {
    const from = choices[spec.field] === "theirs" ? theirs : mine;
    for (const k of spec.keys) {
      if (k in from) merged[k] = from[k];
    }
  }
  return merged;
}

function shorten(text, max) {
  const points = Array.from(String(text));
  return points.length > max ? points.slice(0, max).join("") + "…" : points.join("");
}

function describe(claim, field, labels) {
  switch (field) {
    case "span": return `“${shorten(claim.text, 200)}” [${claim.start}, ${claim.end})`;
    case "actor": return claim.actor || "—";
    case "actor_mention": return claim.actor_mention ? `“${claim.actor_mention.text || ""}”` : "—";
    case "stance": return labels.stance[claim.stance] || claim.stance || "—";
    case "verdict": return claim.verdict ? labels.verdict[claim.verdict] || claim.verdict : "—";
    case "note": return claim.note || "—";
    case "evidence": {
      const items = claim.evidence || [];
      if (!items.length) return "none";
      return items.map((e) => {
        const parts = [`${labels.relation[e.relation] || e.relation} · ${labels.type[e.type] || e.type}`];
        if (e.text) parts.push(`“${shorten(e.text, 60)}”`);
        if (e.description) parts.push(shorten(e.description, 60));
        if (e.source_url) parts.push(e.source_url);
        return parts.join(" ");
      }).join("; ");
    }
    default: return "";
  }
}

function localTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso || "") : d.toLocaleString();
}

// Each box's radio buttons form their own groups, though several boxes share a page.
let boxCount = 0;

/**
 * Fill `box` with the two versions and the choices; `onChoose(choice, payload)` gets
 * "mine", "theirs" or "merge" (with the merged payload). With `deleting`, mine is a delete.
 * labels: {stance, verdict, type, relation} value -> label maps of the label scheme.
 * `title` replaces the opening line, for a conflict that is not a stale edit of `theirs`.
 */
export function renderConflict(box, { mine, theirs, deleting = false, labels, onChoose,
                                      fields = CONFLICT_FIELDS.map((s) => s.field), title }) {
  box.replaceChildren();
  box.hidden = false;
  box.dataset.claimId = theirs.id;
  box.dataset.kind = deleting ? "delete" : "update";
  const who = theirs.updated_by || theirs.annotator;
  const group = `conflict-${++boxCount}`;
  box.append(el("p", "conflict-title", title || (deleting
    ? `Claim #${theirs.id} was changed since you loaded it, so it was not deleted.`
    : `Claim #${theirs.id} was changed since you loaded it, so your edit was not saved.`)));
  box.append(el("p", "muted", `Stored now: version ${theirs.version}`
    + (theirs.updated_at ? `, changed ${localTime(theirs.updated_at)}` : "")
    + (who ? ` (claim by ${who})` : "") + ". Nothing is overwritten until you choose."));
  const differs = new Set(deleting ? [] : differingFields(mine, theirs));
  const shown = CONFLICT_FIELDS.filter((spec) => fields.includes(spec.field));
  const table = el("table", "conflict-versions");
  const head = el("tr");
  head.append(el("th"), el("th", "mine", deleting ? "Yours: delete" : "Yours (not saved)"),
    el("th", "theirs", `Stored (version ${theirs.version})`));
  if (!deleting) head.append(el("th", "pick", "Take"));
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  const choices = {};
  for (const spec of shown) {
    const tr = el("tr");
    tr.dataset.field = spec.field;
    const differ = differs.has(spec.field);
    if (differ) tr.classList.add("differs");
    const mineCell = el("td", "mine", deleting ? "(deleted)" : describe(mine, spec.field, labels));
    const theirsCell = el("td", "theirs", describe(theirs, spec.field, labels));
    tr.append(el("th", null, spec.label), mineCell, theirsCell);
    if (!deleting) {
      const pick = el("td", "pick");
      if (differ) {
        choices[spec.field] = "mine";
        for (const side of ["mine", "theirs"]) {
          const label = el("label", "conflict-pick");
          const radio = el("input");
          radio.type = "radio";
          radio.name = `${group}-${spec.field}`;
          radio.value = side;
          radio.checked = side === "mine";
          radio.addEventListener("change", () => { choices[spec.field] = side; });
          label.append(radio, side === "mine" ? " yours" : " stored");
          pick.append(label);
        }
      } else {
        pick.textContent = "same";
        pick.classList.add("muted");
      }
      tr.append(pick);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  const scroller = el("div", "conflict-scroll");
  scroller.append(table);
  box.append(scroller);
  const actions = el("div", "form-actions conflict-actions");
  const button = (text, className, choice) => {
    const b = el("button", className, text);
    b.type = "button";
    b.addEventListener("click", () => {
      box.hidden = true;
      box.replaceChildren();
      onChoose(choice, choice === "merge" ? mergePayload(mine, theirs, choices) : undefined);
    });
    actions.append(b);
    return b;
  };
  button(deleting ? "Delete anyway" : "Keep mine", "primary conflict-keep-mine", "mine");
  button(deleting ? "Keep the stored claim" : "Take theirs", "conflict-take-theirs", "theirs");
  if (!deleting && differs.size > 1) button("Merge chosen fields", "conflict-merge", "merge");
  box.append(actions);
  box.scrollIntoView({ block: "nearest" });
}
