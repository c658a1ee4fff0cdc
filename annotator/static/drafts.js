// What is being typed in the claim form, kept in the browser (localStorage) until the form
// is saved or closed. A claim that was never sent, or one the server refused at once (say,
// no stance yet), has no other copy: a reload, a crash or a closed tab would lose it.
//
// One draft per tab (the save queue's tab id: a reloaded tab finds its own), refreshed
// while the form is open. The next page on the document takes over a draft only from a tab
// that is gone: closed (it marks its draft released as it goes) or silent for a while (the
// save queue's rule for its entries, takeableEntries).
// A draft of a tab still open stays that tab's: two tabs showing one unsaved claim could
// both save it. A change that reached the save queue is the queue's, not a draft's.
import { BEAT_MS, tabId, takeableEntries } from "./savequeue.js";

export class FormDraft {
  /** @param {string} scope "user:document", as the save queue's */
  constructor(scope) {
    this.prefix = `annotator.draft.${scope}.`;
    this.key = this.prefix + tabId();
    this.kept = null; // this tab's draft as last stored
    // From pagehide on the draft stays released (see the save queue's `gone`): the focused
    // field's change event or a beat, coming as the tab closed, wrote it back as a live
    // tab's, and the next page waited.
    this.gone = false;
    window.addEventListener("pagehide", () => { this.gone = true; });
    setInterval(() => { if (this.kept && !this.gone) this.save(this.kept); }, BEAT_MS);
  }

  /** Keep `draft` ({key, payload, version, suggestionId}) as this tab's; `released`: the
   *  tab is going away (another page may take the draft over at once). */
  save(draft, released = false) {
    this.kept = draft;
    try {
      localStorage.setItem(this.key, JSON.stringify({ ...draft, beat: Date.now(),
        released: released || this.gone }));
    } catch {
      // A full or disabled storage only means the typing is not kept; the form still works.
    }
  }

  /** This tab's draft, or else the latest of a tab that is gone (taken over: it is this
   *  tab's from now on); null when there is none. */
  load() {
    let found;
    try {
      found = takeableEntries(this.prefix, this.key).filter(({ entry }) => entry.payload);
    } catch {
      return null;
    }
    if (!found.length) return null;
    found.sort((a, b) => (a.mine ? -1 : b.mine ? 1 : (b.entry.beat || 0) - (a.entry.beat || 0)));
    const { key, entry, mine } = found[0];
    if (!mine) {
      try { localStorage.removeItem(key); } catch { /* stays theirs */ }
      this.save(entry);
    }
    return entry;
  }

  /** Forget this tab's draft (saved, queued or given up). */
  clear() {
    this.kept = null;
    try {
      localStorage.removeItem(this.key);
    } catch {
      // nothing kept, nothing to remove
    }
  }
}
