"""Opportunity classifier v2: a calibrated linear model learned from labelled posts.

What it does: turns a post's text into features and scores how likely it is an open call the
team can answer (0..1, calibrated), names its category and says which words weighed most.
Features, all sparse:
- TF-IDF (sublinear, L2-normalised) over hashed tokens (HashingVectorizer, 2^20 columns): word
  unigrams and bigrams of the lowercased text without its URLs and e-mail
  addresses, in which `?`, `!` and `:` are tokens of their own (a question to the reader and
  "Deadline:" are signs of a call). Hashing rather than a fixed vocabulary matters: words never
  seen in training still count in a post's length, so "pray for boston #prayforboston" is not
  read as nothing but "for";
- TF-IDF over the first four letters of every longer word, a cheap stand-in for character
  n-grams: "nomineer", "nomineren", "nominate" and "nominations" share `<nomi`, "inzenden" and
  "inzending" share `<inze` (scikit-learn's char n-grams cost ten times as much here);
- the negative rule cues of opportunity scorer v1 (vacancy, promotion, closed call, already
  featured, giveaway, poll, advice among friends, event announcement, news appeal, a deadline
  already passed), one column each, scaled down so that they nudge rather than decide;
- four shape columns on the same scale: the post has a link, has an e-mail address, is short
  (under eight words), names an outlet's audience ("voor Emerce-lezers", "for our readers").
  Inside TF-IDF a link would weigh more the shorter the post, and a bare "pray for boston
  http://t.co/x" would read as mostly link.
The detector is scikit-learn's `LogisticRegression` (balanced classes) wrapped in
`CalibratedClassifierCV` (sigmoid, 5 folds): the score is a probability the threshold in
feeds.yaml (`opportunities.min_score`) can be read against. A second logistic regression, on the
positives only, names the category.

What it does not do: read files (bot/opportunity_data.py loads the shipped dataset and trains
once per process), extract deadlines, askers or how to respond (detectors/opportunities.py and
detectors/opportunity_extract.py), or decide whether to alert (bot/alerts.py).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32

from detectors.opportunities import AGAINST_KINDS, against_cues, names_audience

__all__ = ["CATEGORIES", "LabelledPost", "OpportunityModel", "analyze"]

CATEGORIES: tuple[str, ...] = (
    "submission",
    "journalist_request",
    "speakers",
    "guests",
    "awards",
    "participants",
    "guest_blog",
)

# The value of a rule column (negative cue, shape) next to a TF-IDF row of unit length, and the
# inverse regularisation of both linear models: picked together by 5-fold cross-validation on
# the 1,860 posts shipped then (C 3 to 1,000, scale 0.03 to 1; F1 rose from 0.87 at C 3 to a
# plateau of about 0.905 in both languages from C 100 with a scale of 0.1 or below; see
# dev-notes), and checked again on 2,180 posts (C 10 to 300 within 0.01 of each other).
AGAINST_SCALE = 0.1
C = 300.0
PREFIX_LETTERS = 4
# Hashed token columns: 2^20 keeps collisions among the ~60,000 tokens of the data rare.
HASH_FEATURES = 1 << 20

_URL = re.compile(r"https?://\S+|www\.\S+")
_MAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TOKEN = re.compile(r"[#@]?\w[\w'-]*|[?!:]")


def words_of(text: str) -> list[str]:
    """The lowercased words (and `?`, `!`, `:`) of a text, without its URLs and addresses."""
    lowered = unicodedata.normalize("NFC", text).lower().replace("’", "'")
    # Addresses are features of their own (`_rule_matrix`); their letters would only add noise.
    # (Substring checks first: most posts have neither, and a regex pass costs more.)
    if "http" in lowered or "www." in lowered:
        lowered = _URL.sub(" ", lowered)
    if "@" in lowered:
        lowered = _MAIL.sub(" ", lowered)
    return _TOKEN.findall(lowered)


def analyze(text: str) -> list[str]:
    """The model's tokens of one text: words, word bigrams and four-letter word prefixes."""
    words = words_of(text)
    tokens = list(words)
    tokens.extend(f"{a} {b}" for a, b in itertools.pairwise(words))
    tokens.extend("<" + w[:PREFIX_LETTERS] for w in words if len(w) > PREFIX_LETTERS)
    return tokens


@dataclass(frozen=True, slots=True)
class LabelledPost:
    """One post of the training data."""

    text: str
    label: bool
    posted_at: datetime
    category: str | None = None  # one of CATEGORIES for a positive
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    """The model's view of one post, before extraction."""

    score: float  # calibrated probability that the post is an open call
    category: str
    reasons: tuple[str, ...]  # the words and cues that weighed most, strongest first
    names_audience: bool = False  # "voor Emerce-lezers", "for our readers" (a rule column)


# Shape features after the negative cues. A link or an address in a TF-IDF row would weigh more
# the shorter the post ("pray for boston http://t.co/x" would be mostly link); as fixed columns
# they weigh the same in every post.
AUDIENCE_SHAPE = "names its audience"
SHAPES: tuple[str, ...] = ("a link", "an e-mail address", "a short post", AUDIENCE_SHAPE)
SHORT_POST_WORDS = 8
RULE_COLUMNS: tuple[str, ...] = (*AGAINST_KINDS, *SHAPES)


def _rule_matrix(texts: Sequence[str], times: Sequence[datetime]) -> sp.csr_matrix:
    rows: list[int] = []
    cols: list[int] = []
    shapes = len(AGAINST_KINDS)
    for row, (text, at) in enumerate(zip(texts, times, strict=True)):
        hits = [col for col, _ in against_cues(text, at)]
        lowered = text.lower()
        if ("http" in lowered or "www." in lowered) and _URL.search(lowered):
            hits.append(shapes)
        if "@" in text and _MAIL.search(text):
            hits.append(shapes + 1)
        if len(text.split()) < SHORT_POST_WORDS:
            hits.append(shapes + 2)
        if names_audience(text):
            hits.append(shapes + 3)
        rows.extend([row] * len(hits))
        cols.extend(hits)
    data = np.full(len(rows), AGAINST_SCALE)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(texts), len(RULE_COLUMNS)))


# Words that weigh in the model but explain nothing to a reader.
_SHOWN_NOT = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "be",
        "we",
        "you",
        "your",
        "our",
        "de",
        "het",
        "een",
        "en",
        "te",
        "op",
        "voor",
        "zijn",
        "wij",
        "je",
        "jij",
        "jullie",
        "u",
        "uw",
        "ons",
        "onze",
        "ge",
        "gij",
        "met",
        "van",
        "die",
        "dat",
        "!",
        ":",
        "?",
    ]
)


_HASHER = HashingVectorizer(
    analyzer=analyze, n_features=HASH_FEATURES, alternate_sign=False, norm=None
)


def _column(token: str) -> int:
    """The hashed column of one token, as HashingVectorizer computes it."""
    return int(abs(murmurhash3_32(token, seed=0))) % HASH_FEATURES


def _label_of(token: str) -> str:
    return f"{token[1:]}…" if token.startswith("<") else token


class HashedTfidf:
    """TF-IDF over hashed tokens, kept to the columns seen in training.

    Sublinear term frequency (1 + ln tf) times smooth IDF, L2-normalised over *every* token of
    the post, the unseen ones weighted like the rarest seen (ln(1 + n) + 1), and only then cut
    down to the seen columns: a post of unknown words keeps its few known ones small. The
    linear models see ~60,000 columns instead of 2^20, which keeps training and the cache small.
    """

    def __init__(self, counts: sp.csr_matrix) -> None:
        counts = counts.tocsc()
        df = np.diff(counts.indptr)
        self.columns: NDArray[np.int64] = np.flatnonzero(df).astype(np.int64)
        n = counts.shape[0]
        self.idf: NDArray[np.float64] = np.log((1.0 + n) / (1.0 + df[self.columns])) + 1.0
        self.unseen_idf = float(np.log(1.0 + n) + 1.0)

    def position(self, hashed: NDArray[np.int64]) -> NDArray[np.int64]:
        """Index among the seen columns, -1 for a column never seen in training."""
        place = np.searchsorted(self.columns, hashed)
        place = np.minimum(place, len(self.columns) - 1)
        return np.where(self.columns[place] == hashed, place, -1)

    def transform(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        counts = counts.tocsr()
        counts.sum_duplicates()
        position = self.position(counts.indices.astype(np.int64))
        seen = position >= 0
        data = (1.0 + np.log(counts.data)) * np.where(
            seen, self.idf[np.maximum(position, 0)], self.unseen_idf
        )
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=counts.shape[0]))
        data = data / np.where(norms > 0, norms, 1.0)[rows]
        return sp.csr_matrix(
            (data[seen], (rows[seen], position[seen])),
            shape=(counts.shape[0], len(self.columns)),
        )


class OpportunityModel:
    """The trained classifier; build it with `OpportunityModel.train`."""

    def __init__(
        self,
        tfidf: HashedTfidf,
        detector: CalibratedClassifierCV,
        categorizer: LogisticRegression,
        token_names: dict[int, str],
    ) -> None:
        self._tfidf = tfidf
        self._detector = detector
        self._categorizer = categorizer
        self._token_names = token_names  # column -> token, for the tokens seen in training
        self._offset = len(tfidf.columns)  # the rule columns come after the word columns
        # The uncalibrated model fitted on all the data: its weights say why (the calibration
        # is monotone, so the words that raise its logit are the ones that raise the score).
        base = detector.calibrated_classifiers_[0].estimator
        self._weights: NDArray[np.float64] = np.asarray(base.coef_[0], dtype=np.float64)

    @classmethod
    def train(cls, examples: Sequence[LabelledPost], *, seed: int = 0) -> OpportunityModel:
        """Fit on `examples` (both labels present, at least 5 of each); deterministic per seed."""
        labels = np.array([e.label for e in examples], dtype=bool)
        if labels.sum() < 5 or (~labels).sum() < 5:
            raise ValueError("need at least 5 positive and 5 negative examples to train")
        texts = [e.text for e in examples]
        counts = _HASHER.transform(texts)
        tfidf = HashedTfidf(counts)
        words = tfidf.transform(counts)
        features = sp.hstack([words, _rule_matrix(texts, [e.posted_at for e in examples])]).tocsr()
        detector = CalibratedClassifierCV(
            LogisticRegression(C=C, solver="liblinear", class_weight="balanced", random_state=seed),
            method="sigmoid",
            cv=5,
            ensemble=False,
        )
        detector.fit(features, labels)
        positives = np.flatnonzero(labels)
        categories = [examples[int(i)].category or "submission" for i in positives]
        categorizer = LogisticRegression(C=C, max_iter=2000, random_state=seed)
        categorizer.fit(features[positives], categories)
        names: dict[int, str] = {}
        for text in texts:
            tokens = analyze(text)
            places = tfidf.position(np.array([_column(t) for t in tokens], dtype=np.int64))
            for token, place in zip(tokens, places.tolist(), strict=True):
                names.setdefault(place, token)
        return cls(tfidf, detector, categorizer, names)

    def _name(self, col: int) -> str:
        if col >= self._offset:
            return RULE_COLUMNS[col - self._offset]
        return _label_of(self._token_names.get(col, "?"))

    def _features(self, texts: Sequence[str], times: Sequence[datetime]) -> sp.csr_matrix:
        words = self._tfidf.transform(_HASHER.transform(texts))
        return sp.hstack([words, _rule_matrix(texts, times)]).tocsr()

    def scores(self, texts: Sequence[str], times: Sequence[datetime]) -> NDArray[np.float64]:
        """Calibrated probability, per text, that it is an open call."""
        if not texts:
            return np.zeros(0)
        proba = self._detector.predict_proba(self._features(texts, times))
        return np.asarray(proba[:, 1], dtype=np.float64)

    def judge(
        self, texts: Sequence[str], times: Sequence[datetime], *, explain_above: float = 0.0
    ) -> list[Judgement]:
        """Score, category and reasons per text; category and reasons only above the bar."""
        if not texts:
            return []
        features = self._features(texts, times)
        scores = self._detector.predict_proba(features)[:, 1]
        out: list[Judgement] = []
        explain = np.flatnonzero(scores >= explain_above)
        categories: dict[int, str] = {}
        if len(explain):
            predicted = self._categorizer.predict(features[explain])
            for index, name in zip(explain.tolist(), predicted, strict=True):
                categories[index] = str(name)
        audience = self._offset + len(AGAINST_KINDS) + SHAPES.index(AUDIENCE_SHAPE)
        indptr, indices, data = features.indptr, features.indices, features.data
        for index, score in enumerate(scores):
            start, end = indptr[index], indptr[index + 1]
            cols, values = indices[start:end], data[start:end]
            named = bool((cols == audience).any())
            if index in categories:
                reasons = self._reasons(cols, values)
                out.append(Judgement(float(score), categories[index], reasons, named))
            else:
                out.append(Judgement(float(score), "", (), named))
        return out

    def keywords(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """The post's most distinctive words that are not the language of a call.

        A stand-in topic when the post names none with "over"/"about": the single words with the
        highest TF-IDF in this post, leaving out words the model counts as call words (positive
        weight: "zoeken", "deadline", "submit") and short or function words.
        """
        tfidf = self._tfidf
        best: dict[str, float] = {}
        tokens = [
            t
            for t in dict.fromkeys(words_of(text))
            if len(t) >= 4 and t[0] not in "#@" and t not in _SHOWN_NOT
        ]
        places = tfidf.position(np.array([_column(t) for t in tokens], dtype=np.int64))
        for token, place in zip(tokens, places.tolist(), strict=True):
            if place >= 0 and self._weights[place] > 0:
                continue
            best[token] = float(tfidf.idf[place]) if place >= 0 else tfidf.unseen_idf
        ranked = sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))
        return tuple(token for token, _ in ranked[:limit])

    def _reasons(
        self, cols: NDArray[np.int32], values: NDArray[np.float64], limit: int = 4
    ) -> tuple[str, ...]:
        """What pushed hardest: "words of a call: 'stuur je', 'deadline'", "against: poll"."""
        contributions = values * self._weights[cols]
        reasons: list[str] = []
        against: list[str] = []
        # Only the positive pushes are candidates for "words of a call", strongest first; the
        # rule columns (cues, shapes) are few and all looked at.
        for position in np.argsort(-contributions):
            value = float(contributions[position])
            if value <= 0 or len(reasons) >= limit:
                break
            col = int(cols[position])
            name = self._name(col)
            if col >= self._offset + len(AGAINST_KINDS):
                reasons.append(name)  # a shape: "a link", "an e-mail address"
            elif col < self._offset and name not in _SHOWN_NOT:
                reasons.append(f"'{name}'")
        for position in np.flatnonzero((cols >= self._offset) & (contributions < 0)):
            col = int(cols[position])
            if col < self._offset + len(AGAINST_KINDS):
                against.append(f"against: {self._name(col)}")
        head = ("words of a call: " + ", ".join(reasons),) if reasons else ()
        return head + tuple(against)
