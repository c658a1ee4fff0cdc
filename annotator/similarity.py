"""Rank texts by similarity to a query: TF-IDF over word and character n-grams, cosine.

Pure (scikit-learn only, no Flask, no database), offline. Character n-grams make the ranking
forgiving of inflection and spelling ("shot down" / "shoots down", transliterated names);
words weigh the rarer terms. The fitted index is reusable: build it once per set of texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


@dataclass
class SimilarityIndex:
    """TF-IDF vectors of `texts`; `rank(query)` gives (index, score) best first."""

    texts: Sequence[str]

    def __post_init__(self) -> None:
        self._words = TfidfVectorizer(analyzer="word", lowercase=True, sublinear_tf=True,
                                      token_pattern=r"(?u)\b\w+\b")  # noqa: S106
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True,
                                      sublinear_tf=True)
        self._matrix = None
        if any(t.strip() for t in self.texts):
            try:
                self._matrix = self._vectors(self.texts, fit=True)
            except ValueError:  # nothing but stop characters: no vocabulary
                self._matrix = None

    def _vectors(self, texts: Sequence[str], *, fit: bool = False):
        if fit:
            words, chars = self._words.fit_transform(texts), self._chars.fit_transform(texts)
        else:
            words, chars = self._words.transform(texts), self._chars.transform(texts)
        return normalize(hstack([words, chars]).tocsr())

    def rank(self, query: str, limit: int = 10, minimum: float = 0.0) -> list[tuple[int, float]]:
        """The indices of the most similar texts with their cosine in [0, 1], best first
        (ties by index); at most `limit`, none below `minimum`."""
        if self._matrix is None or not query.strip():
            return []
        # A dense query vector: sparse-matrix times dense-vector is the fast product.
        scores = self._matrix @ self._vectors([query]).toarray().ravel()
        count = min(limit, len(scores))
        if count <= 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.lexsort((top, -scores[top]))]  # best first, ties by index
        return [(int(i), round(float(scores[i]), 4)) for i in top if scores[i] > minimum]
