"""Throughput and memory of the trend detector alone, on a long synthetic stream.

What it does: generates a post stream deterministically (numpy, `--seed`) and feeds it to the
detector the way `inhaker replay` does (posts in time order; `findings(now)` once per minute of
stream time, before the first post of the next minute), then prints Markdown tables to stdout
(progress goes to stderr):
- posts/s through the detector (`observe` + `findings`) on one core;
- resident memory (VmRSS) and its peak (VmHWM) from /proc/self/status, sampled every 500,000
  posts, so that "memory stays flat over 10 M posts and under 300 MB" can be read off the table;
- as a sanity check, how many of the injected bursts were found (and how soon after they
  started) and how many other finding keys came up per day.

The stream (same seed, same stream):
- vocabulary: 200,000 made-up words (consonant-vowel syllables, 2 or 3 of them; letters only so
  that `detectors.text.terms_of` keeps each as a term) and 20,000 hashtags (4 syllables, so they
  never collide with a word), each drawn Zipf-Mandelbrot: p(rank r) ~ 1 / (r + q), q = 20 for
  words (the top word in ~6 % of posts, like a frequent content word once stopwords are gone)
  and q = 5 for hashtags;
- 8 to 20 terms per post (uniform), of which 0 to 3 hashtags (50/30/15/5 %);
- authors: 20,000 accounts with Zipf-like activity (weights 1 / rank^0.8, as
  bench/crisis_streams.py);
- timing: Poisson arrivals per minute at `--rate` posts/min (default 1,000, so 10 M posts are
  about 7 days and every daily table cycles), swinging +-50 % over the day (peak 15:00 UTC), from
  Monday 2024-01-01 00:00 UTC;
- bursts: every 10 hours from hour 4, a story with three new terms (a hashtag and two words seen
  nowhere else) in extra posts from a pool of 100,000 other accounts: 1 post/min rising to 30/min
  over 20 minutes, 30 minutes at 30/min, falling to 0 over 40 minutes, each post also carrying
  6 to 12 ordinary words. A burst counts as found when a finding's terms include one of its
  terms; its latency is from its first post to that tick.

How the timing is done: the generator builds 10 minutes of posts at a time (`Post` objects with
their texts, authors and aware UTC times) before the clock starts; only the loop that calls
`observe` and `findings` on that chunk is timed (plus the loop's own time comparison, which
replay pays too). The generator's time is measured separately and reported, not counted. The
chunk in memory (~10,000 posts, a few MB) is part of the RSS; the table also gives the RSS before
the detector existed (interpreter, imported modules such as scipy and scikit-learn, the
vocabulary and one chunk) so that the detector's own share can be read as the difference.

What it does not do: measure detection quality (bench/trend_bench.py and bench/nab_bench.py do
that; the bursts here are only a sign of life), go through `inhaker replay` (no JSON parsing,
opportunity scorer, alert policy or store), or use more than one core. v1
(`--detector v1`, `RisingTermDetector` with its built-in defaults) runs at a few hundred to a
few thousand posts/s here, so give it a short run (`--posts 200000`).

Run: python bench/detector_scale.py [--posts 10000000] [--rate 1000] [--seed 7]
                                    [--detector v2|v1] [--no-pairs]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from detectors.records import Post, Trend
from detectors.text import STOPWORDS, terms_of

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
MINUTE = timedelta(minutes=1)
CHUNK_MINUTES = 10
WORDS = 200_000
HASHTAGS = 20_000
AUTHORS = 20_000
BURST_AUTHORS = 100_000
DIURNAL = 0.5
BURST_FIRST = timedelta(hours=4)
BURST_EVERY = timedelta(hours=10)
# Burst posts per minute, minute by minute: ramp up, hold, fall.
BURST_PROFILE = (
    [1 + round(29 * i / 19) for i in range(20)]
    + [30] * 30
    + [round(30 * (1 - i / 40)) for i in range(40)]
)
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
SYLLABLES = [c + v for c in CONSONANTS for v in VOWELS]  # 70


class Detector(Protocol):
    def observe(self, post: Post) -> bool: ...

    def findings(self, now: datetime) -> list[Trend]: ...


# -- the stream ------------------------------------------------------------------------------------


def syllable_word(index: int, syllables: int) -> str:
    """The `index`-th word of `syllables` consonant-vowel syllables (base-70 digits)."""
    parts = []
    for _ in range(syllables):
        index, digit = divmod(index, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(reversed(parts))


def vocabulary(count: int, syllables: Sequence[int], skip: int = 0) -> list[str]:
    """`count` distinct words, shortest first, none of them a stopword or dropped by terms_of."""
    words: list[str] = []
    for n in syllables:
        for i in range(skip if n == syllables[0] else 0, len(SYLLABLES) ** n):
            word = syllable_word(i, n)
            if word not in STOPWORDS:
                words.append(word)
            if len(words) == count:
                return words
    raise ValueError("not enough syllable combinations")


def mandelbrot_cdf(size: int, q: float, s: float = 1.0) -> NDArray[np.float64]:
    """Cumulative Zipf-Mandelbrot probabilities of ranks 1..size: p(r) ~ 1 / (r + q)^s."""
    weights = 1.0 / (np.arange(1, size + 1, dtype=np.float64) + q) ** s
    cdf = np.cumsum(weights)
    return np.asarray(cdf / cdf[-1], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Burst:
    start: datetime
    terms: tuple[str, str, str]  # hashtag term, word, word

    @property
    def text_terms(self) -> str:
        return f"#{self.terms[0]} {self.terms[1]} {self.terms[2]}"


@dataclass(slots=True)
class Chunk:
    posts: list[Post]
    ticks_until: datetime  # the chunk covers stream time up to (not including) this minute


class SyntheticStream:
    """Deterministic posts, 10 minutes at a time (see the module docstring for the shape)."""

    def __init__(self, *, seed: int, rate_per_min: float, posts: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.rate = rate_per_min
        self.limit = posts
        self.words = vocabulary(WORDS, (2, 3))
        self.tags = vocabulary(HASHTAGS, (4,))
        self.authors = [f"u{i}" for i in range(AUTHORS)]
        self.word_cdf = mandelbrot_cdf(WORDS, 20.0)
        self.tag_cdf = mandelbrot_cdf(HASHTAGS, 5.0)
        self.author_cdf = mandelbrot_cdf(AUTHORS, 0.0, 0.8)
        # Long enough for any run: at the night-time low the stream is (1 - DIURNAL) as fast.
        span = timedelta(minutes=math.ceil(posts / (rate_per_min * (1 - DIURNAL))) + 24 * 60)
        self.bursts: list[Burst] = []
        at, k = BURST_FIRST, 0
        while at < span:
            # Five syllables: longer than any word or hashtag, so these terms are new.
            story = vocabulary(3, (5,), skip=1_000_003 + 7919 * k)
            self.bursts.append(Burst(START + at, (story[0], story[1], story[2])))
            at += BURST_EVERY
            k += 1
        for burst in self.bursts:
            assert all(t in terms_of(burst.text_terms) for t in burst.terms)
        self.made = 0
        self.minute = 0

    def _words(self, n: int) -> list[str]:
        idx = np.searchsorted(self.word_cdf, self.rng.random(n), side="right")
        words = self.words
        return [words[i] for i in idx.tolist()]

    def _minute_posts(self, minute: int) -> list[tuple[float, str, str]]:
        """(seconds into the stream, text, author) for one minute, unsorted."""
        hour = (minute / 60.0) % 24.0
        rate = self.rate * (1.0 + DIURNAL * math.cos(2 * math.pi * (hour - 15) / 24))
        n = int(self.rng.poisson(rate))
        rng = self.rng
        out: list[tuple[float, str, str]] = []
        if n:
            sizes = rng.integers(8, 21, n)
            tags = rng.choice(4, size=n, p=[0.5, 0.3, 0.15, 0.05])
            n_words = sizes - tags
            words = self._words(int(n_words.sum()))
            tag_idx = np.searchsorted(self.tag_cdf, rng.random(int(tags.sum())), side="right")
            tag_list = [self.tags[i] for i in tag_idx.tolist()]
            author_idx = np.searchsorted(self.author_cdf, rng.random(n), side="right")
            seconds = minute * 60 + rng.random(n) * 60
            w = t = 0
            columns = (n_words.tolist(), tags.tolist(), author_idx.tolist(), seconds.tolist())
            for nw, nt, a, sec in zip(*columns, strict=True):
                parts = words[w : w + nw]
                parts.extend("#" + tag for tag in tag_list[t : t + nt])
                w += nw
                t += nt
                out.append((sec, " ".join(parts), self.authors[a]))
        for b, burst in enumerate(self.bursts):
            offset = minute - int((burst.start - START) / MINUTE)
            if 0 <= offset < len(BURST_PROFILE):
                m = BURST_PROFILE[offset]
                if not m:
                    continue
                extra = rng.integers(6, 13, m)
                words = self._words(int(extra.sum()))
                who = rng.integers(0, BURST_AUTHORS, m)
                seconds = minute * 60 + rng.random(m) * 60
                w = 0
                for nw, a, sec in zip(extra.tolist(), who.tolist(), seconds.tolist(), strict=True):
                    text = " ".join(words[w : w + nw]) + " " + burst.text_terms
                    w += nw
                    out.append((sec, text, f"b{b}_{a}"))
        return out

    def chunks(self) -> Iterator[Chunk]:
        start_ts = START.timestamp()
        while self.made < self.limit:
            rows: list[tuple[float, str, str]] = []
            for _ in range(CHUNK_MINUTES):
                rows.extend(self._minute_posts(self.minute))
                self.minute += 1
            rows.sort(key=lambda r: r[0])
            rows = rows[: self.limit - self.made]
            posts = [
                Post(
                    source="synth",
                    id=f"p{self.made + i}",
                    text=text,
                    created_at=datetime.fromtimestamp(start_ts + sec, UTC),
                    author=author,
                )
                for i, (sec, text, author) in enumerate(rows)
            ]
            self.made += len(posts)
            yield Chunk(posts, START + self.minute * MINUTE)


# -- measuring -------------------------------------------------------------------------------------


def memory_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB, from /proc/self/status (0, 0 where absent)."""
    rss = hwm = 0.0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, hwm


@dataclass(slots=True)
class Sample:
    posts: int
    stream_at: datetime
    seconds: float  # detector time so far
    rss: float
    hwm: float
    keys: int  # distinct finding keys so far


@dataclass(slots=True)
class Tally:
    bursts: list[Burst]
    found: dict[int, datetime] = field(default_factory=dict)  # burst index -> first tick
    keys: set[str] = field(default_factory=set)
    other_keys: set[str] = field(default_factory=set)
    finding_ticks: int = 0  # (tick, trend) pairs

    def record(self, now: datetime, trends: list[Trend]) -> None:
        for trend in trends:
            self.finding_ticks += 1
            self.keys.add(trend.key)
            hit = False
            for b, burst in enumerate(self.bursts):
                if burst.start <= now and set(burst.terms).intersection(trend.terms):
                    hit = True
                    self.found.setdefault(b, now)
            if not hit:
                self.other_keys.add(trend.key)


def detector_factory(kind: str, pairs: bool) -> tuple[Callable[[], Detector], str]:
    """A constructor of the detector and its label; imports its modules (numpy, scipy,
    scikit-learn for v2) now, so that they count in the RSS before the detector exists."""
    if kind == "v1":
        from detectors.trends import RisingTermDetector, TrendParams

        return lambda: RisingTermDetector(TrendParams()), "v1 `RisingTermDetector(TrendParams())`"
    from detectors.signitrend import SignificanceParams
    from detectors.stories import StoryDetector

    params = SignificanceParams()
    if not pairs:
        params = replace(params, pairs=False)
    name = "`StoryDetector()`" if pairs else "`StoryDetector(replace(params, pairs=False))`"
    return lambda: StoryDetector(params), (
        f"v2 {name}, term pairs {'on' if params.pairs else 'off (--no-pairs)'}, "
        f"table_bits {params.table_bits}"
    )


def run(args: argparse.Namespace) -> int:
    stream = SyntheticStream(seed=args.seed, rate_per_min=args.rate, posts=args.posts)
    chunks = stream.chunks()
    generator_s = 0.0
    started = time.perf_counter()
    first = next(chunks, None)
    generator_s += time.perf_counter() - started
    if first is None:
        print("nothing to do (--posts 0)", file=sys.stderr)
        return 1
    make, label = detector_factory(args.detector, pairs=not args.no_pairs)
    base_rss, _ = memory_mib()
    detector = make()
    tally = Tally(stream.bursts)
    samples: list[Sample] = []
    detector_s = 0.0
    posts_done = 0
    next_sample = args.sample_every
    next_tick: datetime | None = None
    chunk: Chunk | None = first
    observe = detector.observe
    findings = detector.findings
    print(f"{label}: {args.posts:,} posts at {args.rate:,.0f}/min ...", file=sys.stderr)
    while chunk is not None:
        posts = chunk.posts
        if next_tick is None:
            next_tick = posts[0].created_at.replace(second=0, microsecond=0) + MINUTE
        found: list[tuple[datetime, list[Trend]]] = []
        tick = next_tick
        t0 = time.perf_counter()
        for post in posts:
            while post.created_at >= tick:
                found.append((tick, findings(tick)))
                tick += MINUTE
            observe(post)
        detector_s += time.perf_counter() - t0
        next_tick = tick
        posts_done += len(posts)
        for now, trends in found:
            tally.record(now, trends)
        if posts_done >= next_sample or posts_done >= args.posts:
            rss, hwm = memory_mib()
            samples.append(
                Sample(posts_done, posts[-1].created_at, detector_s, rss, hwm, len(tally.keys))
            )
            print(
                f"  {posts_done:>11,} posts  {posts[-1].created_at:%a %H:%M}  "
                f"{posts_done / detector_s:>8,.0f} posts/s  RSS {rss:,.0f} MiB  "
                f"peak {hwm:,.0f} MiB  keys {len(tally.keys):,}  "
                f"(generator {generator_s:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
            while next_sample <= posts_done:
                next_sample += args.sample_every
        del posts, found
        chunk = None
        t1 = time.perf_counter()
        chunk = next(chunks, None)
        generator_s += time.perf_counter() - t1
    report(args, label, stream, tally, samples, base_rss, detector_s, generator_s)
    return 0


# -- report ----------------------------------------------------------------------------------------


def _stream_time(at: datetime) -> str:
    days = (at - START) / timedelta(days=1)
    return f"{at:%a %H:%M} (day {days:.2f})"


def report(
    args: argparse.Namespace,
    label: str,
    stream: SyntheticStream,
    tally: Tally,
    samples: Sequence[Sample],
    base_rss: float,
    detector_s: float,
    generator_s: float,
) -> None:
    last = samples[-1]
    days = (last.stream_at - START) / timedelta(days=1)
    started = [b for b in stream.bursts if b.start < last.stream_at]
    rate = last.posts / detector_s if detector_s else 0.0
    print("## Detector throughput and memory: synthetic stream\n")
    command = f"python bench/detector_scale.py --posts {args.posts} --rate {args.rate:g} "
    command += f"--seed {args.seed} --detector {args.detector}"
    command += " --no-pairs" if args.no_pairs else ""
    print(
        f"Command: `{command}`; detector: {label}; machine: {platform.machine()}, Python "
        f"{platform.python_version()}, one core. Stream: {last.posts:,} posts over {days:.2f} "
        f"days, {WORDS:,} words + {HASHTAGS:,} hashtags (Zipf-Mandelbrot), 8-20 terms a post, "
        f"{AUTHORS:,} authors, {len(started)} injected bursts; findings(now) once per "
        f"minute of stream time. Generator time ({generator_s:.0f} s) is not counted.\n"
    )
    print(
        "| posts | stream time | posts/s (since last row) | posts/s (so far) | RSS (MiB) | "
        "peak RSS, VmHWM (MiB) | distinct finding keys |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    prev_posts, prev_s = 0, 0.0
    for s in samples:
        interval = (s.posts - prev_posts) / (s.seconds - prev_s) if s.seconds > prev_s else 0.0
        print(
            f"| {s.posts:,} | {_stream_time(s.stream_at)} | {interval:,.0f} | "
            f"{s.posts / s.seconds:,.0f} | {s.rss:,.0f} | {s.hwm:,.0f} | {s.keys:,} |"
        )
        prev_posts, prev_s = s.posts, s.seconds
    half = next((s for s in samples if s.posts >= last.posts / 2), last)
    growth = (last.rss - half.rss) / half.rss * 100 if half.rss else 0.0
    latencies = [
        (tally.found[b] - burst.start) / MINUTE
        for b, burst in enumerate(stream.bursts)
        if b in tally.found
    ]
    print("\n| measure | result | target (issue) |")
    print("| --- | --- | --- |")
    print(
        f"| throughput, observe + findings, whole run | {rate:,.0f} posts/s "
        f"({detector_s:,.0f} s) | >= 20,000 posts/s with term pairs on |"
    )
    print(
        f"| RSS at the end / highest peak (VmHWM) | {last.rss:,.0f} / "
        f"{max(s.hwm for s in samples):,.0f} MiB | < 300 MB |"
    )
    print(
        f"| RSS growth over the second half ({half.posts:,} -> {last.posts:,} posts) | "
        f"{growth:+.1f} % | flat |"
    )
    print(
        f"| RSS before the detector existed (interpreter, imports, vocabulary, one chunk) | "
        f"{base_rss:,.0f} MiB | |"
    )
    print(
        f"| injected bursts found (started before the end) | {len(tally.found)} / {len(started)}"
        + (
            f", latency median {statistics.median(latencies):.0f} min, max {max(latencies):.0f}"
            if latencies
            else ""
        )
        + " | sign of life only |"
    )
    other_per_day = len(tally.other_keys) / days if days else 0.0
    print(
        f"| other finding keys (not a burst) | {len(tally.other_keys):,} "
        f"({other_per_day:,.1f} / day); {tally.finding_ticks:,} (tick, finding) pairs in all | "
        "the background has no bursts of its own |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000_000, help="default 10,000,000")
    parser.add_argument("--rate", type=float, default=1000.0, help="posts per minute (1,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--detector", choices=("v2", "v1"), default="v2")
    parser.add_argument("--no-pairs", action="store_true", help="v2 without term pairs")
    parser.add_argument(
        "--sample-every", type=int, default=500_000, help="posts between memory samples"
    )
    args: Any = parser.parse_args(argv)
    if args.no_pairs and args.detector == "v1":
        parser.error("--no-pairs is a v2 option")
    if args.posts <= 0 or args.rate <= 0:
        parser.error("--posts and --rate must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
