"""Attribution-cue rules: who says what, and how they stand on it.

A label scheme's `suggestions.cues` lists, per stance, cue phrases ("said in a statement",
"denied", "according to") and spaCy token patterns; the project's actors (names and
aliases) are matched too. In each clause with a cue (a sentence, or its parts between
semicolons), the suggested claim is the reported content (the clause without its
attribution: "X said that", ", X said", "According to X,"), its actor the actor mentioned
nearest to the cue, its stance the cue's.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import text as nlp_text

# Used when a scheme has no `suggestions.cues` (schemes written before suggestions), for the
# stances it has; a scheme with cues uses exactly its own.
DEFAULT_CUES: dict[str, list[str]] = {
    "asserts": ["said", "says", "said in a statement", "stated", "claimed", "claims",
                "announced", "reported", "told reporters", "according to", "alleged",
                "insisted", "cited a military source", "citing a military source",
                "accused"],
    "denies": ["denied", "denies", "rejected", "dismissed", "refuted", "rejected claims",
               "called false", "dismissed as"],
    "confirms": ["confirmed", "confirms", "verified", "corroborated", "acknowledged",
                 "admitted"],
    "questions": ["questioned", "questions", "doubted", "cast doubt on", "casts doubt on",
                  "raised doubts about", "disputed"],
}
DEFAULT_KEYS = {"accept": "a", "reject": "x", "edit": "e", "next": "n", "previous": "p"}

# Words between a cue and the content that belong to neither.
_LINKERS = frozenset({"that", "whether", "if", ",", ":", "—", "–", "-", "\"", "“", "”", "«", "»",
                      "'", "‘", "’"})
_EDGE_PUNCT = frozenset(",;:—–-\"“”«»'‘’()[]")
# "denied reports that C", "cited a source as saying C": words between the cue and C.
_LINKER_PAIRS = frozenset({("reports", "that"), ("claims", "that"), ("allegations", "that"),
                           ("as", "saying"), ("suggestions", "that")})
_BRACKETS = {")": "(", "]": "["}
_MIN_CONTENT_TOKENS = 3


@dataclass(frozen=True)
class Mention:
    actor: str  # the canonical name
    start: int
    end: int
    token_start: int
    token_end: int


@dataclass(frozen=True)
class Cue:
    stance: str
    start: int
    end: int
    token_start: int
    token_end: int


@dataclass(frozen=True)
class Suggestion:
    """A proposed claim; offsets are code points, end exclusive."""

    start: int
    end: int
    text: str
    stance: str
    actor: str | None
    actor_mention: tuple[int, int] | None
    cue: tuple[int, int] | None
    source: str  # "rules", "model" or "rules+model"
    score: float

    @property
    def id(self) -> str:
        return f"{self.start}-{self.end}"

    def to_dict(self, text: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "start": self.start, "end": self.end, "text": self.text,
            "stance": self.stance, "actor": self.actor, "source": self.source,
            "score": round(self.score, 3), "actor_mention": None, "cue": None,
        }
        if self.actor_mention:
            s, e = self.actor_mention
            data["actor_mention"] = {"start": s, "end": e, "text": text[s:e]}
        if self.cue:
            s, e = self.cue
            data["cue"] = {"start": s, "end": e, "text": text[s:e]}
        return data


@dataclass
class Sentence:
    start: int
    end: int
    token_start: int
    token_end: int
    cues: list[Cue] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    def best_cue(self, generic: str | None) -> Cue | None:
        """The cue that decides the stance: a specific one ("denied") over the generic
        stance's ("said"), then the longest, then the first."""
        if not self.cues:
            return None
        return min(self.cues, key=lambda c: (c.stance == generic,
                                             -(c.token_end - c.token_start), c.start))


def scheme_cues(scheme: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """{stance: {"phrases": [...], "patterns": [...]}} from the scheme, or the defaults."""
    stances = [s["value"] for s in scheme.get("stances", [])]
    configured = (scheme.get("suggestions") or {}).get("cues")
    cues: dict[str, dict[str, list[Any]]] = {}
    if configured is None:
        for stance, phrases in DEFAULT_CUES.items():
            if stance in stances:
                cues[stance] = {"phrases": list(phrases), "patterns": []}
        return cues
    for entry in configured:
        if entry["stance"] not in stances:
            continue
        bucket = cues.setdefault(entry["stance"], {"phrases": [], "patterns": []})
        bucket["phrases"].extend(entry.get("phrases", []))
        bucket["patterns"].extend(entry.get("patterns", []))
    return cues


def suggestion_keys(scheme: dict[str, Any]) -> dict[str, str]:
    """The page's keys for suggestions: the scheme's, else the defaults."""
    return {**DEFAULT_KEYS, **((scheme.get("suggestions") or {}).get("keys") or {})}


class Rules:
    """The compiled matchers of one scheme and actor list; reusable across documents."""

    def __init__(self, scheme: dict[str, Any],
                 actors: Iterable[tuple[str, Iterable[str]]] = ()) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        nlp = nlp_text.pipeline()
        stances = [s["value"] for s in scheme.get("stances", [])]
        self.generic_stance = stances[0] if stances else None
        self.cue_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.pattern_matcher = Matcher(nlp.vocab)
        anchors: list[list[str]] = []
        for stance, cue in scheme_cues(scheme).items():
            phrases = sorted({p.strip() for p in cue["phrases"] if p.strip()})
            if phrases:
                self.cue_matcher.add(stance, list(nlp.tokenizer.pipe(phrases)))
            if cue["patterns"]:
                self.pattern_matcher.add(stance, cue["patterns"])
                anchors.extend(_anchor_words(p) for p in cue["patterns"])
        # spaCy's Matcher walks every token in Python (~10 ms for a long article); when
        # each pattern starts with given words, only sentences holding one are matched.
        self.anchor_matcher = None
        if anchors and all(anchors):
            self.anchor_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
            words = sorted({w for group in anchors for w in group})
            self.anchor_matcher.add("anchor", list(nlp.tokenizer.pipe(words)))
        self.actor_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.actor_names: dict[str, str] = {}  # match label -> canonical name
        for i, (name, aliases) in enumerate(actors):
            forms = sorted({f.strip() for f in [name, *aliases] if f and f.strip()})
            if forms:
                label = f"actor{i}"
                self.actor_names[label] = name
                self.actor_matcher.add(label, list(nlp.tokenizer.pipe(forms)))

    def sentences(self, doc: Any) -> list[Sentence]:
        """The document's sentences with the cues and actor mentions found in each."""
        from spacy.util import filter_spans

        vocab = doc.vocab.strings
        bounds = nlp_text.sentence_bounds(doc)
        firsts = [first for first, _ in bounds]
        matches = list(self.cue_matcher(doc))
        if len(self.pattern_matcher):
            if self.anchor_matcher is None:
                matches += self.pattern_matcher(doc)
            else:
                candidates = sorted({bisect.bisect_right(firsts, s) - 1
                                     for _, s, _ in self.anchor_matcher(doc)})
                for index in candidates:
                    first, end = bounds[index]
                    matches += [(vocab[span.label_], span.start, span.end) for span in
                                self.pattern_matcher(doc[first:end], as_spans=True)]
        labels: dict[tuple[int, int], str] = {}
        for match_id, s, e in matches:
            labels.setdefault((s, e), vocab[match_id])
        cue_spans = [doc[s:e] for s, e in labels]
        cues = [Cue(labels[(sp.start, sp.end)], sp.start_char, sp.end_char, sp.start, sp.end)
                for sp in filter_spans(cue_spans)]
        actor_hits = ({(s, e): vocab[m] for m, s, e in self.actor_matcher(doc)}
                      if len(self.actor_matcher) else {})
        mentions = [Mention(self.actor_names[actor_hits[(sp.start, sp.end)]], sp.start_char,
                            sp.end_char, sp.start, sp.end)
                    for sp in filter_spans([doc[s:e] for s, e in actor_hits])]
        # A cue inside an actor's name ("Press Claims Office") is no cue.
        in_names = {i for m in mentions for i in range(m.token_start, m.token_end)}
        cues = [c for c in cues if c.token_start not in in_names]
        starts = nlp_text.token_starts(doc)
        text_length = len(nlp_text.text_of(doc))
        sentences = [Sentence(starts[first], starts[end] if end < len(starts) else text_length,
                              first, end)
                     for first, end in bounds]
        for item in [*cues, *mentions]:
            target = sentences[bisect.bisect_right(firsts, item.token_start) - 1]
            (target.cues if isinstance(item, Cue) else target.mentions).append(item)
        return sentences

    def suggest(self, doc: Any) -> list[Suggestion]:
        """One suggestion per clause (a sentence, or its parts between semicolons) with an
        attribution cue."""
        found = []
        text = nlp_text.text_of(doc)
        for sentence in (c for s in self.sentences(doc) for c in clauses(doc, s)):
            cue = sentence.best_cue(self.generic_stance)
            if cue is None:
                continue
            mention = nearest_mention(sentence, cue)
            span = content_span(doc, sentence, cue, mention)
            if span is None:
                continue
            found.append(Suggestion(
                start=span[0], end=span[1], text=text[span[0]:span[1]], stance=cue.stance,
                actor=mention.actor if mention else None,
                actor_mention=(mention.start, mention.end) if mention else None,
                cue=(cue.start, cue.end), source="rules", score=1.0))
        return found


_QUOTES = {"\"": "\"", "“": "”", "«": "»", "„": "“"}


def clauses(doc: Any, sentence: Sentence) -> list[Sentence]:
    """The sentence's parts between semicolons, each with its own cues and mentions: in "C1,
    according to X; Y says C2" each side has its own claimant, and the content of the first
    cue must not run into the second clause (it is the longer side). Only where two parts
    have a cue each, and never inside quotation marks: 'X said "C1; C2"' is one claim."""
    if len(sentence.cues) < 2:
        return [sentence]
    t = nlp_text.tokens(doc)
    semicolon = t.hash(";")
    cuts, closing = [], None
    for i in range(sentence.token_start, sentence.token_end):
        token = t.strings[t.orth[i]]
        if closing is not None:
            if token == closing:
                closing = None
        elif token in _QUOTES:
            closing = _QUOTES[token]
        elif t.orth[i] == semicolon:
            cuts.append(i)
    if not cuts:
        return [sentence]
    parts = []
    for first, end in zip([sentence.token_start, *(c + 1 for c in cuts)],
                          [*cuts, sentence.token_end], strict=True):
        if first >= end:
            continue
        parts.append(Sentence(
            t.idx[first], t.idx[end - 1] + t.length[end - 1], first, end,
            [c for c in sentence.cues if first <= c.token_start < end],
            [m for m in sentence.mentions if first <= m.token_start < end]))
    if sum(1 for part in parts if part.cues) < 2:
        return [sentence]
    return parts


def _anchor_words(pattern: list[dict[str, Any]]) -> list[str]:
    """The words a token pattern must start with (lower case), or [] if it may start with
    any word."""
    first = pattern[0]
    if first.get("OP") in ("?", "*", "!") or str(first.get("OP", "")).startswith(("{0", "{,")):
        return []
    value = first.get("LOWER")
    if isinstance(value, str):
        return [value.lower()]
    if isinstance(value, dict) and value.get("IN"):
        return [str(v).lower() for v in value["IN"]]
    return []


def nearest_mention(sentence: Sentence, cue: Cue | None) -> Mention | None:
    """The actor mentioned nearest to the cue (in tokens), else the sentence's first."""
    if not sentence.mentions:
        return None
    if cue is None:
        return sentence.mentions[0]

    def distance(m: Mention) -> int:
        if m.token_end <= cue.token_start:
            return cue.token_start - m.token_end
        return max(0, m.token_start - cue.token_end)

    return min(sentence.mentions, key=lambda m: (distance(m), m.token_start))


def _trim(doc: Any, start: int, end: int) -> tuple[int, int] | None:
    """Token range without linking words and edge punctuation; None if too short."""
    t = nlp_text.tokens(doc)
    linkers, edge, pairs = t.hashed(_LINKERS), t.hashed(_EDGE_PUNCT), t.hashed(_LINKER_PAIRS)
    while start < end:
        if t.is_space[start] or t.lower[start] in linkers or t.orth[start] in edge:
            start += 1
        elif start + 1 < end and (t.lower[start], t.lower[start + 1]) in pairs:
            start += 2
        else:
            break
    while end > start and (t.is_space[end - 1] or t.is_punct[end - 1]
                           or t.orth[end - 1] in edge):
        # A closing bracket whose opening one is kept stays too.
        opening = _BRACKETS.get(t.strings[t.orth[end - 1]])
        if opening and t.hash(opening) in t.orth[start:end - 1]:
            break
        end -= 1
    return (start, end) if _words(doc, start, end) >= _MIN_CONTENT_TOKENS else None


def content_span(doc: Any, sentence: Sentence, cue: Cue | None,
                 mention: Mention | None) -> tuple[int, int] | None:
    """The reported content of the sentence as (start, end) code points.

    The attribution is the cue with its actor mention when they are adjacent; a cue that
    opens the sentence ("According to X, ...") runs to the first comma. The content is the
    longer side of what remains, else the whole sentence.
    """
    s_start, s_end = sentence.token_start, sentence.token_end
    if cue is None and mention is None:
        trimmed = _trim(doc, s_start, s_end)
    else:
        # Without a cue (the model's sentences) the actor's mention is the attribution.
        anchor = cue or mention
        a_start, a_end = anchor.token_start, anchor.token_end
        if cue is not None and mention is not None:
            if mention.token_end <= a_start and a_start - mention.token_end <= 3:
                a_start = mention.token_start
            elif mention.token_start >= a_end and mention.token_start - a_end <= 3:
                a_end = mention.token_end
        left = _trim(doc, s_start, a_start)
        if left is None or _words(doc, s_start, a_start) <= 3:
            # The attribution opens the sentence: skip it up to the first comma if that
            # comes soon ("According to the harbour office, ...").
            comma = nlp_text.tokens(doc).hash(",")
            for i in range(a_end, min(a_end + 10, s_end)):
                if nlp_text.tokens(doc).orth[i] == comma:
                    a_end = i + 1
                    break
            left = None
        right = _trim(doc, a_end, s_end)
        candidates = [c for c in (left, right) if c is not None]
        trimmed = max(candidates, key=lambda c: c[1] - c[0]) if candidates else None
        if trimmed is None:
            trimmed = _trim(doc, s_start, s_end)
    if trimmed is None:
        return None
    t = nlp_text.tokens(doc)
    last = trimmed[1] - 1
    return t.idx[trimmed[0]], t.idx[last] + t.length[last]


def _words(doc: Any, start: int, end: int) -> int:
    t = nlp_text.tokens(doc)
    return sum(1 for i in range(start, end) if not t.is_punct[i] and not t.is_space[i])
