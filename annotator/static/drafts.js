// What is being typed in the claim form, kept in the browser (localStorage) until the form
// is saved or closed. A claim that was never sent, or one the server refused at once (say,
// no stance yet), has no other copy: a reload, a crash or a closed tab would lose it. The
// next page opened on the document by the same user shows it in the form again.
//
// One draft per user and document: the form of the tab typed in last. A change that reached
// the save queue is the queue's (savequeue.js), not a draft's.

export class FormDraft {
  /** @param {string} scope "user:document", as the save queue's */
  constructor(scope) {
    this.key = `annotator.draft.${scope}`;
  }

  /** Keep `draft` ({key, payload, version, suggestionId}); a full or disabled storage only
   *  means the typing is not kept: the form itself still works. */
  save(draft) {
    try {
      localStorage.setItem(this.key, JSON.stringify({ ...draft, at: Date.now() }));
    } catch {
      // nothing to do: see above
    }
  }

  /** The kept draft, or null. */
  load() {
    try {
      const draft = JSON.parse(localStorage.getItem(this.key));
      return draft && typeof draft === "object" && draft.payload ? draft : null;
    } catch {
      return null;
    }
  }

  clear() {
    try {
      localStorage.removeItem(this.key);
    } catch {
      // nothing kept, nothing to remove
    }
  }
}
