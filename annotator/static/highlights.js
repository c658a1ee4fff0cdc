// The article with its claims highlighted, drawn so that a long document stays fast.
//
// The text is cut into paragraph blocks (after each run of newlines; the newlines stay in
// the text nodes, so textContent, DOM offsets and selections are those of the plain text).
// Off-screen paragraphs skip layout and paint (content-visibility: auto in app.css), and a
// change redraws only the paragraphs it touches: `draw` compares what it is given with what
// it drew last (claim objects, lanes, the selection, the marks) and rebuilds those alone.
// Offsets are code points; `cpToU16` converts to the DOM's UTF-16 units.

const FALLBACK = "#888888";

// Lanes: outer claims first, so nested ones sit on a higher lane and stay visible. The greedy
// choice restarts wherever no claim is open, so a change moves lanes in its own cluster only.
export function assignLanes(claims) {
  const ordered = [...claims].sort((a, b) => a.start - b.start || b.end - a.end
    || String(a.id).localeCompare(String(b.id), undefined, { numeric: true }));
  const laneEnds = [];
  const lanes = new Map();
  for (const claim of ordered) {
    let lane = laneEnds.findIndex((end) => end <= claim.start);
    if (lane === -1) { lane = laneEnds.length; laneEnds.push(0); }
    laneEnds[lane] = claim.end;
    lanes.set(claim.id, lane);
  }
  return lanes;
}

function paragraphBounds(codePoints) {
  const bounds = [0];
  for (let i = 0; i < codePoints.length; i++) {
    if (codePoints[i] === "\n" && codePoints[i + 1] !== "\n" && i + 1 < codePoints.length) bounds.push(i + 1);
  }
  bounds.push(codePoints.length);
  return bounds;
}

export class ArticleView {
  /**
   * @param {HTMLElement} root the article element
   * @param {object} options {text, codePoints, cpToU16, colorOf(stance), titleOf(claim)}
   */
  constructor(root, { text, codePoints, cpToU16, colorOf, titleOf }) {
    this.root = root;
    this.text = text;
    this.cpToU16 = cpToU16;
    this.colorOf = colorOf;
    this.titleOf = titleOf;
    this.bounds = paragraphBounds(codePoints);
    this.blocks = [];
    const fragment = document.createDocumentFragment();
    for (let i = 0; i + 1 < this.bounds.length; i++) {
      const block = document.createElement("div");
      block.className = "para";
      block.dataset.start = this.bounds[i];
      this.blocks.push(block);
      fragment.append(block);
    }
    root.replaceChildren(fragment);
    this.drawn = null; // key -> {claim, lane, selected} as last drawn
    this.drawnMarks = [];
  }

  // The index of the paragraph holding code point `at`.
  paragraphOf(at) {
    let lo = 0, hi = this.bounds.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.bounds[mid] <= at) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  /** Draw `claims` with `selectedId` selected and `marks` ([start, end, className]). */
  draw(claims, selectedId, marks) {
    const lanes = assignLanes(claims);
    const now = new Map();
    for (const claim of claims) {
      now.set(claim.id, { claim, lane: lanes.get(claim.id), selected: claim.id === selectedId });
    }
    const dirty = new Set();
    const touch = (start, end) => {
      const last = this.paragraphOf(Math.max(start, end - 1));
      for (let p = this.paragraphOf(start); p <= last; p++) dirty.add(p);
    };
    if (this.drawn === null) {
      this.blocks.forEach((_, p) => dirty.add(p));
    } else {
      for (const [id, was] of this.drawn) {
        const is = now.get(id);
        if (!is || is.claim !== was.claim || is.lane !== was.lane || is.selected !== was.selected) {
          touch(was.claim.start, was.claim.end);
          if (is) touch(is.claim.start, is.claim.end);
        }
      }
      for (const [id, is] of now) if (!this.drawn.has(id)) touch(is.claim.start, is.claim.end);
      if (JSON.stringify(marks) !== JSON.stringify(this.drawnMarks)) {
        for (const [s, e] of [...marks, ...this.drawnMarks]) touch(s, e);
      }
    }
    this.drawn = now;
    this.drawnMarks = marks.map((m) => [...m]);
    if (!dirty.size) return;
    // The claims and marks of each dirty paragraph, found in one pass.
    const local = new Map([...dirty].map((p) => [p, { claims: [], marks: [] }]));
    const place = (start, end, list, item) => {
      const last = this.paragraphOf(Math.max(start, end - 1));
      for (let p = this.paragraphOf(start); p <= last; p++) if (local.has(p)) local.get(p)[list].push(item);
    };
    for (const claim of claims) place(claim.start, claim.end, "claims", claim);
    for (const mark of marks) place(mark[0], mark[1], "marks", mark);
    for (const [p, { claims: here, marks: marked }] of local) {
      this.blocks[p].replaceChildren(this.paragraph(p, here, marked, lanes, selectedId));
    }
  }

  paragraph(p, claims, marks, lanes, selectedId) {
    const [ps, pe] = [this.bounds[p], this.bounds[p + 1]];
    const cuts = new Set([ps, pe]);
    for (const c of claims) { if (c.start > ps) cuts.add(c.start); if (c.end < pe) cuts.add(c.end); }
    for (const [s, e] of marks) { if (s > ps) cuts.add(s); if (e < pe) cuts.add(e); }
    const points = [...cuts].sort((a, b) => a - b);
    const fragment = document.createDocumentFragment();
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const piece = this.text.slice(this.cpToU16[a], this.cpToU16[b]);
      const covering = claims.filter((c) => c.start <= a && c.end >= b);
      const marking = marks.filter(([s, e]) => s <= a && e >= b).map((m) => m[2]);
      if (!covering.length && !marking.length) {
        fragment.append(document.createTextNode(piece));
        continue;
      }
      const span = document.createElement("span");
      span.textContent = piece;
      span.dataset.start = a;
      span.dataset.end = b;
      if (covering.length) {
        span.className = "seg";
        span.dataset.claims = covering.map((c) => c.id).join(" ");
        this.style(span, covering, lanes);
        span.title = covering.map(this.titleOf).join("\n");
        if (covering.some((c) => c.id === selectedId)) span.classList.add("selected");
        if (covering.some((c) => c.pending)) span.classList.add("pending");
      }
      for (const m of marking) span.classList.add(m);
      fragment.append(span);
    }
    return fragment;
  }

  style(el, covering, lanes) {
    const stripes = [], sizes = [], positions = [];
    let maxLane = 0, innermost = covering[0];
    for (const claim of covering) {
      const lane = lanes.get(claim.id);
      if (lane > maxLane) maxLane = lane;
      if (lane > lanes.get(innermost.id)) innermost = claim;
      const color = this.colorOf(claim.stance);
      stripes.push(`linear-gradient(${color}, ${color})`);
      sizes.push("100% 3px");
      positions.push(`0 calc(100% - ${lane * 4}px)`);
    }
    el.style.backgroundImage = stripes.join(", ");
    el.style.backgroundSize = sizes.join(", ");
    el.style.backgroundPosition = positions.join(", ");
    el.style.backgroundColor = (this.colorOf(innermost.stance) || FALLBACK) + "2e";
    el.style.paddingBottom = `${(maxLane + 1) * 4}px`;
  }
}
