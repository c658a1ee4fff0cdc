// The annotation page's writes, as a queue that survives a dropped connection and a reload.
//
// Every create, edit and delete is an operation appended to a queue kept in localStorage
// (one entry per browser tab, for one user and one document) and sent strictly in order.
// A network failure (fetch throws, or the proxy answers 502/503/504) keeps the operation and
// retries with backoff; an answer from the application decides it. Sending twice is safe:
//  - a create carries a client_id (an idempotency key): the server returns the claim the
//    first request made instead of making a second one;
//  - an edit carries the version it edits: a replay whose first send was applied gets 409
//    with the stored claim equal to what was sent, which counts as saved here;
//  - a replayed delete finds the claim gone (404), which counts as deleted.
// A real conflict (someone else changed the claim) pauses the queue until the page resolves
// it: keep mine (send again on top of the stored version), take theirs, or merge. The choice
// decides every queued change of that claim made in that tab at once: "mine" is the last.
// A create from a suggestion the user already accepted (in the list, another tab) meets that
// claim the same way (409): "mine" then becomes an edit of it, never a second claim.
// A change the server refuses (another 4xx) leaves the queue for the page to fix, but stays
// in the same entry (the `refused` list) until it is saved again or dropped: a reload, a
// crashed or closed tab brings it back instead of losing it.
import { api } from "./api.js";

const RETRY_STATUSES = new Set([0, 502, 503, 504]);
const FIRST_RETRY_MS = 300;
const MAX_RETRY_MS = 3000;
export const BEAT_MS = 4000;
const STALE_MS = 15000; // an entry not refreshed for this long belongs to a closed tab
const CREATED_VERSION = 1; // the version every new claim starts at (services/claims.py)

export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http to another host have no randomUUID (not a secure context).
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function tabId() {
  // sessionStorage is per tab and survives a reload: a reloaded tab finds its own queue.
  try {
    let id = sessionStorage.getItem("annotator.tab");
    if (!id) { id = newClientId(); sessionStorage.setItem("annotator.tab", id); }
    return id;
  } catch { return newClientId(); }
}

/** The localStorage entries under `prefix` this tab may take: its own (`ownKey`) and those of
 *  tabs that are gone (released as they closed, or not refreshed for STALE_MS), each as
 *  {key, entry, mine}. An entry that does not parse is left alone. Callers catch a storage
 *  the browser refuses to read. */
export function takeableEntries(prefix, ownKey) {
  const found = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (!key || !key.startsWith(prefix)) continue;
    let entry;
    try { entry = JSON.parse(localStorage.getItem(key) || "null"); } catch { continue; }
    if (!entry || typeof entry !== "object") continue;
    const mine = key === ownKey;
    if (!mine && !entry.released && Date.now() - (entry.beat || 0) < STALE_MS) continue;
    found.push({ key, entry, mine });
  }
  return found;
}

// The claim as an edit payload would set it: what "the same" means for a replayed edit.
function comparable(claim) {
  const mention = claim.actor_mention;
  return JSON.stringify([
    claim.start, claim.end, claim.text, claim.actor || null,
    mention ? [mention.start, mention.end] : null,
    claim.stance, claim.verdict || null, claim.note || "",
    (claim.evidence || []).map((e) => [e.type, e.relation, e.description || "",
      e.document_id ?? null, e.start ?? null, e.end ?? null, e.source_url || null]),
  ]);
}

export function sameClaimContent(a, b) { return comparable(a) === comparable(b); }

export class SaveQueue {
  /**
   * @param {object} options
   * @param {string} options.scope "user:document": whose queue, for which document
   * @param {number} options.documentId
   * @param {(event: object) => void} options.onEvent called with {type: "change"|"done"|
   *   "rejected"|"conflict", op, result}; "change" whenever the count or state moves
   */
  constructor({ scope, documentId, onEvent }) {
    this.prefix = `annotator.queue.${scope}.`;
    this.key = this.prefix + tabId();
    this.documentId = documentId;
    this.onEvent = onEvent;
    this.ops = [];
    this.refused = [];      // refused operations, each with the server's answer (op.answer)
    this.known = {};        // claim key -> {id, version} learnt from answers
    this.offline = false;
    this.volatile = false;  // true while held changes could not be stored in the browser
    this.conflict = null;   // {op, current} while paused
    this.running = false;
    this.retryMs = FIRST_RETRY_MS;
    this.wake = null;       // resolves the current retry wait early
    this.waiters = new Map(); // op id -> resolve of the promise enqueue returned
    this.adopt();
    window.addEventListener("online", () => this.retryNow());
    // From pagehide on, the entry says the tab is gone (another page may take it at once):
    // a beat or an answer arriving while the tab closes must not write it back as live, or
    // the next page would wait STALE_MS for it. A page back from the back-forward cache
    // reloads (annotate.js) instead of living on with what another page may have taken.
    this.gone = false;
    window.addEventListener("pagehide", () => { this.gone = true; this.persist(); });
    // The beat marks the entry as a live tab's: refused changes are kept alive like waiting ones.
    setInterval(() => { if (this.held && !this.gone) this.persist(); }, BEAT_MS);
  }

  // ---------- storage ----------

  // This tab's own entry, and the entries of this user's closed tabs on this document.
  adopt() {
    let adopted;
    try { adopted = takeableEntries(this.prefix, this.key); } catch { return; }
    adopted.sort((a, b) => (a.entry.first || 0) - (b.entry.first || 0));
    for (const { key, entry } of adopted) {
      const ops = entry.ops || [];
      // Each claim's first waiting change is pinned to the version its own tab based it on:
      // with the tabs' answers merged below, it would take another tab's newer version and
      // overwrite that tab's change instead of meeting it (409). Later ones chain from it.
      const chained = new Set();
      for (const op of ops) {
        if (op.kind !== "create" && op.version == null && !chained.has(op.key)) {
          const seen = (entry.known || {})[op.key];
          op.version = seen ? seen.version : op.fallbackVersion;
        }
        chained.add(op.key);
      }
      this.ops.push(...ops);
      // A closed tab's refused changes come along too: nobody would reopen that tab to fix them.
      this.refused.push(...(entry.refused || []));
      Object.assign(this.known, entry.known || {});
      if (key !== this.key) localStorage.removeItem(key);
    }
    this.persist();
  }

  // Whether this tab holds changes not stored on the server: waiting or refused ones.
  get held() { return this.ops.length + this.refused.length > 0; }

  persist() {
    try {
      if (!this.held) localStorage.removeItem(this.key);
      else {
        localStorage.setItem(this.key, JSON.stringify({
          ops: this.ops, refused: this.refused, known: this.known, beat: Date.now(),
          released: this.gone,
          first: (this.ops[0] || this.refused[0]).at,
        }));
      }
      this.volatile = false;
    } catch {
      // Storage full or denied: the queue still works, in this tab's memory only (the page
      // says so, and asks before the tab is closed or reloaded).
      this.volatile = this.held;
    }
  }

  // ---------- the page's side ----------

  get pending() { return this.ops.length; }

  // The state for the status line: "conflict", "offline", "saving" or "saved".
  get state() {
    if (this.conflict) return "conflict";
    if (!this.ops.length) return "saved";
    return this.offline ? "offline" : "saving";
  }

  /** Queue one operation; resolves with "done", "rejected", "conflict" or "deferred" (kept
   *  for later: the server is unreachable) once its first send is decided. `fixes`: the id
   *  of the refused change `op` is the corrected version of; it leaves the refused list in
   *  the same write that queues `op`, so a reload finds one of the two, never both (a
   *  refused create shown again after its fix was queued would be saved twice). */
  enqueue(op, fixes = null) {
    op.id = newClientId();
    op.at = Date.now();
    op.origin = this.key; // the tab it was made in: its changes of a claim build on each other
    if (op.kind === "create") op.clientId = op.clientId || newClientId();
    this.ops.push(op);
    if (fixes) this.refused = this.refused.filter((o) => o.id !== fixes);
    this.persist();
    const settled = new Promise((resolve) => this.waiters.set(op.id, resolve));
    if (this.offline) this.settle(op, "deferred");
    this.emit({ type: "change" });
    this.pump();
    return settled;
  }

  /** The server id of a claim key (a pending create's key once it is stored), or null. */
  serverId(key) {
    if (this.known[key]) return this.known[key].id;
    return /^\d+$/.test(String(key)) ? Number(key) : null;
  }

  /** Which claim a key names: a new claim is queued under its create's key, and edited under
   *  its id once the create is stored, so one claim can have operations under both. */
  claimOf(key) { return String(this.serverId(key) ?? key); }

  /** What an answer taught about a claim, under each key it is queued by. */
  learn(key, id, version) {
    this.known[key] = { id, version };
    this.known[String(id)] = { id, version };
  }

  /** Whether two operations are changes of one claim made in one tab (each carries the
   *  whole claim as that tab saw it, so the later one includes the earlier). Another tab's
   *  changes, taken over from its queue, are not included: they meet their own conflict. */
  sameChain(a, b) {
    return this.claimOf(a.key) === this.claimOf(b.key) && a.origin === b.origin;
  }

  /** The last queued operation in `op`'s chain (what its tab would make of the claim). */
  latest(op) {
    for (let i = this.ops.length - 1; i >= 0; i--) {
      if (this.sameChain(this.ops[i], op)) return this.ops[i];
    }
    return op;
  }

  /** Settle the paused conflict, for every queued change of that claim made in the same
   *  tab at once (a later one sent after the choice would undo it without a conflict):
   *  "mine" sends the last of them over `current`, "merge" sends `payload` over `current`,
   *  "theirs" drops them. */
  resolve(choice, payload) {
    if (!this.conflict) return;
    const { op, current } = this.conflict;
    this.conflict = null;
    if (this.copyDeleted(op)) {
      this.dropCopy(op, current); // deleted while the choice was on screen
      this.pump();
      return;
    }
    const at = this.ops.indexOf(op);
    const queued = this.ops.filter((o) => this.sameChain(o, op));
    // Another tab's change of the claim queued right after this chain without a version was
    // made on top of it: once it is discarded (theirs) or rewritten (merge), sent on the
    // stored version it would overwrite what was chosen, unseen. It meets it as its own
    // conflict instead, against the claim as stored when its turn comes.
    const built = [];
    if (choice !== "mine") {
      let onChain = false;
      for (const o of this.ops) {
        if (this.claimOf(o.key) !== this.claimOf(op.key)) continue;
        if (queued.includes(o)) { onChain = true; continue; }
        if (onChain && o.version == null && o.kind !== "create") built.push(o);
        onChain = false;
      }
    }
    this.ops = this.ops.filter((o) => !this.sameChain(o, op));
    let kept = null;
    if (choice === "theirs") {
      this.learn(op.key, current.id, current.version);
      this.emit({ type: "done", op, result: { ok: true, data: current, theirs: true } });
    } else {
      kept = queued[queued.length - 1];
      if (op.kind === "create") {
        // A create that met a claim already made from its suggestion: mine is an edit of it.
        this.learn(op.key, current.id, current.version);
        if (kept.kind === "create") kept.kind = "update";
      }
      kept.version = current.version;
      if (payload) kept.payload = payload;
      if (kept.kind === "update" && kept.payload && "suggestion_id" in kept.payload) {
        const { suggestion_id: _, ...rest } = kept.payload; // names a create, not an edit
        kept.payload = rest;
      }
      if (kept.payload && kept.payload.evidence) {
        // Evidence the other side removed can only come back as a new item.
        const live = new Set((current.evidence || []).map((e) => e.id));
        kept.payload.evidence = kept.payload.evidence.map((e) => (e.id != null && !live.has(e.id)
          ? Object.fromEntries(Object.entries(e).filter(([k]) => k !== "id")) : e));
      }
      this.ops.splice(Math.max(at, 0), 0, kept);
    }
    for (const o of queued) {
      if (o !== kept) this.settle(o, "done", { ok: true, status: 200, data: current });
    }
    if (kept) delete kept.recheck;
    for (const o of built) o.recheck = true;
    this.persist();
    this.emit({ type: "change" });
    this.pump();
  }

  /** A create that met a claim already made from its suggestion (409), then deleted before
   *  it was sent (in any tab): the copy is gone either way, and the claim it met is not the
   *  copy's to delete. Every change of the copy is settled, nothing is sent. */
  dropCopy(op, current) {
    const queued = this.ops.filter((o) => o.key === op.key);
    this.ops = this.ops.filter((o) => o.key !== op.key);
    for (const o of queued) this.settle(o, "done", { ok: true, status: 200, data: current });
    this.persist();
    this.emit({ type: "done", op, result: { ok: true, data: current, theirs: true } });
    this.emit({ type: "change" });
  }

  /** Keep a refused operation, with the server's answer, until it is fixed or dropped. */
  keepRefused(op, answer) {
    op.answer = answer;
    if (!this.refused.includes(op)) this.refused.push(op);
    this.persist();
    this.emit({ type: "change" });
  }

  /** The user gave up the refused operation `id`. */
  dropRefused(id) {
    this.refused = this.refused.filter((o) => o.id !== id);
    this.persist();
    this.emit({ type: "change" });
  }

  retryNow() { if (this.wake) this.wake(); }

  // ---------- sending ----------

  emit(event) { this.onEvent(event); }

  settle(op, outcome, result) {
    const resolve = this.waiters.get(op.id);
    if (resolve) { this.waiters.delete(op.id); resolve({ outcome, result }); }
  }

  request(op) {
    if (op.kind === "create") {
      return ["POST", `/api/v1/documents/${this.documentId}/claims`,
        { ...op.payload, client_id: op.clientId }];
    }
    const id = this.serverId(op.key);
    // null: "the version my previous change of this claim comes back with"; when that one
    // was refused, the version the page had loaded.
    const version = op.version ?? (this.known[op.key] && this.known[op.key].version)
      ?? op.fallbackVersion;
    op.sentVersion = version; // what a refused edit was based on, if it comes back to the form
    if (op.kind === "update") return ["PATCH", `/api/v1/claims/${id}`, { ...op.payload, version }];
    return ["DELETE", `/api/v1/claims/${id}?version=${version}`, undefined];
  }

  /** The claim as stored now, as the 409 a stale change would get (or the failure). */
  async storedAsConflict(op) {
    let result;
    try {
      result = await api("GET", `/api/v1/claims/${this.serverId(op.key)}`);
    } catch {
      return { ok: false, status: 0, data: null };
    }
    return result.ok ? { ok: false, status: 409, data: { current: result.data } } : result;
  }

  /** Whether `op` is a create whose copy (its key, in any tab's changes) was then deleted. */
  copyDeleted(op) {
    if (op.kind !== "create") return false;
    const copy = this.ops.filter((o) => o.key === op.key);
    return copy.length > 0 && copy[copy.length - 1].kind === "delete";
  }

  async send(op) {
    const [method, url, body] = this.request(op);
    try {
      return await api(method, url, body);
    } catch {
      return { ok: false, status: 0, data: null };
    }
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    try {
      while (this.ops.length && !this.conflict) {
        const op = this.ops[0];
        // Made on top of another tab's change that a conflict then discarded (see resolve):
        // it meets the claim as stored now as its own conflict instead of being sent over it.
        const result = op.recheck ? await this.storedAsConflict(op) : await this.send(op);
        if (RETRY_STATUSES.has(result.status) || result.status === 401) {
          this.offline = true;
          this.settle(op, "deferred");
          this.emit({ type: "change" });
          await new Promise((resolve) => {
            this.wake = resolve;
            setTimeout(resolve, this.retryMs);
          });
          this.wake = null;
          this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
          continue;
        }
        this.retryMs = FIRST_RETRY_MS;
        const wasOffline = this.offline;
        this.offline = false;
        if (this.ops[0] !== op) continue; // resolved away meanwhile
        this.decide(op, result);
        if (wasOffline && !this.ops.length) this.emit({ type: "change" });
      }
    } finally {
      this.running = false;
    }
  }

  decide(op, result) {
    let outcome;
    if (result.ok) {
      outcome = "done";
    } else if (op.kind === "delete" && result.status === 404) {
      outcome = "done"; // deleted by an earlier send whose answer was lost
      result = { ok: true, status: 204, data: null };
    } else if (result.status === 409 && result.data && result.data.current) {
      const current = result.data.current;
      if (this.copyDeleted(op)) {
        this.dropCopy(op, current);
        return;
      }
      if (op.kind !== "delete" && sameClaimContent(current, op.payload)) {
        // An edit: this very edit, applied by an earlier send whose answer was lost. A create
        // (from a suggestion accepted meanwhile, say in the list): that claim is this one.
        outcome = "done";
        result = { ok: true, status: 200, data: current, adopted: op.kind === "create" };
      } else {
        this.conflict = { op, current };
        this.settle(op, "conflict", result);
        this.emit({ type: "conflict", op, result });
        this.emit({ type: "change" });
        return;
      }
    } else {
      outcome = "rejected";
    }
    this.ops.shift();
    if (outcome === "done" && result.data && result.data.id != null) {
      // The changes queued on a new claim were made on it as created. A replayed create
      // answers with the claim as it is now, perhaps changed since by someone else: sent
      // over that version, they would overwrite the change instead of meeting it (409).
      const version = op.kind === "create" && !result.adopted ? CREATED_VERSION
        : result.data.version;
      this.learn(op.key, result.data.id, version);
    }
    this.persist();
    this.settle(op, outcome, result);
    this.emit({ type: outcome, op, result });
    this.emit({ type: "change" });
  }
}
