"""A suggestion model learnt from a project's own claims (scikit-learn).

Three tasks on sentences: does the sentence hold a claim (claim-sentence detection), whose
claim is it (actor) and how do they stand on it (stance); TF-IDF features and logistic
regression. `train` scores each task on held-out documents before fitting on them all.
`suggest` combines the model with the attribution-cue rules.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import text as nlp_text
from .rules import Rules, Sentence, Suggestion, content_span, nearest_mention

FORMAT = 1
# A rule suggestion the model finds this unlikely to hold a claim is dropped...
DROP_BELOW = 0.2
# ...and a sentence without a cue is suggested from this probability on.
SUGGEST_FROM = 0.5
MIN_DOCUMENTS = 2


class NotEnoughData(ValueError):
    """Too few labelled documents or sentences to learn from."""


@dataclass(frozen=True)
class LabelledSpan:
    start: int
    end: int
    stance: str
    actor: str | None


@dataclass
class TrainingDocument:
    id: int
    text: str
    claims: list[LabelledSpan] = field(default_factory=list)


@dataclass
class Example:
    text: str
    context: str  # the previous sentence and this one: who "he" is often comes before
    has_claim: bool
    stance: str | None
    actor: str | None


def examples(document: TrainingDocument) -> list[Example]:
    """One example per sentence; a sentence holds the claim that overlaps it most."""
    doc = nlp_text.parse(document.text)
    found = []
    previous = ""
    for start, end in nlp_text.sentence_spans(doc):
        sentence = document.text[start:end]
        best, best_overlap = None, 0
        for claim in document.claims:
            overlap = min(end, claim.end) - max(start, claim.start)
            if overlap > best_overlap:
                best, best_overlap = claim, overlap
        found.append(Example(sentence, f"{previous} {sentence}", best is not None,
                             best.stance if best else None, best.actor if best else None))
        previous = sentence
    return found


class _Constant:
    """Predicts the one label seen in training (LogisticRegression needs two classes)."""

    def __init__(self, label: Any) -> None:
        self.classes_ = [label]

    def predict_proba(self, rows: Any) -> Any:
        import numpy as np

        return np.ones((rows.shape[0], 1))


def _classifier(features: Any, labels: Sequence[Any], balanced: bool = False) -> Any:
    from sklearn.linear_model import LogisticRegression

    if len(set(labels)) < 2:
        return _Constant(labels[0])
    clf = LogisticRegression(max_iter=2000, C=4.0,
                             class_weight="balanced" if balanced else None)
    return clf.fit(features, list(labels))


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=50000)


@dataclass
class SuggestionModel:
    sentence_vec: Any
    claim_clf: Any
    context_vec: Any
    actor_clf: Any | None
    stance_clf: Any | None
    format: int = FORMAT

    def claim_probability(self, sentences: list[str] | Any) -> list[float]:
        """P(the sentence holds a claim); `sentences` may be their features already."""
        features = (self.sentence_vec.transform(sentences) if isinstance(sentences, list)
                    else sentences)
        classes = list(self.claim_clf.classes_)
        if True not in classes:
            return [0.0] * features.shape[0]
        proba = self.claim_clf.predict_proba(features)
        return [float(p) for p in proba[:, classes.index(True)]]

    def _label(self, clf: Any, features: Any) -> list[tuple[Any, float]]:
        if clf is None or features.shape[0] == 0:
            return [(None, 0.0)] * features.shape[0]
        proba = clf.predict_proba(features)
        best = proba.argmax(axis=1)
        return [(clf.classes_[i], float(proba[r, i])) for r, i in enumerate(best)]

    def stances(self, sentences: list[str] | Any) -> list[tuple[str | None, float]]:
        features = (self.sentence_vec.transform(sentences) if isinstance(sentences, list)
                    else sentences)
        return self._label(self.stance_clf, features)

    def actors(self, contexts: list[str]) -> list[tuple[str | None, float]]:
        if not contexts:
            return []
        labels = self._label(self.actor_clf, self.context_vec.transform(contexts))
        return [(None if a == "" else a, p) for a, p in labels]


def fit(examples_: list[Example]) -> SuggestionModel:
    """Fit the three tasks on these sentences; NotEnoughData without claims or without
    sentences free of claims."""
    labels = [e.has_claim for e in examples_]
    if not any(labels) or all(labels):
        raise NotEnoughData("need sentences with claims and sentences without")
    sentence_vec = _vectorizer().fit([e.text for e in examples_])
    context_vec = _vectorizer().fit([e.context for e in examples_])
    claim_clf = _classifier(sentence_vec.transform([e.text for e in examples_]), labels,
                            balanced=True)
    positive = [e for e in examples_ if e.has_claim]
    stance_clf = _classifier(sentence_vec.transform([e.text for e in positive]),
                             [e.stance for e in positive])
    actor_clf = _classifier(context_vec.transform([e.context for e in positive]),
                            [e.actor or "" for e in positive])
    return SuggestionModel(sentence_vec, claim_clf, context_vec, actor_clf, stance_clf)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall else
          (0.0 if precision is not None and recall is not None else None))
    return {"precision": precision, "recall": recall, "f1": f1}


def _label_scores(gold: list[Any], predicted: list[Any]) -> dict[str, Any]:
    """Accuracy and macro-averaged precision, recall and F1 over the gold labels."""
    if not gold:
        return {"accuracy": None, "precision": None, "recall": None, "f1": None, "support": 0}
    per_label = []
    for label in sorted(set(gold), key=str):
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p == label and g != label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        per_label.append(_prf(tp, fp, fn))

    def mean(key: str) -> float:
        return sum(s[key] or 0.0 for s in per_label) / len(per_label)

    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)
    return {"accuracy": accuracy, "precision": mean("precision"), "recall": mean("recall"),
            "f1": mean("f1"), "support": len(gold)}


def evaluate(model: SuggestionModel, examples_: list[Example]) -> dict[str, Any]:
    """Held-out scores of the three tasks (actor and stance on the sentences with claims)."""
    probability = model.claim_probability([e.text for e in examples_])
    tp = sum(1 for e, p in zip(examples_, probability, strict=True) if e.has_claim and p >= .5)
    fp = sum(1 for e, p in zip(examples_, probability, strict=True)
             if not e.has_claim and p >= .5)
    fn = sum(1 for e, p in zip(examples_, probability, strict=True) if e.has_claim and p < .5)
    positive = [e for e in examples_ if e.has_claim]
    stances = [s for s, _ in model.stances([e.text for e in positive])]
    actors = [a for a, _ in model.actors([e.context for e in positive])]
    return {
        "claim_sentence": {**_prf(tp, fp, fn), "support": tp + fn},
        "stance": _label_scores([e.stance for e in positive], stances),
        "actor": _label_scores([e.actor for e in positive], actors),
    }


def train(documents: list[TrainingDocument], *, test_fraction: float = 0.2,
          seed: int = 0) -> tuple[SuggestionModel, dict[str, Any]]:
    """The model fitted on every document, and its scores on held-out documents.

    Documents are split (not sentences), so the scores say how the model does on articles
    it has not seen. Raises NotEnoughData when there is too little to learn from.
    """
    with_claims = [d for d in documents if d.claims]
    if len(with_claims) < MIN_DOCUMENTS:
        raise NotEnoughData(f"need claims on at least {MIN_DOCUMENTS} documents, "
                            f"found {len(with_claims)}")
    per_document = {d.id: examples(d) for d in documents}
    order = sorted(per_document)
    random.Random(seed).shuffle(order)  # noqa: S311 (a reproducible split, not a secret)
    n_test = max(1, round(len(order) * test_fraction))
    test_ids, train_ids = set(order[:n_test]), order[n_test:]
    train_rows = [e for i in train_ids for e in per_document[i]]
    test_rows = [e for i in test_ids for e in per_document[i]]
    try:
        scores = evaluate(fit(train_rows), test_rows)
    except NotEnoughData:
        scores = {"claim_sentence": None, "stance": None, "actor": None}
    all_rows = [e for rows in per_document.values() for e in rows]
    model = fit(all_rows)
    scores.update(
        train_documents=len(train_ids), test_documents=len(test_ids),
        train_sentences=len(train_rows), test_sentences=len(test_rows),
        documents=len(documents), sentences=len(all_rows),
        claim_sentences=sum(1 for e in all_rows if e.has_claim),
        labels={"stance": dict(Counter(e.stance for e in all_rows if e.has_claim)),
                "actor": len({e.actor for e in all_rows if e.has_claim and e.actor})},
    )
    return model, scores


def dumps(model: SuggestionModel) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def loads(blob: bytes) -> SuggestionModel:
    """Unpickle a model this application stored (never load one from elsewhere: pickle
    runs code)."""
    import joblib

    model = joblib.load(io.BytesIO(blob))
    if getattr(model, "format", None) != FORMAT:
        raise ValueError("stored suggestion model has an unknown format")
    return model


def suggest(doc: Any, rules: Rules, model: SuggestionModel | None) -> list[Suggestion]:
    """Suggestions for one parsed document: the rules', refined by the model if given.

    With a model, a sentence is suggested when the model finds it likely to hold a claim
    or when a cue marks it and the model does not rule it out; the stance is the cue's when
    a cue marks the sentence and the model's otherwise, the actor the one mentioned nearest
    the cue, else the model's.
    """
    if model is None:
        return rules.suggest(doc)
    text = nlp_text.text_of(doc)
    sentences = [s for s in rules.sentences(doc) if text[s.start:s.end].strip()]
    if not sentences:
        return []
    texts = [text[s.start:s.end] for s in sentences]
    features = model.sentence_vec.transform(texts)
    probability = model.claim_probability(features)
    # Stance and actor only where they are needed: suggested sentences without a cue (the
    # stance) or without a known name (the actor).
    cues = [s.best_cue(rules.generic_stance) for s in sentences]
    kept = [i for i, (cue, p) in enumerate(zip(cues, probability, strict=True))
            if (p >= DROP_BELOW if cue is not None else p >= SUGGEST_FROM)]
    need_stance = [i for i in kept if cues[i] is None]
    need_actor = [i for i in kept if not sentences[i].mentions]
    stances = dict(zip(need_stance, model.stances(features[need_stance]), strict=True))
    actors = dict(zip(need_actor, model.actors(
        [f"{texts[i - 1] if i else ''} {texts[i]}" for i in need_actor]), strict=True))
    found = []
    for i in kept:
        suggestion = _combined(doc, text, rules, sentences[i], probability[i],
                               stances.get(i, (None, 0.0)), actors.get(i, (None, 0.0)))
        if suggestion is not None:
            found.append(suggestion)
    return found


def _combined(doc: Any, text: str, rules: Rules, sentence: Sentence, probability: float,
              stance: tuple[str | None, float], actor: tuple[str | None, float]
              ) -> Suggestion | None:
    cue = sentence.best_cue(rules.generic_stance)
    if cue is not None and probability < DROP_BELOW:
        return None
    if cue is None and probability < SUGGEST_FROM:
        return None
    mention = nearest_mention(sentence, cue)
    span = content_span(doc, sentence, cue, mention)
    if span is None:
        return None
    chosen_stance = cue.stance if cue is not None else stance[0]
    if chosen_stance is None:
        return None
    chosen_actor = mention.actor if mention else actor[0]
    return Suggestion(
        start=span[0], end=span[1], text=text[span[0]:span[1]], stance=chosen_stance,
        actor=chosen_actor, actor_mention=(mention.start, mention.end) if mention else None,
        cue=(cue.start, cue.end) if cue else None,
        source="rules+model" if cue is not None else "model", score=probability)
