"""Labelled text streams for the trend benchmark, built at run time from CrisisLex T26 (dev split).

What it does: reads `../shared/corpus/crisis` (relative to the repository) and writes, into an
output directory outside the repository (default: a new temp dir), one stream per variant in the
`inhaker replay` format (design.md section 5: JSON Lines sorted by `created_at`, with `id`,
`text`, `created_at`, `source`, `author`, `lang`) and a labels file next to it:

- `thin.jsonl` / `busy.jsonl`: real on-topic crisis tweets with their real relative timing,
  injected into a background of unrelated posts (about 10 posts/min for thin, 200 posts/min for
  busy, with a mild day/night cycle), plus two traps: one account repeating one text with a
  hashtag, and a hashtag that a club posts every day at the same hour.
- `thin.labels.json` / `busy.labels.json`: per event its name, onset, end, keyword terms and the
  ids of its posts in the stream; per trap its terms, post ids and time windows. No tweet text.

How the streams are made (README.md in this folder has the definitions in one place):
- Events: the dev events of crisis/README.md that have an id stream (12; 2013_Boston_bombings has
  none and is skipped). On-topic = Informativeness "Related and informative" or "Related - but
  not informative"; "Not related" is background material; "Not applicable" is dropped. Each
  labelled tweet takes its timestamp from `*-tweetids_entire_period.csv` (joined on the id).
- Onset: the first on-topic tweet that starts a run of at least 10 on-topic tweets within 60
  minutes (the event's first burst). Earlier on-topic stragglers (a lone early tweet, or a slow
  phase days before the burst) are left out of the stream, so the onset is also the first
  on-topic post in the stream. The event keeps its tweets from onset to onset + horizon.
- Timeline: events are laid out one after another on one synthetic timeline (onset k at
  start + warmup + k * spacing, in the order of their real dates), each shifted as a block, so
  their internal timing is real and several stories can overlap, as in a real stream. Full thin:
  24 h warm-up, an event every 7 h, 16 h of each (4.9 days). Full busy: 8 h warm-up, an event
  every 2.5 h, 6 h of each (1.7 days; the v1 detector replays busy streams at a few hundred
  posts/s, so a longer one would take hours). --quick: 3 events, 3 h warm-up, every 2.5 h, 4 h
  of each (12 h), both variants.
- Background: the "Not related" tweets of all dev events plus the off-topic tweets of the two
  dev events in CrisisLex T6 (Alberta floods, Boston bombings), drawn at random with
  replacement and re-timed as a Poisson process, so they carry no burst of their own. Authors
  are synthetic (CrisisLex has none): background posts come from 20,000 accounts with a skewed
  activity; event tweets from a pool of 200,000 accounts.
- Traps: `spam` is one account posting one fixed text with a hashtag every minute (thin) or
  every 20 s (busy) for two hours, twice, after the warm-up; `daily` is a hashtag (with varying
  words) posted by 20 (thin) or 80 (busy) members of a club in the same half hour every day,
  from 09:00 UTC on the first day. Both texts are synthetic (written here, not from the corpus).

Terms: CrisisLex is research-use only and its tweet text must not be redistributed. This script
reads the corpus at run time and writes text only to the output directory, which must lie outside
the repository; nothing from the corpus belongs in the repository.

Run: python bench/crisis_streams.py [--out DIR] [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import math
import random
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from detectors.text import terms_of

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "crisis"

# crisis/README.md, "DEV split": the 13 dev events. Boston has no entire-period id stream.
DEV_EVENTS = (
    "2012_Colorado_wildfires",
    "2012_Costa_Rica_earthquake",
    "2012_Guatemala_earthquake",
    "2012_Italy_earthquakes",
    "2012_Philipinnes_floods",
    "2012_Typhoon_Pablo",
    "2012_Venezuela_refinery",
    "2013_Alberta_floods",
    "2013_Australia_bushfire",
    "2013_Bohol_earthquake",
    "2013_Boston_bombings",
    "2013_Brazil_nightclub_fire",
    "2013_Colorado_floods",
)
NO_ID_STREAM = ("2013_Boston_bombings",)
# CrisisLex T6 collections of dev events (the other four are held-out or not in T26).
T6_DEV = ("2013_Alberta_Floods", "2013_Boston_Bombings")
# --quick: three events of different kinds (sudden, non-English, slowly building).
QUICK_EVENTS = ("2012_Costa_Rica_earthquake", "2012_Italy_earthquakes", "2013_Alberta_floods")

ON_TOPIC = frozenset({"Related and informative", "Related - but not informative"})
BACKGROUND = frozenset({"Not related"})
ONSET_RUN = 10
ONSET_WITHIN = timedelta(minutes=60)

TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # "Fri Jun 08 06:22:06 +0000 2012"

SPAM_AUTHOR = "u777777"
SPAM_TAG = "megadeal77"
SPAM_TEXT = f"FLASH SALE!! Everything 70% off, today only #{SPAM_TAG} grab yours now"
DAILY_TAG = "sunrisestretch"
DAILY_TEXTS = (
    "Morning crew, mats out for #sunrisestretch",
    "#sunrisestretch done, shoulders feel loose again",
    "Joining the #sunrisestretch circle in the park",
    "Hamstrings complaining but #sunrisestretch wins",
    "Who brought the speaker? #sunrisestretch crew rolling",
    "Ten breaths, reach high #sunrisestretch",
)


@dataclass(frozen=True, slots=True)
class Variant:
    """Background rate and trap volumes of one stream variant."""

    name: str
    rate_per_min: float
    spam_every_s: int
    daily_posts: int
    daily_members: int


THIN = Variant("thin", rate_per_min=10.0, spam_every_s=60, daily_posts=20, daily_members=30)
BUSY = Variant("busy", rate_per_min=200.0, spam_every_s=20, daily_posts=80, daily_members=120)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things go on the synthetic timeline (offsets from `start`)."""

    start: datetime = datetime(2020, 1, 6, tzinfo=UTC)  # a Monday, 00:00 UTC
    warmup: timedelta = timedelta(hours=24)
    spacing: timedelta = timedelta(hours=7)
    horizon: timedelta = timedelta(hours=16)
    diurnal: float = 0.5  # background rate swings +-50 % over the day, peak at 15:00 UTC
    spam_at: tuple[timedelta, ...] = (timedelta(hours=30), timedelta(hours=74))
    spam_for: timedelta = timedelta(hours=2)
    daily_at: timedelta = timedelta(hours=9)  # first occurrence; then every 24 h
    daily_for: timedelta = timedelta(minutes=30)

    def end(self, events: int) -> datetime:
        return self.start + self.warmup + (events - 1) * self.spacing + self.horizon


# The thin stream is cheap to replay, so it gets the long timeline: a full day of warm-up, one
# event every 7 hours, 16 hours of each event, and the daily trap on five days.
FULL_THIN_LAYOUT = Layout()
# The busy stream is compressed (the v1 detector replays it at a few hundred posts/s, so a long
# busy timeline would take hours): 8 hours of warm-up, one event every 2.5 hours, 6 hours of each.
FULL_BUSY_LAYOUT = Layout(
    warmup=timedelta(hours=8),
    spacing=timedelta(hours=2, minutes=30),
    horizon=timedelta(hours=6),
    spam_at=(timedelta(hours=10), timedelta(hours=20)),
)
QUICK_LAYOUT = Layout(
    warmup=timedelta(hours=3),
    spacing=timedelta(hours=2, minutes=30),
    horizon=timedelta(hours=4),
    spam_at=(timedelta(hours=3, minutes=30),),
    spam_for=timedelta(minutes=90),
    daily_at=timedelta(hours=2),
)
PLANS: dict[str, tuple[tuple[Variant, Layout], ...]] = {
    "full": ((THIN, FULL_THIN_LAYOUT), (BUSY, FULL_BUSY_LAYOUT)),
    "quick": ((THIN, QUICK_LAYOUT), (BUSY, QUICK_LAYOUT)),
}


@dataclass(slots=True)
class EventData:
    folder: str
    name: str
    keywords: list[str]
    terms: list[str]
    development: str
    tweets: list[tuple[datetime, str]]  # on-topic, sorted by time
    onset: datetime
    before_onset: int = 0
    background: list[str] = field(default_factory=list)  # this event's "Not related" tweets


EXIT_NO_CORPUS = 2


class CorpusMissing(Exception):
    """The shared crisis corpus is not where it should be."""


def _rows(path: Path) -> Iterable[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # header ("Tweet ID, Tweet Text, ..."), names have a leading space
        yield from reader


def _tweet_id(raw: str) -> str:
    return raw.strip().strip("'\"")


def onset_of(times: Sequence[datetime]) -> datetime:
    """First on-topic time that starts a run of ONSET_RUN tweets within ONSET_WITHIN."""
    for i in range(len(times) - ONSET_RUN + 1):
        if times[i + ONSET_RUN - 1] - times[i] <= ONSET_WITHIN:
            return times[i]
    raise ValueError("no burst of on-topic tweets")


def keyword_terms(keywords: Iterable[str]) -> list[str]:
    """The collection keywords as detector terms ("#COfire" -> cofire, "colorado fire" -> both)."""
    found: set[str] = set()
    for keyword in keywords:
        found.update(terms_of(keyword))
    return sorted(found)


def load_event(corpus: Path, folder: str) -> EventData:
    base = corpus / "CrisisLexT26" / folder
    description = json.loads((base / f"{folder}-event_description.json").read_text("utf-8"))
    times: dict[str, datetime] = {}
    for row in _rows(base / f"{folder}-tweetids_entire_period.csv"):
        times[_tweet_id(row[1])] = datetime.strptime(row[0].strip(), TIME_FORMAT).astimezone(UTC)
    on_topic: list[tuple[datetime, str]] = []
    background: list[str] = []
    for row in _rows(base / f"{folder}-tweets_labeled.csv"):
        label = row[4].strip()
        text = html.unescape(row[1])
        if label in ON_TOPIC:
            on_topic.append((times[_tweet_id(row[0])], text))
        elif label in BACKGROUND:
            background.append(text)
    on_topic.sort(key=lambda item: item[0])
    onset = onset_of([t for t, _ in on_topic])
    keywords = list(dict.fromkeys(description["keywords"]))
    return EventData(
        folder=folder,
        name=description["name"],
        keywords=keywords,
        terms=keyword_terms(keywords),
        development=description["time"]["development"],
        tweets=on_topic,
        onset=onset,
        before_onset=sum(1 for t, _ in on_topic if t < onset),
        background=background,
    )


def t6_background(corpus: Path) -> list[str]:
    texts: list[str] = []
    for folder in T6_DEV:
        path = corpus / "CrisisLexT6" / folder / f"{folder}-ontopic_offtopic.csv"
        for row in _rows(path):
            if row[2].strip() == "off-topic":
                texts.append(html.unescape(row[1]))
    return texts


def load_events(corpus: Path, folders: Sequence[str]) -> list[EventData]:
    if not (corpus / "CrisisLexT26").is_dir():
        raise CorpusMissing(
            f"crisis corpus: not found at {corpus} — the benchmark reads ../shared/corpus/crisis "
            "beside the repository (pass --corpus)"
        )
    events = [load_event(corpus, f) for f in folders if f not in NO_ID_STREAM]
    # Real chronological order: the synthetic timeline replays the crises in the order they came.
    events.sort(key=lambda e: e.onset)
    return events


# -- building ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Post:
    ts: int  # epoch seconds
    text: str
    author: str
    label: str  # "bg", "spam", "daily", or an event folder


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _background(
    pool: Sequence[str], variant: Variant, layout: Layout, end: datetime, seed: int
) -> list[_Post]:
    """Poisson arrivals per minute with a day/night cycle; texts and authors drawn at random."""
    import numpy as np  # here, so that importing this module (trend_bench does) stays light

    rng = np.random.default_rng(seed)
    start_ts = int(layout.start.timestamp())
    minutes = int((end - layout.start).total_seconds() // 60)
    hours = (np.arange(minutes) / 60.0) % 24.0
    rate = variant.rate_per_min * (1.0 + layout.diurnal * np.cos(2 * math.pi * (hours - 15) / 24))
    counts = rng.poisson(rate)
    total = int(counts.sum())
    minute_of = np.repeat(np.arange(minutes), counts)
    seconds = start_ts + minute_of * 60 + rng.integers(0, 60, total)
    texts = rng.integers(0, len(pool), total)
    # Skewed activity: a few accounts post a lot, most rarely (Zipf-like weights).
    accounts = 20_000
    weights = 1.0 / np.arange(1, accounts + 1) ** 0.8
    authors = rng.choice(accounts, size=total, p=weights / weights.sum())
    return [
        _Post(int(s), pool[int(t)], f"u{int(a)}", "bg")
        for s, t, a in zip(seconds, texts, authors, strict=True)
    ]


def _spam(variant: Variant, layout: Layout) -> list[_Post]:
    posts: list[_Post] = []
    for at in layout.spam_at:
        first = int((layout.start + at).timestamp())
        steps = int(layout.spam_for.total_seconds() // variant.spam_every_s)
        posts.extend(
            _Post(first + i * variant.spam_every_s, SPAM_TEXT, SPAM_AUTHOR, "spam")
            for i in range(steps)
        )
    return posts


def _daily(
    variant: Variant, layout: Layout, end: datetime, rng: random.Random
) -> tuple[list[_Post], list[tuple[datetime, datetime]]]:
    members = [f"u{900_000 + i}" for i in range(variant.daily_members)]
    posts: list[_Post] = []
    windows: list[tuple[datetime, datetime]] = []
    begin = layout.start + layout.daily_at
    while begin + layout.daily_for <= end:
        windows.append((begin, begin + layout.daily_for))
        first = int(begin.timestamp())
        span = int(layout.daily_for.total_seconds())
        for author in rng.sample(members, min(variant.daily_posts, len(members))):
            posts.append(
                _Post(first + rng.randrange(span), rng.choice(DAILY_TEXTS), author, "daily")
            )
        begin += timedelta(days=1)
    return posts, windows


def build_stream(
    events: Sequence[EventData],
    pool: Sequence[str],
    variant: Variant,
    layout: Layout,
    out_dir: Path,
    seed: int,
) -> tuple[Path, Path]:
    """Write `<variant>.jsonl` and `<variant>.labels.json` into out_dir; return both paths."""
    rng = random.Random(f"{seed}:{variant.name}")
    end = layout.end(len(events))
    posts = _background(pool, variant, layout, end, seed)
    posts.extend(_spam(variant, layout))
    daily_posts, daily_windows = _daily(variant, layout, end, rng)
    posts.extend(daily_posts)

    placed: list[dict[str, Any]] = []
    for k, event in enumerate(events):
        slot = layout.start + layout.warmup + k * layout.spacing
        shift = slot - event.onset
        kept = [
            (t, text) for t, text in event.tweets if event.onset <= t < event.onset + layout.horizon
        ]
        for t, text in kept:
            author = f"u{rng.randrange(200_000)}"
            posts.append(_Post(int((t + shift).timestamp()), text, author, event.folder))
        placed.append(
            {
                "folder": event.folder,
                "name": event.name,
                "development": event.development,
                "real_onset": event.onset.isoformat().replace("+00:00", "Z"),
                "onset": _iso(int(slot.timestamp())),
                "end": _iso(int((kept[-1][0] + shift).timestamp())),
                "posts": len(kept),
                "dropped_before_onset": event.before_onset,
                "dropped_after_horizon": sum(
                    1 for t, _ in event.tweets if t >= event.onset + layout.horizon
                ),
                "keywords": event.keywords,
                "terms": event.terms,
                "post_ids": [],
            }
        )

    posts.sort(key=lambda p: (p.ts, p.label, p.author, p.text))
    by_event = {e["folder"]: e for e in placed}
    spam_ids: list[str] = []
    daily_ids: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    stream_path = out_dir / f"{variant.name}.jsonl"
    with stream_path.open("w", encoding="utf-8") as handle:
        for number, post in enumerate(posts, start=1):
            post_id = f"p{number:07d}"
            if post.label == "spam":
                spam_ids.append(post_id)
            elif post.label == "daily":
                daily_ids.append(post_id)
            elif post.label != "bg":
                by_event[post.label]["post_ids"].append(post_id)
            line = {
                "id": post_id,
                "text": post.text,
                "created_at": _iso(post.ts),
                "source": "x",
                "author": post.author,
                "lang": None,
            }
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")

    first_ts, last_ts = posts[0].ts, posts[-1].ts
    labels = {
        "variant": variant.name,
        "seed": seed,
        "stream": stream_path.name,
        "posts": len(posts),
        "background_posts": sum(1 for p in posts if p.label == "bg"),
        "start": _iso(first_ts),
        "end": _iso(last_ts),
        "days": (last_ts - first_ts) / 86_400,
        "variant_params": asdict(variant),
        "layout": {
            key: (str(value) if not isinstance(value, tuple) else [str(v) for v in value])
            for key, value in asdict(layout).items()
        },
        "events": placed,
        "traps": {
            "spam": {
                "author": SPAM_AUTHOR,
                "terms": sorted(terms_of(SPAM_TEXT)),
                "match_terms": [SPAM_TAG],
                "post_ids": spam_ids,
                "windows": [
                    [
                        _iso(int((layout.start + at).timestamp())),
                        _iso(int((layout.start + at + layout.spam_for).timestamp())),
                    ]
                    for at in layout.spam_at
                ],
            },
            "daily": {
                "tag": DAILY_TAG,
                "terms": sorted({t for text in DAILY_TEXTS for t in terms_of(text)}),
                "match_terms": [DAILY_TAG],
                "post_ids": daily_ids,
                "windows": [
                    [_iso(int(a.timestamp())), _iso(int(b.timestamp()))] for a, b in daily_windows
                ],
            },
        },
    }
    labels_path = out_dir / f"{variant.name}.labels.json"
    labels_path.write_text(json.dumps(labels, indent=1), encoding="utf-8")
    return stream_path, labels_path


def check_outside_repo(out_dir: Path) -> None:
    """Refuse to write corpus text anywhere inside the repository (crisis/README.md terms)."""
    resolved = out_dir.resolve()
    if resolved == REPO or REPO in resolved.parents:
        raise SystemExit(
            f"crisis_streams: {out_dir} is inside the repository — CrisisLex text must not be "
            "written there (research use only); pick a directory outside it, e.g. /tmp"
        )


def build_all(
    corpus: Path, out_dir: Path, *, quick: bool, seed: int
) -> dict[str, tuple[Path, Path]]:
    """Both variants; returns {variant: (stream, labels)}."""
    check_outside_repo(out_dir)
    folders = QUICK_EVENTS if quick else DEV_EVENTS
    events = load_events(corpus, folders)
    everyone = load_events(corpus, DEV_EVENTS) if quick else events
    pool = [text for event in everyone for text in event.background] + t6_background(corpus)
    return {
        variant.name: build_stream(events, pool, variant, layout, out_dir, seed + i)
        for i, (variant, layout) in enumerate(PLANS["quick" if quick else "full"])
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="output directory (default: a new temp dir)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--quick", action="store_true", help="3 events, a shorter timeline")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="inhaker-crisis-"))
    try:
        built = build_all(args.corpus, out, quick=args.quick, seed=args.seed)
    except CorpusMissing as exc:
        print(exc, file=sys.stderr)
        return EXIT_NO_CORPUS
    for name, (stream, labels) in built.items():
        meta = json.loads(labels.read_text("utf-8"))
        print(
            f"{name}: {stream} ({meta['posts']:,} posts over {meta['days']:.2f} days, "
            f"{len(meta['events'])} events); labels {labels}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
