"""Suggested claims: computed on demand per document, accepted or rejected by annotators,
and the project's suggestion model trained and versioned.

Blind mode: a suggestion must never carry another annotator's work on the document. The
rules use only the label scheme and the project's actor list (which every member sees
anyway). The model learns from gold claims and from claims accepted from suggestions,
so it could echo what someone else marked on a document it learnt from: it therefore
never suggests on its own training documents (they get the rules' suggestions only).
What a user already marked and what they rejected hide suggestions for that user only;
others' claims never filter anything, since a gap would reveal them too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..db import db
from ..models import (
    Actor,
    Claim,
    Document,
    Project,
    SuggestionModel,
    SuggestionRejection,
    User,
    isoformat,
)
from ..suggester import model as suggester_model
from ..suggester import text as suggester_text
from ..suggester.rules import Rules, Suggestion, suggestion_keys
from . import claims
from .errors import InvalidInput, NotFound, require_object

_SUGGESTION_ID = re.compile(r"^(\d{1,9})-(\d{1,9})$")
_CACHE_SIZE = 256


class _Lru:
    """A small thread-safe LRU: the server answers from several threads."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# Keys carry everything a result depends on, so a stale entry is never hit: the document's
# text, the label scheme, the actor list and the model.
_rules_cache = _Lru(32)
_model_cache = _Lru(8)
_document_cache = _Lru(_CACHE_SIZE)
_compute_lock = threading.Lock()


@dataclass(frozen=True)
class _ModelRef:
    id: int
    version: int
    document_ids: frozenset[int]
    created_at: Any  # with the id, names the stored model even where ids are reused

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.id, str(self.created_at))


def _actors(project: Project) -> tuple[tuple[str, tuple[str, ...]], ...]:
    rows = db.session.execute(
        select(Actor.name, Actor.aliases).where(Actor.project_id == project.id)
        .order_by(Actor.id)).all()
    return tuple((name, tuple(aliases or ())) for name, aliases in rows)


def _scheme_key(project: Project) -> str:
    # The scheme itself, not only its version number: cheap, and never stale.
    return hashlib.sha256(json.dumps(project.label_scheme, sort_keys=True).encode()).hexdigest()


def _rules(project: Project, actors: tuple[tuple[str, tuple[str, ...]], ...],
           scheme_key: str) -> Rules:
    key = (scheme_key, actors)
    rules = _rules_cache.get(key)
    if rules is None:
        with _compute_lock:
            rules = Rules(project.label_scheme, actors)
        _rules_cache.put(key, rules)
    return rules


def _latest_model(project: Project) -> _ModelRef | None:
    row = db.session.execute(
        select(SuggestionModel.id, SuggestionModel.version, SuggestionModel.document_ids,
               SuggestionModel.created_at)
        .where(SuggestionModel.project_id == project.id)
        .order_by(SuggestionModel.version.desc()).limit(1)).first()
    return (_ModelRef(row.id, row.version, frozenset(row.document_ids or ()), row.created_at)
            if row else None)


def _seal(blob: bytes) -> bytes:
    """The stored form of a model: its pickle behind an HMAC keyed by this server's secret.

    Unpickling runs code, and a stored model can also come from a restored backup, whose
    checksum anyone can recompute: only a blob this server (same SECRET_KEY) wrote is loaded.
    """
    return _mac(blob) + blob


def _unsealed(stored: bytes) -> bytes | None:
    mac, blob = stored[:_MAC_SIZE], stored[_MAC_SIZE:]
    return blob if hmac.compare_digest(mac, _mac(blob)) else None


def _mac(blob: bytes) -> bytes:
    key = current_app.config["SECRET_KEY"]
    return hmac.new(key.encode() if isinstance(key, str) else key,
                    b"suggestion-model\0" + blob, hashlib.sha256).digest()


_MAC_SIZE = hashlib.sha256().digest_size


def _loaded(ref: _ModelRef) -> suggester_model.SuggestionModel | None:
    """The stored model, or None when this server did not write it (restored from another
    server, or a changed SECRET_KEY): the rules then suggest alone until it is retrained."""
    model = _model_cache.get(ref.key)
    if model is None:
        stored = db.session.execute(
            select(SuggestionModel.blob).where(SuggestionModel.id == ref.id)).scalar_one()
        blob = _unsealed(bytes(stored))
        if blob is None:
            current_app.logger.warning("suggestion model %s (version %s) was not written by "
                                       "this server: not loaded; retrain it", ref.id,
                                       ref.version)
            model = False
        else:
            model = suggester_model.loads(blob)
        _model_cache.put(ref.key, model)
    return model or None


def _document_suggestions(document: Document) -> tuple[list[Suggestion], _ModelRef | None]:
    """Everything suggested on the document, for anyone (before per-user filtering)."""
    project = document.project
    actors = _actors(project)
    ref = _latest_model(project)
    if ref is not None and document.id in ref.document_ids:
        ref = None  # never suggest from a model that learnt this document (blind mode)
    model = _loaded(ref) if ref else None
    if model is None:
        ref = None
    scheme_key = _scheme_key(project)
    key = (document.id, document.text_sha256, scheme_key, hash(actors), ref.key if ref else None)
    found = _document_cache.get(key)
    if found is None:
        rules = _rules(project, actors, scheme_key)
        # One at a time: spaCy's shared vocabulary grows as it meets new words, and the
        # server answers from several threads.
        with _compute_lock:
            found = suggester_model.suggest(suggester_text.parse(document.text), rules, model)
        _document_cache.put(key, found)
    return found, ref


def _visible(user: User, document: Document, found: list[Suggestion]) -> list[Suggestion]:
    """Drop what this user rejected or already marked (their own claims only)."""
    rejected = {(start, end) for start, end in db.session.execute(
        select(SuggestionRejection.start, SuggestionRejection.end).where(
            SuggestionRejection.user_id == user.id,
            SuggestionRejection.document_id == document.id))}
    own = db.session.execute(
        select(Claim.start, Claim.end).where(
            Claim.document_id == document.id, Claim.annotator_id == user.id,
            Claim.deleted_at.is_(None), Claim.is_gold.is_(False))).all()
    return [s for s in found if (s.start, s.end) not in rejected
            and not any(start < s.end and s.start < end for start, end in own)]


def for_document(user: User, document: Document) -> dict[str, Any]:
    """The suggestions this user gets on the document (none when the project has them off)."""
    project = document.project
    keys = suggestion_keys(project.label_scheme)
    if not project.suggestions_enabled:
        return {"enabled": False, "model_version": None, "keys": keys, "suggestions": []}
    found, ref = _document_suggestions(document)
    return {
        "enabled": True,
        "model_version": ref.version if ref else None,
        "keys": keys,
        "suggestions": [s.to_dict(document.text) for s in _visible(user, document, found)],
    }


def _find(user: User, document: Document, suggestion_id: str
          ) -> tuple[Suggestion, _ModelRef | None]:
    if not document.project.suggestions_enabled:
        raise NotFound("suggestions are off in this project")
    found, ref = _document_suggestions(document)
    for suggestion in _visible(user, document, found):
        if suggestion.id == suggestion_id:
            return suggestion, ref
    raise NotFound("no such suggestion (already accepted or rejected?)")


def _span(suggestion_id: str) -> tuple[int, int]:
    match = _SUGGESTION_ID.match(suggestion_id)
    if not match or int(match[1]) >= int(match[2]):
        raise NotFound("no such suggestion")
    return int(match[1]), int(match[2])


def _accepted_before(user: User, document: Document, suggestion_id: str) -> Claim | None:
    """The user's live claim on the document accepted from this suggestion, if any (edited
    since or not: the provenance keeps the span that was proposed)."""
    start, end = _span(suggestion_id)
    accepted = db.session.execute(
        select(Claim).where(Claim.document_id == document.id, Claim.annotator_id == user.id,
                            Claim.origin == "suggestion", Claim.deleted_at.is_(None))
        .order_by(Claim.id)  # the first accepted, should a restore have made two
    ).scalars()
    return next((c for c in accepted if (c.suggestion or {}).get("start") == start
                 and (c.suggestion or {}).get("end") == end), None)


def accept(user: User, document: Document, suggestion_id: str,
           changes: dict[str, Any] | None = None) -> tuple[Claim, bool]:
    """Make the suggestion the user's own claim, recorded as accepted from it: (claim,
    created). `changes` are claim fields the user set before accepting (edit, then
    accept). Accepting again returns the claim the first accept made."""
    repeat = _accepted_before(user, document, suggestion_id)
    if repeat is not None:
        return repeat, False
    suggestion, ref = _find(user, document, suggestion_id)
    proposed: dict[str, Any] = {
        "start": suggestion.start, "end": suggestion.end, "text": suggestion.text,
        "stance": suggestion.stance, "actor": suggestion.actor,
        "actor_mention": (None if suggestion.actor_mention is None else {
            "start": suggestion.actor_mention[0], "end": suggestion.actor_mention[1],
            "text": document.text[suggestion.actor_mention[0]:suggestion.actor_mention[1]]}),
    }
    if changes is not None:
        require_object(changes)
    # Accepting is idempotent by the suggestion itself (above): a create's retry key or
    # suggestion id has no meaning here (a key already taken would break a unique index).
    named = {f: "not allowed when accepting a suggestion" for f in ("client_id", "suggestion_id")
             if f in (changes or {})}
    if named:
        raise InvalidInput("the accepted claim's changes name a create's fields", named)
    payload = {**proposed, **(changes or {})}
    if payload.get("actor") is None:
        payload.pop("actor", None)
    provenance = _provenance(suggestion, ref, payload)
    try:
        return claims.create_claim(user, document, payload, suggestion=provenance), True
    except IntegrityError:
        # Another accept of this suggestion (the form, another tab) committed after the
        # check above: answer with its claim, as a repeated accept does.
        db.session.rollback()
        twin = claims.live_claim_from_suggestion(user.id, document.id,
                                                  claims.suggestion_key(provenance))
        if twin is None:
            raise
        return twin, False


def _provenance(suggestion: Suggestion, ref: _ModelRef | None,
                payload: dict[str, Any]) -> dict[str, Any]:
    """What was proposed, and whether the claim stored differs from it."""
    edited = (payload.get("start"), payload.get("end"), payload.get("stance"),
              payload.get("actor")) != (suggestion.start, suggestion.end, suggestion.stance,
                                        suggestion.actor)
    return {"source": suggestion.source, "model_version": ref.version if ref else None,
            "start": suggestion.start, "end": suggestion.end, "actor": suggestion.actor,
            "stance": suggestion.stance, "score": round(suggestion.score, 3),
            "edited": edited}


def provenance_for_create(user: User, document: Document, payload: Any
                          ) -> dict[str, Any] | None:
    """For a claim create naming `suggestion_id` (the page's "edit, then accept", sent
    through its save queue): remove the id from the payload and return the provenance to
    store; None when the create names no suggestion. A replay of the create (same
    client_id) still finds it, so the user's own claims do not hide it here."""
    if not isinstance(payload, dict) or "suggestion_id" not in payload:
        return None
    suggestion_id = payload.pop("suggestion_id")
    if not isinstance(suggestion_id, str) or not document.project.suggestions_enabled:
        raise InvalidInput("no such suggestion", {"suggestion_id": "no such suggestion"})
    found, ref = _document_suggestions(document)
    for suggestion in found:
        if suggestion.id == suggestion_id:
            # One suggestion makes at most one claim of each annotator (accepting it again
            # answers with the first): an edited copy saved after the suggestion was
            # accepted elsewhere (the list, another tab, a draft restored) is a conflict
            # with that claim, not a second claim. A replay of a create that made a claim
            # is not: create_claim_once answers it with that claim, whatever came since.
            key = payload.get("client_id")
            replay = isinstance(key, str) and claims.claim_by_client_id(user, key) is not None
            earlier = None if replay else _accepted_before(user, document, suggestion_id)
            if earlier is not None:
                raise claims.suggestion_taken(user, earlier)
            return _provenance(suggestion, ref, payload)
    raise InvalidInput("no such suggestion", {"suggestion_id": "no such suggestion"})


def reject(user: User, document: Document, suggestion_id: str) -> None:
    """Remember that the user does not want this suggestion on this document."""
    start, end = _span(suggestion_id)
    if end > len(document.text):
        raise NotFound("no such suggestion")
    exists = db.session.execute(select(SuggestionRejection.id).where(
        SuggestionRejection.user_id == user.id, SuggestionRejection.document_id == document.id,
        SuggestionRejection.start == start, SuggestionRejection.end == end)).first()
    if exists is None:
        db.session.add(SuggestionRejection(user_id=user.id, document_id=document.id,
                                           start=start, end=end))
        db.session.commit()


def set_enabled(project: Project, enabled: bool) -> None:
    project.suggestions_enabled = bool(enabled)
    db.session.commit()


# ---------- the model: training data, training, versions ----------


def _learnt_from(project: Project) -> tuple[Any, ...]:
    # The claims a model learns from: gold, and suggestions annotators accepted that
    # adjudication did not reject.
    return (Document.project_id == project.id, Claim.deleted_at.is_(None),
            (Claim.is_gold.is_(True))
            | ((Claim.origin == "suggestion") & Claim.rejected.is_(False)))


def check_trainable(project: Project) -> None:
    """InvalidInput at once when the project has too few labelled documents to train on
    (training itself runs elsewhere, and may still find too little to learn)."""
    found = db.session.execute(
        select(func.count(func.distinct(Claim.document_id)))
        .join(Document, Document.id == Claim.document_id)
        .where(*_learnt_from(project))).scalar_one()
    if found < suggester_model.MIN_DOCUMENTS:
        message = (f"need claims on at least {suggester_model.MIN_DOCUMENTS} documents, "
                   f"found {found}")
        raise InvalidInput(f"not enough annotations to train on: {message}",
                           {"(project)": message})


def training_documents(project: Project) -> list[suggester_model.TrainingDocument]:
    """Documents to learn from: each document's gold claims if it has any, else the
    claims annotators accepted from suggestions (live, not rejected by adjudication)."""
    rows = db.session.execute(
        select(Claim.document_id, Claim.start, Claim.end, Claim.stance, Actor.name,
               Claim.is_gold)
        .join(Document, Document.id == Claim.document_id)
        .outerjoin(Actor, Actor.id == Claim.actor_id)
        .where(*_learnt_from(project))
    ).all()
    gold: dict[int, list[suggester_model.LabelledSpan]] = {}
    accepted: dict[int, list[suggester_model.LabelledSpan]] = {}
    for doc_id, start, end, stance, actor, is_gold in rows:
        target = gold if is_gold else accepted
        target.setdefault(doc_id, []).append(
            suggester_model.LabelledSpan(start, end, stance, actor))
    labelled = {**accepted, **gold}  # gold wins where a document has both
    if not labelled:
        return []
    texts = db.session.execute(
        select(Document.id, Document.text).where(Document.id.in_(labelled))
        .order_by(Document.id)).all()
    return [suggester_model.TrainingDocument(doc_id, text, labelled[doc_id])
            for doc_id, text in texts]


def train(project: Project, user: User | None = None, *, commit: bool = True
          ) -> SuggestionModel:
    """Train a new model version from the project's gold and accepted claims, score it on
    held-out documents and store it; InvalidInput when there is too little to learn. With
    ``commit=False`` the version is only flushed: the caller commits it with its own
    record of the training (services/training.py)."""
    documents = training_documents(project)
    try:
        fitted, scores = suggester_model.train(documents)
    except suggester_model.NotEnoughData as exc:
        raise InvalidInput(f"not enough annotations to train on: {exc}",
                           {"(project)": str(exc)}) from None
    version = (db.session.execute(select(func.max(SuggestionModel.version)).where(
        SuggestionModel.project_id == project.id)).scalar() or 0) + 1
    row = SuggestionModel(project_id=project.id, version=version, scores=scores,
                          document_ids=sorted(d.id for d in documents),
                          blob=_seal(suggester_model.dumps(fitted)),
                          trained_by_id=user.id if user else None)
    db.session.add(row)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return row


def model_versions(project: Project) -> list[dict[str, Any]]:
    """Every trained version, newest first, with its held-out scores."""
    rows = db.session.execute(
        select(SuggestionModel.version, SuggestionModel.created_at, SuggestionModel.scores,
               User.username)
        .outerjoin(User, User.id == SuggestionModel.trained_by_id)
        .where(SuggestionModel.project_id == project.id)
        .order_by(SuggestionModel.version.desc())).all()
    return [{"version": version, "created_at": isoformat(created), "scores": scores,
             "trained_by": username} for version, created, scores, username in rows]


def origin_report(project: Project) -> dict[str, Any]:
    """How claims accepted from suggestions compare with hand-drawn ones.

    `annotators`: per annotator, claims drawn by hand, accepted from suggestions and, of
    those, changed before accepting. `with_gold`: per origin, on documents with gold
    claims, how many annotators' claims overlap a gold claim, and overlap one with the same
    stance (shares of the claims on those documents). Live claims only.
    """
    rows = db.session.execute(
        select(User.username, Claim.origin, Claim.suggestion, Claim.document_id,
               Claim.start, Claim.end, Claim.stance, Claim.is_gold)
        .join(User, User.id == Claim.annotator_id)
        .join(Document, Document.id == Claim.document_id)
        .where(Document.project_id == project.id, Claim.deleted_at.is_(None))).all()
    gold: dict[int, list[tuple[int, int, str]]] = {}
    for row in rows:
        if row.is_gold:
            gold.setdefault(row.document_id, []).append((row.start, row.end, row.stance))
    counts: dict[str, dict[str, Any]] = {}
    versus = {origin: {"origin": origin, "claims": 0, "overlap": 0, "same_stance": 0}
              for origin in ("manual", "suggestion")}
    for row in rows:
        if row.is_gold:
            continue
        origin = "suggestion" if row.origin == "suggestion" else "manual"
        entry = counts.setdefault(row.username, {"annotator": row.username, "manual": 0,
                                                 "suggestion": 0, "edited": 0})
        entry[origin] += 1
        entry["edited"] += bool(origin == "suggestion"
                                and (row.suggestion or {}).get("edited"))
        if row.document_id in gold:
            hits = [g for g in gold[row.document_id] if g[0] < row.end and row.start < g[1]]
            tally = versus[origin]
            tally["claims"] += 1
            tally["overlap"] += bool(hits)
            tally["same_stance"] += any(g[2] == row.stance for g in hits)
    for tally in versus.values():
        n = tally["claims"]
        tally["overlap_share"] = tally["overlap"] / n if n else None
        tally["same_stance_share"] = tally["same_stance"] / n if n else None
    return {"annotators": sorted(counts.values(), key=lambda e: e["annotator"]),
            "with_gold": list(versus.values())}

