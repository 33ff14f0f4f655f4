"""Streaming significance of terms and term pairs, after SigniTrend (Schubert et al., KDD 2014).

What it does: counts every term and every pair of terms of each post into fixed-size hashed
tables (two hash functions, count-min style), one column per time bucket (5 minutes by default)
over a sliding window. When a bucket completes, it updates an exponentially weighted mean and
variance of each cell's *share* of the stream (count / posts in the bucket), so volume swings
over the day do not look like trends. New posts are scored as they arrive (at the next
`signals(now)`, which the engine calls every minute) over a short window (10 minutes) and a long
one (1 hour):

- SigniTrend significance z = (c - max(n*mu, b)) / (n*sigma + b), with c the term's (damped)
  count in the window, n the (damped) posts in the window, mu and sigma the bias-corrected EW mean
  and standard deviation of its share, and b a bias of `bias_posts` posts that keeps rare terms
  quiet;
- a Poisson tail test, -log10 P(X >= c | lambda = max(n*expected share, b)), which speaks on thin
  streams (a few posts a minute) where the z-score cannot;
- a seasonal baseline: the term's share in the same half hour of previous days and in the same
  hour of the week, kept as a decaying maximum, raises the expected share, so a term that rises
  every morning stops alerting after its first day;
- damping, so one account or a bot farm cannot make a trend: an author counts for a term at most
  once per window, and a post whose term set was seen recently (exactly, or nearly: a bottom-3
  sketch of its term hashes) weighs 1 / (1 + copies seen), so retweet chains and copy-paste
  campaigns add little.

A term or pair *signals* when it is significant (z >= min_z or surprise >= min_surprise, a bar
that rises with the number of keys tested at once, see `surprise_bar`), its
count is at least `min_ratio` times what is expected, and its evidence has enough posts, distinct
authors and distinct texts. Watch terms need fewer posts, twice their usual rate and no
significance. Memory is fixed by
the table sizes plus the posts of the last window (kept for evidence).

What it does not do: group signals into stories or decide lifecycle (detectors/topics.py), decide
what to alert (bot/alerts.py), read a clock (time is passed in) or touch I/O. `state()` returns
plain arrays and lists; the bot serializes them.
"""

from __future__ import annotations

import math
import sys
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammainc
from xxhash import xxh3_64_intdigest

from detectors.records import Post
from detectors.text import normalize_term, terms_of

MAX_EVIDENCE = 100
# A watch term needs no surprise, only `watch_min_posts` posts at twice its usual rate: the team
# asked to hear about it.
WATCH_RATIO = 2.0
_MASK64 = (1 << 64) - 1
# Multiplier of Knuth's multiplicative hashing: spreads combined hashes over all 64 bits.
_GOLDEN = 0x9E3779B97F4A7C15
# Cells of the (author, term) table: 2^22 (16 MiB of uint32); see _first_use.
_AUTHOR_BITS = 22
_SECONDS_PER_HOUR = 3600
# Seasonal cells are half hours: a routine such as a 09:00-09:30 stand-up keeps its full share
# in its cell, where an hourly mean would halve it.
_SLOT_SECONDS = 1800
_SLOTS_PER_DAY = 48
# 1970-01-01 was a Thursday: shift so that hour-of-week 0 is Monday 00:00 UTC.
_WEEK_OFFSET_HOURS = 3 * 24
_STATE_VERSION = 3
# Cells of the copy-counter table: 2^21 (16 MiB); 90 minutes of a busy stream's signatures
# (three a post) fill about 1 in 8, so both of a signature's cells are taken by others rarely.
_COPY_BITS = 21
_NEVER = np.iinfo(np.int32).min // 2
# A near-duplicate counter halves every this many buckets (30 minutes at 5-minute buckets).
_DUP_HALF_LIFE_BUCKETS = 6


@dataclass(frozen=True, slots=True)
class SignificanceParams:
    """Thresholds and sizes; bot/config.py builds this from feeds.yaml `detection:`."""

    bucket: timedelta = timedelta(minutes=5)
    short_window: timedelta = timedelta(minutes=10)
    window: timedelta = timedelta(hours=1)
    half_life: timedelta = timedelta(days=1)
    min_history: timedelta = timedelta(hours=1)
    min_posts: int = 5
    min_authors: int = 5
    min_ratio: float = 3.0
    min_z: float = 3.5
    min_surprise: float = 5.0
    # min_surprise holds while at most this many keys are tested in one flush; beyond, the bar
    # rises by log10(tested / surprise_keys) (see surprise_bar).
    surprise_keys: int = 1000
    watch_min_posts: int = 3
    bias_posts: float = 1.0
    pairs: bool = True
    max_pair_terms: int = 8
    seasonal: bool = True
    seasonal_decay: float = 0.5  # per day (half hour of day) and per week (hour of week)
    dedupe: bool = True
    table_bits: int = 18
    seasonal_bits: int = 15

    def __post_init__(self) -> None:
        if self.bucket <= timedelta(0):
            raise ValueError("bucket must be positive")
        if not self.bucket <= self.short_window <= self.window:
            raise ValueError("need bucket <= short_window <= window")
        if self.surprise_keys < 1:
            raise ValueError("surprise_keys must be at least 1")
        if not 10 <= self.seasonal_bits <= self.table_bits <= 26:
            raise ValueError("need 10 <= seasonal_bits <= table_bits <= 26")

    @property
    def window_buckets(self) -> int:
        return max(1, round(self.window / self.bucket))

    @property
    def short_buckets(self) -> int:
        return max(1, round(self.short_window / self.bucket))


@dataclass(frozen=True, slots=True)
class Signal:
    """One significant term (or pair), with the numbers that made it fire and its evidence."""

    terms: tuple[str, ...]  # one term, or two for a pair
    hashtag: bool  # the (first) term is mostly written as a hashtag
    count: float  # damped posts in the window that fired
    expected: float  # what the baseline predicts for that window
    z: float  # SigniTrend significance
    surprise: float  # -log10 of the Poisson tail probability
    ratio: float  # count / expected
    window: timedelta
    posts: int  # posts in the evidence (undamped)
    authors: int  # distinct authors in the evidence
    sources: tuple[str, ...]
    evidence: tuple[str, ...]  # post ids, newest first, at most MAX_EVIDENCE
    sparkline: tuple[int, ...]  # damped posts per bucket over the long window, oldest first
    watched: tuple[str, ...] = ()


@dataclass(slots=True)
class RecentPost:
    """What the detector keeps of a post for the length of the long window."""

    id: str
    author: str
    source: str
    at: float  # POSIX seconds
    terms: tuple[str, ...]  # a tuple, not a set: a quarter of the memory, for an hour of posts
    hashtags: tuple[str, ...]
    signature: int  # CRC-32 of the text (equal for exact copies); the author for short posts


@dataclass(slots=True)
class _Pending:
    """Counts not yet in the tables: per post its term hashes, weight, bucket and author."""

    keys: list[int] = field(default_factory=list)  # term hashes, all posts in a row
    lengths: list[int] = field(default_factory=list)  # how many of `keys` each post has
    signatures: list[int] = field(default_factory=list)  # copy signatures, all posts in a row
    signed: list[int] = field(default_factory=list)  # the post (index in this batch) of each
    buckets: list[int] = field(default_factory=list)  # per post
    authors: list[int] = field(default_factory=list)  # per post: the author's hash
    seqs: list[int] = field(default_factory=list)  # per post: its place in the recent posts


@dataclass(slots=True)
class _Batch:
    """A flushed batch as arrays: every key (terms, then pairs) with its weight and row."""

    keys: NDArray[np.uint64]
    weights: NDArray[np.float64]
    rows: NDArray[np.intp]
    pair_keys: NDArray[np.uint64]
    pair_first: NDArray[np.uint64]
    pair_second: NDArray[np.uint64]
    term_keys: NDArray[np.uint64]  # every term hash of the batch's posts (before damping)
    term_seqs: NDArray[np.int64]  # the post each of them came from


@dataclass(frozen=True, slots=True)
class _IndexChunk:
    """One flushed batch's (term hash, post) pairs sorted by hash: the evidence index.

    Both halves are 32 bits (8 bytes a term of a post): the low half of the term hash, which
    can collide, so a lookup checks the posts' terms; the post as an offset from `first_seq`.
    """

    keys: NDArray[np.uint32]
    offsets: NDArray[np.uint32]  # ascending within one key (a stable sort of arrival order)
    first_seq: int
    last_seq: int
    newest_bucket: int

    @classmethod
    def of(
        cls, hashes: NDArray[np.uint64], seqs: NDArray[np.int64], newest_bucket: int
    ) -> _IndexChunk:
        keys = (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        order = np.argsort(keys, kind="stable")
        first, last = int(seqs.min()), int(seqs.max())
        return cls(
            keys=keys[order],
            offsets=(seqs[order] - first).astype(np.uint32),
            first_seq=first,
            last_seq=last,
            newest_bucket=newest_bucket,
        )

    def seqs_of(self, term_hash: int) -> NDArray[np.int64]:
        wanted = np.uint32(term_hash & 0xFFFFFFFF)
        low = int(np.searchsorted(self.keys, wanted, side="left"))
        high = int(np.searchsorted(self.keys, wanted, side="right"))
        return self.offsets[low:high].astype(np.int64) + self.first_seq


_TRIANGLES: dict[int, tuple[NDArray[np.intp], NDArray[np.intp]]] = {}


def _table(shape: int | tuple[int, int], dtype: type[np.generic]) -> NDArray[Any]:
    """A zeroed table whose pages are all written now: np.zeros would get them lazily from the
    OS, so resident memory would creep up over the first week as cells are first touched; this
    way the detector's memory is fixed from its first post."""
    return np.full(shape, 0, dtype=dtype)


def _triangle(size: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Index pairs (i < j) of `size` items, cached: every pair of a post's head terms."""
    found = _TRIANGLES.get(size)
    if found is None:
        first, second = np.triu_indices(size, k=1)
        found = _TRIANGLES[size] = (first.astype(np.intp), second.astype(np.intp))
    return found


def pair_keys(first: NDArray[np.uint64], second: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """`pair_key` for arrays (uint64 arithmetic wraps modulo 2**64, as the & _MASK64 does)."""
    with np.errstate(over="ignore"):
        mixed = (first ^ second) * np.uint64(_GOLDEN) + (first & second)
    return np.asarray(mixed, dtype=np.uint64)


# Near-duplicates of longer posts are found by a bottom-3 sketch of their term hashes. Short
# posts share most of their few terms by chance, so only longer ones are compared this way;
# exact copies (retweets, copy-paste) are caught for every post by the full signature.
_MINHASH_MIN_TERMS = 6
# A post of one or two terms ("Hup! #oranje") has too little content to call it a copy: a crowd
# chanting a hashtag is a trend. Longer identical term sets are retweets or campaigns.
_COPY_MIN_TERMS = 3


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process (Python's hash() is salted per process,
    and the tables are checkpointed): XXH3 of the UTF-8 text, about 0.13 us a term, so no cache
    is needed on the hot path."""
    return xxh3_64_intdigest(text.encode("utf-8"))


def pair_key(a: int, b: int) -> int:
    """Order-independent key of a term pair from its terms' hashes."""
    return (((a ^ b) * _GOLDEN) + (a & b)) & _MASK64


def author_key(post: Post) -> str:
    # A feed item without an author is the outlet speaking: the source is its author, so one
    # busy feed cannot look like many people.
    return f"{post.source}/{post.author}" if post.author else post.source


def post_terms(post: Post) -> dict[str, bool]:
    """A post's terms as every detector counts them: text, title and the source's tags."""
    terms = terms_of(post.full_text)
    for tag in post.tags:
        # A tag with a colon is a source's label ("hn:top", "velocity:high"), not a topic.
        term = normalize_term(tag) if ":" not in tag else ""
        if term:
            terms[term] = True
    return terms


def surprise_bar(min_surprise: float, tested: int, reference: int) -> float:
    """The surprise a key needs when `tested` keys are scored at once (a Bonferroni bar).

    Each key tested is a chance for a 1-in-10^s fluke; a busy stream tests tens of thousands of
    terms and pairs a flush where a thin one tests tens, so a fixed bar lets a busy stream's
    noise through. Up to `reference` keys the bar is `min_surprise`; beyond, it rises by
    log10(tested / reference), which keeps the expected number of chance findings a flush the
    same. The bar never drops below `min_surprise`: thin streams keep their sensitivity.
    """
    return min_surprise + max(0.0, math.log10(max(tested, 1) / reference))


def poisson_surprise(count: NDArray[np.float64], lam: NDArray[np.float64]) -> NDArray[np.float64]:
    """-log10 P(X >= count) for X ~ Poisson(lam), for real-valued (damped) counts.

    P(X >= k) equals the regularized lower incomplete gamma function P(k, lam); for a
    non-integer k it interpolates smoothly between the integers around it.
    """
    safe = np.maximum(count, 1e-9)
    tail = np.asarray(gammainc(safe, lam), dtype=np.float64)
    return np.asarray(-np.log10(np.maximum(tail, 1e-300)), dtype=np.float64)


class SignificanceDetector:
    """Hashed streaming tables; `observe` posts (roughly in time order), ask `signals(now)`."""

    def __init__(
        self,
        params: SignificanceParams | None = None,
        *,
        watch_terms: Iterable[str] = (),
        exclude_terms: Iterable[str] = (),
    ) -> None:
        self.params = p = params or SignificanceParams()
        self._bucket_s = p.bucket.total_seconds()
        self._rows = p.window_buckets
        width = 1 << p.table_bits
        self._mask = width - 1
        self._season_mask = (1 << p.seasonal_bits) - 1
        self._alpha = 1.0 - 0.5 ** (1.0 / max(1.0, p.half_life / p.bucket))
        self.watch_terms = tuple(t for t in (normalize_term(w) for w in watch_terms) if t)
        self.exclude_terms = frozenset(t for t in (normalize_term(x) for x in exclude_terms) if t)
        self._watch_keys = self._keys_of_watch_terms()
        self._watch_array = np.array(sorted(self._watch_keys), dtype=np.uint64)
        # Tables: counts per bucket row, EW mean and variance of each cell's share.
        self._ring = _table((self._rows, width), dtype=np.float32)
        self._ring_total = _table(self._rows, dtype=np.float64)
        self._ring_bucket = np.full(self._rows, -1, dtype=np.int64)
        # The long window's counts per cell, kept as rows enter and leave (one gather to score).
        self._long_sum = _table(width, dtype=np.float64)
        # Scratch space for one flush (never read before it is written).
        self._scratch = np.empty(width, dtype=np.int32)
        self._mean = _table(width, dtype=np.float64)
        self._var = _table(width, dtype=np.float64)
        self._updates = 0
        # Seasonal tables: decaying max share per half hour of day / hour of week, and the
        # running counts of the current half hour that feed them when it ends.
        season_width = 1 << p.seasonal_bits
        self._day = _table((_SLOTS_PER_DAY, season_width), dtype=np.float32)
        self._week = _table((168, season_width), dtype=np.float32)
        self._day_stamp = np.full(_SLOTS_PER_DAY, -1, dtype=np.int64)
        self._week_stamp = np.full(168, -1, dtype=np.int64)
        self._slot_counts = _table(season_width, dtype=np.float64)
        self._slot_total = 0.0
        self._slot: int | None = None
        # Clock and bookkeeping.
        self._bucket: int | None = None
        self._first_bucket: int | None = None
        self._pending = _Pending()
        # key -> (count, expected, z, surprise, ratio, window buckets, bucket it fired in, terms)
        self._hot: dict[
            int, tuple[float, float, float, float, float, int, int, tuple[str, ...]]
        ] = {}
        # The posts of the long window in arrival order; the first has sequence number
        # `_recent_base` (sequence numbers keep counting as old posts are dropped).
        self._recent: list[RecentPost] = []
        self._recent_base = 0
        # Hashes of (source, id) seen in this window and the one before (rotated per window):
        # a set of ints, not a map to buckets, at a third of the memory.
        self._seen: set[int] = set()
        self._seen_before: set[int] = set()
        # (author, term) -> bucket it last counted in; see _first_use.
        self._author_mask = (1 << _AUTHOR_BITS) - 1
        self._author_seen = _table(1 << _AUTHOR_BITS, dtype=np.uint32)
        # Copy counters: per cell a decaying count of the signatures that hashed there and the
        # bucket it was last brought up to date (count-min over two cells, as the term tables).
        self._copy_mask = (1 << _COPY_BITS) - 1
        self._copy_count = _table(1 << _COPY_BITS, dtype=np.float32)
        self._copy_bucket = np.full(1 << _COPY_BITS, _NEVER, dtype=np.int32)
        # Evidence index: per flushed batch, its term hashes sorted with the posts they came
        # from, so a signal's posts are a binary search away instead of a scan of the window.
        self._index: deque[_IndexChunk] = deque()
        # The posts behind the last `signals` call's evidence, by id (topics read them).
        self.evidence_posts: dict[str, RecentPost] = {}
        self.late_posts = 0
        self._swept = -1

    # -- hashing ------------------------------------------------------------------------------

    def set_watch_terms(self, watch_terms: Iterable[str]) -> None:
        """Replace the watch terms (feeds.yaml's and those added from Slack) from now on; the
        tables are not touched, so a term's history counts at once."""
        self.watch_terms = tuple(t for t in (normalize_term(w) for w in watch_terms) if t)
        self._watch_keys = self._keys_of_watch_terms()
        self._watch_array = np.array(sorted(self._watch_keys), dtype=np.uint64)

    def _keys_of_watch_terms(self) -> dict[int, str]:
        keys: dict[int, str] = {}
        for term in self.watch_terms:
            words = term.split()
            if len(words) == 1:
                keys[stable_hash(words[0])] = term
            elif len(words) == 2:
                # A two-word watch phrase is a term pair: both words in one post.
                keys[pair_key(stable_hash(words[0]), stable_hash(words[1]))] = term
        return keys

    # -- ingest -------------------------------------------------------------------------------

    def bucket_of(self, when: datetime) -> int:
        return math.floor(when.timestamp() / self._bucket_s)

    def observe(self, post: Post) -> bool:
        """Count one post. False when skipped: a duplicate id, an excluded term, or older than
        the long window (it can no longer be part of a rise)."""
        return self.observe_recent(post) is not None

    def observe_recent(self, post: Post) -> RecentPost | None:
        """`observe`, returning what is kept of the post (None when it was skipped)."""
        uid = stable_hash(f"{post.source}\x1f{post.id}")
        if uid in self._seen or uid in self._seen_before:
            return None
        terms = post_terms(post)
        if self.exclude_terms and self.exclude_terms.intersection(terms):
            return None
        at = post.created_at.timestamp()
        index = math.floor(at / self._bucket_s)
        if self._bucket is None:
            self._start(index)
        assert self._bucket is not None
        if index > self._bucket:
            self._advance(index)
        elif index <= self._bucket - self._rows:
            self.late_posts += 1
            return None
        elif index < self._bucket and self._ring_bucket[index % self._rows] != index:
            # A late post for a bucket that had no posts yet: give that bucket its row.
            self._claim_row(index)
        self._seen.add(uid)
        return self._count(post, terms, index, at)

    def _start(self, index: int) -> None:
        self._bucket = index
        self._first_bucket = index
        self._claim_row(index)

    def _claim_row(self, index: int) -> None:
        self._flush()  # pending counts may still belong to the row's previous bucket
        row = index % self._rows
        self._evict(row)
        self._ring_bucket[row] = index

    def _evict(self, row: int) -> None:
        """Empty a row whose bucket leaves the long window (and take it out of the sum)."""
        if self._ring_bucket[row] >= 0:
            self._long_sum -= self._ring[row]
            np.maximum(self._long_sum, 0.0, out=self._long_sum)  # float rounding, never < 0
        self._ring[row] = 0.0
        self._ring_total[row] = 0.0
        self._ring_bucket[row] = -1

    def _count(self, post: Post, terms: dict[str, bool], index: int, at: float) -> RecentPost:
        # The hot path: plain ints and list appends only; numpy takes over in _flush.
        p = self.params
        pending = self._pending
        author = sys.intern(author_key(post))
        text = post.full_text
        author_h = stable_hash(author)
        # Two C-level maps: no Python frame per term on the hot path (xxhash wants bytes).
        hashes = list(map(xxh3_64_intdigest, map(str.encode, terms)))
        if p.dedupe and len(hashes) >= _COPY_MIN_TERMS:
            # The post's copy signatures; _copy_weights counts them at the flush.
            here = len(pending.buckets)
            pending.signatures.append((sum(hashes) * _GOLDEN) & _MASK64)
            pending.signed.append(here)
            if len(hashes) >= _MINHASH_MIN_TERMS:
                # Bottom-3 sketch: the three smallest term hashes (random, so a uniform sample
                # of the set); posts agree on it with probability about J**3 for Jaccard J.
                # Measured: a second sketch (the three largest) that catches every one-word
                # variant also damped real events' shared headlines (CrisisLex thin stream:
                # recall 0.92 -> 0.83), so one it is.
                a, b, c = sorted(hashes)[:3]
                pending.signatures.append(((a * _GOLDEN + b) * _GOLDEN + c) & _MASK64)
                pending.signed.append(here)
        pending.keys.extend(hashes)
        pending.seqs.append(self._recent_base + len(self._recent))
        pending.lengths.append(len(hashes))
        pending.buckets.append(index)
        pending.authors.append(author_h)
        recent = RecentPost(
            id=post.id,
            author=author,
            source=post.source,
            at=at,
            # Interned: an hour of posts repeats the same few thousand words many times over.
            terms=tuple(map(sys.intern, terms)),
            hashtags=tuple(t for t, tag in terms.items() if tag) if True in terms.values() else (),
            # Short posts are never copies (see _COPY_MIN_TERMS): each author's counts apart.
            signature=zlib.crc32(text.encode()) if len(hashes) >= _COPY_MIN_TERMS else author_h,
        )
        self._recent.append(recent)
        return recent

    def _copy_weights(
        self, signatures: list[int], signed: list[int], post_buckets: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Each pending post's weight, 1 / (1 + copies): copies are how many posts with one of
        its signatures were seen lately (decayed, half-life 30 minutes), earlier in this batch
        included; then the batch's signatures are counted in."""
        weights = np.ones(len(post_buckets), dtype=np.float64)
        if not signatures:
            return weights
        sig = np.array(signatures, dtype=np.uint64)
        owner = np.array(signed, dtype=np.intp)
        when = post_buckets[owner]
        cells_a = (sig & np.uint64(self._copy_mask)).astype(np.intp)
        cells_b = ((sig >> np.uint64(32)) & np.uint64(self._copy_mask)).astype(np.intp)
        half_life = float(_DUP_HALF_LIFE_BUCKETS)

        def decayed(cells: NDArray[np.intp], at: NDArray[np.int64]) -> NDArray[np.float64]:
            age = np.maximum(at - self._copy_bucket[cells], 0).astype(np.float64)
            return np.asarray(self._copy_count[cells] * np.exp2(-age / half_life), np.float64)

        # Count-min: another signature sharing a cell only adds, so the smaller cell is right.
        copies = np.minimum(decayed(cells_a, when), decayed(cells_b, when))
        # Earlier occurrences of the same signature in this batch (in arrival order).
        _, group, sizes = np.unique(sig, return_inverse=True, return_counts=True)
        order = np.argsort(group, kind="stable")
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        earlier = np.empty(len(sig), dtype=np.float64)
        earlier[order] = np.arange(len(sig)) - starts[group[order]]
        copies += earlier
        most = np.zeros(len(post_buckets), dtype=np.float64)
        np.maximum.at(most, owner, copies)
        weights /= 1.0 + most
        # Bring the touched cells up to the batch's newest bucket, then count the batch in.
        newest = int(post_buckets.max())
        for cells in (cells_a, cells_b):
            # A cell listed twice gets the same value twice (both read before either write).
            self._copy_count[cells] = decayed(cells, np.full(len(cells), newest))
            self._copy_bucket[cells] = newest
            np.add.at(self._copy_count, cells, np.float32(1.0))
        return weights

    # -- time ---------------------------------------------------------------------------------

    def _advance(self, index: int) -> None:
        """Move the clock to bucket `index`: score what is pending, complete the buckets."""
        assert self._bucket is not None
        self._flush()
        for done in range(self._bucket, min(index, self._bucket + self._rows)):
            self._complete(done)
        if index - self._bucket > self._rows:
            # A long silence: nothing to complete, but hour tables must fold at the right time.
            self._complete_slot(index * self._bucket_s)
        if index - self._bucket >= self._rows:
            self._ring[:] = 0.0
            self._ring_total[:] = 0.0
            self._ring_bucket[:] = -1
            self._long_sum[:] = 0.0
        else:
            for entering in range(self._bucket + 1, index + 1):
                self._evict(entering % self._rows)
        self._bucket = index
        self._claim_row(index)
        self._prune(index)

    def _complete(self, index: int) -> None:
        """A bucket has ended: its shares update the EW statistics and the seasonal counts."""
        row = index % self._rows
        if self._ring_bucket[row] != index:
            return
        total = self._ring_total[row]
        if total <= 0:
            return
        share = self._ring[row].astype(np.float64) / total
        alpha = self._alpha
        if self._updates:
            # Winsorized update: a burst must not become its own baseline within minutes (it
            # would, on a young detector, where bias correction weighs each bucket heavily).
            # A share above mean + 3 sigma (+ the bias) is learned as that bound.
            correction = 1.0 - (1.0 - alpha) ** self._updates
            bound = self._mean / correction + 3.0 * np.sqrt(np.maximum(self._var, 0) / correction)
            bound += self.params.bias_posts / total
            np.minimum(share, bound, out=share)
        delta = share - self._mean
        self._mean += alpha * delta
        self._var *= 1.0 - alpha
        self._var += (1.0 - alpha) * alpha * delta * delta
        self._updates += 1
        if self.params.seasonal:
            self._complete_slot(index * self._bucket_s)
            folded = self._ring[row].reshape(-1, self._season_mask + 1).sum(axis=0)
            self._slot_counts += folded
            self._slot_total += total

    def _complete_slot(self, seconds: float) -> None:
        """When the clock enters a new half hour, fold the last one's shares into its cells:
        its half hour of the day, and its hour of the week (each a decaying maximum)."""
        slot = int(seconds // _SLOT_SECONDS)
        if self._slot is None:
            self._slot = slot
            return
        if slot == self._slot or not self.params.seasonal:
            return
        if self._slot_total > 0:
            share = (self._slot_counts / self._slot_total).astype(np.float32)
            decay = self.params.seasonal_decay
            of_day, day = self._slot % _SLOTS_PER_DAY, self._slot // _SLOTS_PER_DAY
            if 0 <= self._day_stamp[of_day] < day:
                self._day[of_day] *= np.float32(decay ** (day - self._day_stamp[of_day]))
            np.maximum(self._day[of_day], share, out=self._day[of_day])
            self._day_stamp[of_day] = day
            hour = self._slot * _SLOT_SECONDS // _SECONDS_PER_HOUR + _WEEK_OFFSET_HOURS
            of_week, week = hour % 168, hour // 168
            if 0 <= self._week_stamp[of_week] < week:
                self._week[of_week] *= np.float32(decay ** (week - self._week_stamp[of_week]))
            np.maximum(self._week[of_week], share, out=self._week[of_week])
            self._week_stamp[of_week] = week
        self._slot_counts[:] = 0.0
        self._slot_total = 0.0
        self._slot = slot

    def _prune(self, index: int) -> None:
        """Forget what is older than the long window (and stale duplicate counters)."""
        oldest = index - self._rows + 1
        horizon = oldest * self._bucket_s
        recent = self._recent
        old = 0
        while old < len(recent) and recent[old].at < horizon:
            old += 1
        if old:
            del recent[:old]
            self._recent_base += old
            while self._index and self._index[0].last_seq < self._recent_base:
                self._index.popleft()
        if index // self._rows == self._swept:
            return  # the maps below are swept once per window: they hold at most two windows
        self._swept = index // self._rows
        self._seen_before, self._seen = self._seen, set()

    # -- scoring ------------------------------------------------------------------------------

    def _window_rows(self, buckets: int) -> NDArray[np.intp]:
        assert self._bucket is not None
        valid = (self._ring_bucket > self._bucket - buckets) & (self._ring_bucket <= self._bucket)
        return np.flatnonzero(valid)

    def _flush(self) -> None:
        """Add pending counts to the tables and score every key that just got posts."""
        batch = self._batch()
        if batch is None:
            return
        width = self._mask + 1
        first = (batch.keys & np.uint64(self._mask)).astype(np.intp)
        second = ((batch.keys >> np.uint64(32)) & np.uint64(self._mask)).astype(np.intp)
        for row in np.unique(batch.rows):
            mask = batch.rows == row
            cells = np.concatenate((first[mask], second[mask]))
            added = np.bincount(cells, weights=np.tile(batch.weights[mask], 2), minlength=width)
            self._ring[row] += added.astype(np.float32)
            self._long_sum += added
        self._score(batch.keys, batch)

    def _batch(self) -> _Batch | None:
        """The pending posts as arrays, with the pairs of each post's first terms added."""
        pending = self._pending
        if not pending.buckets:
            return None
        self._pending = _Pending()
        post_buckets = np.array(pending.buckets, dtype=np.int64)
        post_weights = self._copy_weights(pending.signatures, pending.signed, post_buckets)
        post_rows = (post_buckets % self._rows).astype(np.intp)
        # Damped post totals per bucket: the denominator of every share.
        np.add.at(self._ring_total, post_rows, post_weights)
        if not pending.keys:
            return None
        terms = np.array(pending.keys, dtype=np.uint64)
        lengths = np.array(pending.lengths, dtype=np.intp)
        all_terms = terms
        term_seqs = np.repeat(np.array(pending.seqs, dtype=np.int64), lengths)
        self._index.append(_IndexChunk.of(all_terms, term_seqs, max(pending.buckets)))
        if self.params.dedupe:
            fresh = self._first_use(
                terms,
                np.repeat(np.array(pending.authors, dtype=np.uint64), lengths),
                np.repeat(post_buckets, lengths),
            )
            terms = terms[fresh]
            owner = np.repeat(np.arange(len(lengths)), lengths)[fresh]
            lengths = np.bincount(owner, minlength=len(lengths)).astype(np.intp)
        keys = [terms]
        weights = [np.repeat(post_weights, lengths)]
        rows = [np.repeat(post_rows, lengths)]
        pair_first: list[NDArray[np.uint64]] = []
        pair_second: list[NDArray[np.uint64]] = []
        if self.params.pairs:
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            heads = np.minimum(lengths, self.params.max_pair_terms)
            # Pairs are built per head size, all posts of that size at once.
            for size in np.unique(heads[heads >= 2]):
                posts = np.flatnonzero(heads == size)
                i, j = _triangle(int(size))
                base = starts[posts][:, None]
                first = terms[(base + i).ravel()]
                second = terms[(base + j).ravel()]
                pair_first.append(first)
                pair_second.append(second)
                keys.append(pair_keys(first, second))
                weights.append(np.repeat(post_weights[posts], len(i)))
                rows.append(np.repeat(post_rows[posts], len(i)))
        empty = np.zeros(0, dtype=np.uint64)
        all_pairs_first = np.concatenate(pair_first) if pair_first else empty
        all_pairs_second = np.concatenate(pair_second) if pair_second else empty
        return _Batch(
            keys=np.concatenate(keys),
            weights=np.concatenate(weights),
            rows=np.concatenate(rows),
            pair_keys=pair_keys(all_pairs_first, all_pairs_second),
            pair_first=all_pairs_first,
            pair_second=all_pairs_second,
            term_keys=all_terms,
            term_seqs=term_seqs,
        )

    def _first_use(
        self, terms: NDArray[np.uint64], authors: NDArray[np.uint64], buckets: NDArray[np.int64]
    ) -> NDArray[np.bool_]:
        """Which (author, term) uses count: one per author per term per long window.

        A fixed table (so memory does not grow with the number of accounts), one cell per key,
        each holding a 16-bit fingerprint of the key that last counted there and the bucket it
        counted in (modulo 2^16, 227 days of 5-minute buckets). A use is a repeat only when its
        cell holds its own fingerprint from within the window: another key in the cell is
        almost never mistaken for it (1 in 32,768). When a busy hour overwrites the cell, a
        later use counts again; spam repeats often, so its cell stays its own. (A two-probe
        Bloom-style table dropped, at 1,500 posts a minute, up to 4 in 10 first uses late in
        the hour as taken: a million distinct uses filled two thirds of its cells.)
        """
        keys = authors ^ terms
        # Within the batch, only the first use of a key can count.
        first = np.zeros(len(keys), dtype=bool)
        first[np.unique(keys, return_index=True)[1]] = True
        cells = (keys & np.uint64(self._author_mask)).astype(np.intp)
        # Odd fingerprints: a written cell is never 0, the value of an empty one.
        fingerprints = ((keys >> np.uint64(48)) | np.uint64(1)).astype(np.uint32)
        stamps = (buckets & 0xFFFF).astype(np.uint32)
        held = self._author_seen[cells]
        age = (stamps - (held & np.uint32(0xFFFF))) & np.uint32(0xFFFF)
        seen = ((held >> np.uint32(16)) == fingerprints) & (age < self._rows)
        fresh = first & ~seen
        self._author_seen[cells[fresh]] = (fingerprints[fresh] << np.uint32(16)) | stamps[fresh]
        return np.asarray(fresh, dtype=np.bool_)

    def _score(self, keys: NDArray[np.uint64], batch: _Batch) -> None:
        p = self.params
        assert self._bucket is not None
        assert self._first_bucket is not None
        history = (self._bucket - self._first_bucket) * self._bucket_s
        if history < p.min_history.total_seconds() or self._updates == 0:
            return
        # Most keys have a post or two: drop those that cannot reach any bar (count-min: the
        # smaller cell) before the maths, and only then make the survivors unique.
        floor = min(p.min_posts, p.watch_min_posts)
        first = (keys & np.uint64(self._mask)).astype(np.intp)
        enough = self._long_sum[first] >= floor
        keys, first = keys[enough], first[enough]
        second = ((keys >> np.uint64(32)) & np.uint64(self._mask)).astype(np.intp)
        enough = self._long_sum[second] >= floor
        keys, first, second = keys[enough], first[enough], second[enough]
        if len(keys) == 0:
            return
        # Drop repeated keys without sorting: the first position written to each cell stands for
        # its cell, and a key equal to its cell's stand-in is a repeat. Two keys sharing a cell
        # both stay (a repeat among them is only scored twice, with the same result).
        place = np.arange(len(keys), dtype=np.int32)
        self._scratch[first[::-1]] = place[::-1]
        stand_in = self._scratch[first]
        keep = (stand_in == place) | (keys[stand_in] != keys)
        keys, first, second = keys[keep], first[keep], second[keep]
        correction = 1.0 - (1.0 - self._alpha) ** self._updates
        min_surprise = surprise_bar(p.min_surprise, len(keys), p.surprise_keys)
        watched = np.isin(keys, self._watch_array)
        best_z = np.full(len(keys), -np.inf)
        best: dict[int, tuple[float, float, float, float, float, int]] = {}
        # Each cell's baseline (share and its spread) is the same for both windows.
        baselines = []
        for cells in (first, second):
            mean = self._mean[cells] / correction
            std = np.sqrt(np.maximum(self._var[cells] / correction, 0.0))
            share = np.maximum(mean, self._seasonal_share(cells)) if p.seasonal else mean
            baselines.append((cells, share, std))
        for buckets in sorted({p.short_buckets, self._rows}):
            rows = self._window_rows(buckets)
            total = float(self._ring_total[rows].sum())
            if total <= 0:
                continue
            z = np.full(len(keys), np.inf)
            count = np.full(len(keys), np.inf)
            expected = np.zeros(len(keys))
            # Count-min: a collision only ever adds, so each cell's statistic is an upper bound
            # on significance and the smaller of the two is the answer (as in SigniTrend).
            for cells, share, std in baselines:
                if buckets == self._rows:
                    c = self._long_sum[cells]
                else:
                    c = self._ring[np.ix_(rows, cells)].sum(axis=0).astype(np.float64)
                lam = np.maximum(total * share, p.bias_posts)
                cell_z = (c - lam) / (total * std / math.sqrt(buckets) + p.bias_posts)
                z = np.minimum(z, cell_z)
                replace = c < count
                count = np.where(replace, c, count)
                expected = np.where(replace, lam, expected)
            ratio = count / np.maximum(expected, 1e-9)
            # The Poisson tail is the costly part: only for keys that pass the cheap bars. It
            # uses the smaller cell's count, the count-min estimate.
            surprise = np.zeros(len(keys))
            need = (count >= floor) & (ratio >= min(p.min_ratio, WATCH_RATIO))
            surprise[need] = poisson_surprise(count[need], expected[need])
            significant = (z >= p.min_z) | (surprise >= min_surprise)
            fires = (count >= p.min_posts) & (ratio >= p.min_ratio) & significant
            fires |= watched & (count >= p.watch_min_posts) & (ratio >= WATCH_RATIO)
            for found in np.flatnonzero(fires & (z > best_z)):
                i = int(found)
                best_z[i] = z[i]
                best[i] = (
                    float(count[i]),
                    float(expected[i]),
                    float(z[i]),
                    float(surprise[i]),
                    float(ratio[i]),
                    buckets,
                )
        for index, (count_i, expected_i, z_i, surprise_i, ratio_i, window) in best.items():
            key = int(keys[index])
            old = self._hot.get(key)
            if old is None or z_i > old[2]:
                terms = self._terms_of_key(key, batch)
                self._hot[key] = (
                    count_i,
                    expected_i,
                    z_i,
                    surprise_i,
                    ratio_i,
                    window,
                    self._bucket,
                    terms,
                )

    def _terms_of_key(self, key: int, batch: _Batch) -> tuple[str, ...]:
        """The term, or the two terms (sorted), behind a key of this batch."""
        name = self._name_of(key, batch)
        if name is not None:
            return (name,)
        found = np.flatnonzero(batch.pair_keys == np.uint64(key))
        if len(found) == 0:
            return ()
        first = self._name_of(int(batch.pair_first[found[0]]), batch)
        second = self._name_of(int(batch.pair_second[found[0]]), batch)
        if first is None or second is None:
            return ()
        return (first, second) if first <= second else (second, first)

    def _name_of(self, term_hash: int, batch: _Batch) -> str | None:
        """A term from its hash: read back from a post of the batch that carries it (cheaper
        than keeping a hash -> term map of every post; only keys that fire need a name)."""
        found = np.flatnonzero(batch.term_keys == np.uint64(term_hash))
        if len(found) == 0:
            return None
        place = int(batch.term_seqs[found[0]]) - self._recent_base
        if not 0 <= place < len(self._recent):
            return None
        for term in self._recent[place].terms:
            if stable_hash(term) == term_hash:
                return term
        return None

    def _posts_with(self, terms: tuple[str, ...], horizon: float) -> list[RecentPost]:
        """The recent posts carrying all of `terms` posted at or after `horizon`, newest first
        (from the evidence index: a binary search per term and flushed batch)."""
        first_bucket = math.floor(horizon / self._bucket_s)
        found: NDArray[np.int64] | None = None
        for term in terms:
            wanted = stable_hash(term)
            parts = []
            for chunk in reversed(self._index):
                if chunk.newest_bucket < first_bucket:
                    break
                parts.append(chunk.seqs_of(wanted))
            seqs = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            found = seqs if found is None else np.intersect1d(found, seqs)
            if len(found) == 0:
                return []
        assert found is not None
        posts: list[RecentPost] = []
        base, recent = self._recent_base, self._recent
        for seq in sorted(set(found.tolist()), reverse=True):
            place = seq - base
            if 0 <= place < len(recent) and recent[place].at >= horizon:
                post = recent[place]
                # The index keys are half hashes: make sure the post really has the terms.
                if all(term in post.terms for term in terms):
                    posts.append(post)
        return posts

    def _seasonal_share(self, cells: NDArray[np.intp]) -> NDArray[np.float64]:
        """The most this cell's share was in this hour (and its neighbour) on earlier days,
        or in this hour of the week on earlier weeks."""
        assert self._bucket is not None
        seconds = self._bucket * self._bucket_s
        slot = int(seconds // _SLOT_SECONDS)
        into_slot = seconds % _SLOT_SECONDS
        neighbour = slot + (1 if into_slot >= _SLOT_SECONDS / 2 else -1)
        season = cells & self._season_mask
        found: NDArray[np.float32] = self._day[slot % _SLOTS_PER_DAY, season]
        # The neighbouring half hour helps when a routine straddles the boundary, but not once
        # it was folded today: that would be this rise's own first minutes.
        if self._day_stamp[neighbour % _SLOTS_PER_DAY] < neighbour // _SLOTS_PER_DAY:
            found = np.maximum(found, self._day[neighbour % _SLOTS_PER_DAY, season])
        hour = int(seconds // _SECONDS_PER_HOUR) + _WEEK_OFFSET_HOURS
        if self._week_stamp[hour % 168] < hour // 168:
            found = np.maximum(found, self._week[hour % 168, season])
        return found.astype(np.float64)

    # -- results ------------------------------------------------------------------------------

    def signals(self, now: datetime) -> list[Signal]:
        """Everything that became significant since the last call, strongest first."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware UTC")
        index = self.bucket_of(now)
        if self._bucket is not None and index > self._bucket:
            self._advance(index)
        else:
            self._flush()
        hot, self._hot = self._hot, {}
        self.evidence_posts = {}
        found = [
            s for s in (self._signal(key, *stats) for key, stats in hot.items()) if s is not None
        ]
        found.sort(key=lambda s: (-s.z, -s.surprise, s.terms))
        return found

    def _signal(
        self,
        key: int,
        count: float,
        expected: float,
        z: float,
        surprise: float,
        ratio: float,
        buckets: int,
        fired: int,
        terms: tuple[str, ...],
    ) -> Signal | None:
        """Evidence for a significant key; None when the evidence does not hold up (too few
        posts, authors or distinct texts: one voice, however loud, is not a trend)."""
        p = self.params
        if not terms:
            return None
        assert self._bucket is not None
        # Evidence: the posts of the window that fired, as it was when it fired (a warm-up or a
        # slow tick may ask later), up to now. For a common word most posts of a long window
        # are its usual traffic; the window that fired holds the rise.
        horizon = (fired - buckets + 1) * self._bucket_s
        carrying = self._posts_with(terms, horizon)
        evidence: list[str] = []
        authors: set[str] = set()
        sources: set[str] = set()
        texts: set[int] = set()
        posts = 0
        for recent in carrying:
            posts += 1
            authors.add(recent.author)
            sources.add(recent.source)
            texts.add(recent.signature)
            if len(evidence) < MAX_EVIDENCE:
                evidence.append(recent.id)
        watched = self._watched(terms)
        min_posts = p.watch_min_posts if watched else p.min_posts
        min_authors = min(p.min_authors, p.watch_min_posts) if watched else p.min_authors
        if posts < min_posts or len(authors) < min_authors or len(texts) < min(3, min_authors):
            return None
        lead = terms[0]
        lead_posts = carrying if len(terms) == 1 else self._posts_with((lead,), horizon)
        uses = sum(1 for r in lead_posts if lead in r.hashtags)
        for recent in carrying[:MAX_EVIDENCE]:
            self.evidence_posts[recent.id] = recent
        return Signal(
            terms=terms,
            hashtag=uses * 2 >= posts,
            count=round(count, 3),
            expected=round(expected, 3),
            z=round(z, 3),
            surprise=round(min(surprise, 300.0), 3),
            ratio=round(ratio, 3),
            window=self.params.bucket * buckets,
            posts=posts,
            authors=len(authors),
            sources=tuple(sorted(sources)),
            evidence=tuple(evidence),
            sparkline=self.sparkline(key),
            watched=watched,
        )

    def _watched(self, terms: tuple[str, ...]) -> tuple[str, ...]:
        joined = " ".join(terms)
        reverse = " ".join(reversed(terms))
        return tuple(w for w in self.watch_terms if w in terms or w in (joined, reverse))

    def sparkline(self, key: int) -> tuple[int, ...]:
        """Damped posts per bucket of a key over the long window, oldest first."""
        assert self._bucket is not None
        first = key & self._mask
        second = (key >> 32) & self._mask
        counts: list[int] = []
        for index in range(self._bucket - self._rows + 1, self._bucket + 1):
            row = index % self._rows
            if self._ring_bucket[row] != index:
                counts.append(0)
                continue
            value = min(self._ring[row, first], self._ring[row, second])
            counts.append(round(float(value)))
        return tuple(counts)

    def key_of(self, terms: tuple[str, ...]) -> int:
        """The table key of a term or a pair of terms."""
        if len(terms) == 1:
            return stable_hash(terms[0])
        return pair_key(stable_hash(terms[0]), stable_hash(terms[1]))

    def recent_posts(self, since: datetime | None = None) -> Iterator[RecentPost]:
        """Posts of the long window, oldest first (topics read them for content similarity)."""
        horizon = since.timestamp() if since is not None else -math.inf
        return (r for r in self._recent if r.at >= horizon)

    @property
    def clock(self) -> datetime | None:
        """The start of the current bucket (the detector's notion of now), if it has one."""
        if self._bucket is None:
            return None
        return datetime.fromtimestamp(self._bucket * self._bucket_s, tz=UTC)

    # -- checkpoint ---------------------------------------------------------------------------

    _ARRAYS = (
        "_author_seen",
        "_copy_count",
        "_copy_bucket",
        "_ring",
        "_long_sum",
        "_ring_total",
        "_ring_bucket",
        "_mean",
        "_var",
        "_day",
        "_week",
        "_day_stamp",
        "_week_stamp",
        "_slot_counts",
    )

    def state(self) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        """Everything needed to continue exactly where this detector is: arrays and plain data.

        Pending counts are flushed first (and scored; what became significant is kept in the
        plain data), so a detector loaded from this state gives the same signals.
        """
        self._flush()
        arrays = {name.lstrip("_"): getattr(self, name) for name in self._ARRAYS}
        plain: dict[str, Any] = {
            # 2: terms hashed with XXH3 (1 was BLAKE2b); older tables would mean other cells.
            "version": _STATE_VERSION,
            "params": {
                "bucket_s": self._bucket_s,
                "rows": self._rows,
                "table_bits": self.params.table_bits,
                "seasonal_bits": self.params.seasonal_bits,
            },
            "updates": self._updates,
            "slot_total": self._slot_total,
            "slot": self._slot,
            "bucket": self._bucket,
            "first_bucket": self._first_bucket,
            "late_posts": self.late_posts,
            "hot": [[str(k), *v[:7], list(v[7])] for k, v in self._hot.items()],
            "seen": [str(k) for k in self._seen],
            "seen_before": [str(k) for k in self._seen_before],
            "recent": [
                [
                    r.id,
                    r.author,
                    r.source,
                    r.at,
                    list(r.terms),
                    list(r.hashtags),
                    str(r.signature),
                ]
                for r in self._recent
            ],
        }
        return arrays, plain

    def load_state(self, arrays: dict[str, NDArray[Any]], plain: dict[str, Any]) -> None:
        """Continue from `state()` output. Raises ValueError when it was made with other table
        sizes or buckets (then the caller starts fresh and warms up from stored posts)."""
        expected = {
            "bucket_s": self._bucket_s,
            "rows": self._rows,
            "table_bits": self.params.table_bits,
            "seasonal_bits": self.params.seasonal_bits,
        }
        if plain.get("version") != _STATE_VERSION or plain.get("params") != expected:
            raise ValueError(
                f"checkpoint made with other detector settings ({plain.get('params')}, "
                f"now {expected})"
            )
        for name in self._ARRAYS:
            value = arrays[name.lstrip("_")]
            current = getattr(self, name)
            if value.shape != current.shape:
                raise ValueError(f"checkpoint table {name} has shape {value.shape}")
            setattr(self, name, value.astype(current.dtype, copy=True))
        self._updates = int(plain["updates"])
        self._slot_total = float(plain["slot_total"])
        self._slot = plain["slot"]
        self._bucket = plain["bucket"]
        self._first_bucket = plain["first_bucket"]
        self.late_posts = int(plain["late_posts"])
        self._hot = {
            int(k): (c, e, z, s, r, int(b), int(f), tuple(t))
            for k, c, e, z, s, r, b, f, t in plain["hot"]
        }
        self._seen = {int(k) for k in plain["seen"]}
        self._seen_before = {int(k) for k in plain["seen_before"]}
        self._recent = [
            RecentPost(i, a, s, float(at), tuple(t), tuple(h), int(sig))
            for i, a, s, at, t, h, sig in plain["recent"]
        ]
        self._recent_base = 0
        self._pending = _Pending()
        self._rebuild_index()

    def _rebuild_index(self) -> None:
        """The evidence index of the posts kept, as one chunk (after loading a checkpoint)."""
        self._index.clear()
        if not self._recent:
            return
        hashes = [stable_hash(t) for r in self._recent for t in r.terms]
        seqs = [self._recent_base + i for i, r in enumerate(self._recent) for _ in r.terms]
        if not hashes:
            return
        newest = max(r.at for r in self._recent)
        self._index.append(
            _IndexChunk.of(
                np.array(hashes, dtype=np.uint64),
                np.array(seqs, dtype=np.int64),
                math.floor(newest / self._bucket_s),
            )
        )
