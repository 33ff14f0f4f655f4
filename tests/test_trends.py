"""Rising-term detector v1 on small literal streams with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.records import Post
from detectors.text import terms_of
from detectors.trends import RisingTermDetector, TrendParams

T0 = datetime(2014, 6, 13, 12, 0, tzinfo=UTC)


def post(i: int, text: str, at: datetime, author: str = "", source: str = "x") -> Post:
    return Post(source=source, id=f"p{i}", text=text, created_at=at, author=author or f"u{i}")


def background(detector: RisingTermDetector, hours: int = 6) -> int:
    """Ordinary chatter: every word comes back at a steady rate, none rises."""
    topics = ["koffie", "regen", "file", "lunch", "vergadering", "trein", "fiets", "zon"]
    n = 0
    for minute in range(hours * 60):
        at = T0 + timedelta(minutes=minute)
        word = topics[minute % len(topics)]
        detector.observe(post(n, f"Weer {word} vandaag", at, author=f"bg{minute % 40}"))
        n += 1
    return n


def test_a_burst_from_many_authors_alerts_with_evidence_and_numbers() -> None:
    detector = RisingTermDetector(TrendParams())
    n = background(detector)
    now = T0 + timedelta(hours=6)
    burst_ids = []
    for k in range(20):
        at = now - timedelta(minutes=30) + timedelta(minutes=k)
        p = post(n + k, f"Wat een wedstrijd! #Twelftal {k}", at, author=f"fan{k}")
        detector.observe(p)
        burst_ids.append(p.id)
    trends = detector.findings(now)
    assert [t.title for t in trends] == ["#twelftal"]
    trend = trends[0]
    assert trend.count == 20
    assert trend.authors == 20
    assert trend.baseline_rate == 0
    assert trend.ratio >= 3
    assert set(trend.evidence) == set(burst_ids)
    assert trend.evidence[0] == burst_ids[-1]  # newest first
    assert trend.sources == ("x",)
    assert sum(trend.sparkline) == 20
    assert trend.key == "trend:twelftal"


def test_steady_background_never_alerts() -> None:
    detector = RisingTermDetector(TrendParams())
    background(detector, hours=12)
    for hour in range(1, 13):
        assert detector.findings(T0 + timedelta(hours=hour)) == []


def test_one_account_repeating_itself_is_not_a_trend() -> None:
    detector = RisingTermDetector(TrendParams())
    n = background(detector)
    now = T0 + timedelta(hours=6)
    for k in range(30):
        at = now - timedelta(minutes=40) + timedelta(minutes=k)
        detector.observe(post(n + k, f"Mega #zomerdeal nu 50% korting {k}", at, author="spammer"))
    assert detector.findings(now) == []


def test_co_rising_terms_are_one_trend() -> None:
    detector = RisingTermDetector(TrendParams())
    n = background(detector)
    now = T0 + timedelta(hours=6)
    for k in range(12):
        at = now - timedelta(minutes=20) + timedelta(seconds=60 * k)
        detector.observe(post(n + k, "Van Persie scoort! #NEDESP #vliegendehollander", at))
    trends = detector.findings(now)
    assert len(trends) == 1
    assert set(trends[0].terms) >= {"nedesp", "vliegendehollander", "persie"}


def test_watch_terms_alert_at_a_lower_bar_and_say_so() -> None:
    params = TrendParams(min_posts=5, watch_min_posts=3)
    plain = RisingTermDetector(params)
    watched = RisingTermDetector(params, watch_terms=["#werkplek"])
    now = T0 + timedelta(hours=6)
    for detector in (plain, watched):
        n = background(detector)
        for k in range(3):
            at = now - timedelta(minutes=10 + k)
            detector.observe(post(n + k, "Mijn werkplek vandaag", at, author=f"w{k}"))
    assert plain.findings(now) == []
    trends = watched.findings(now)
    assert [t.title for t in trends] == ["werkplek"]
    assert trends[0].watched == ("werkplek",)


def test_excluded_terms_are_ignored() -> None:
    detector = RisingTermDetector(TrendParams(), exclude_terms=["vacature"])
    now = T0 + timedelta(hours=1)
    for k in range(10):
        detector.observe(post(k, f"Vacature: developer gezocht {k}", now - timedelta(minutes=k)))
    assert detector.findings(now) == []


def test_old_buckets_are_forgotten() -> None:
    detector = RisingTermDetector(TrendParams(baseline=timedelta(hours=2)))
    background(detector, hours=10)
    detector.findings(T0 + timedelta(hours=10))
    assert len(detector._buckets) <= (3 * 60) // 10 + 1


def test_duplicates_are_counted_once() -> None:
    detector = RisingTermDetector(TrendParams(min_posts=2, min_authors=1))
    p = post(1, "#dubbel", T0)
    assert detector.observe(p) is True
    assert detector.observe(p) is False


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=40), st.integers(0, 180), st.integers(0, 9)),
        max_size=60,
    )
)
def test_every_evidence_post_mentions_one_of_the_trend_terms(
    items: list[tuple[str, int, int]],
) -> None:
    detector = RisingTermDetector(TrendParams(min_posts=2, min_authors=1, min_score=0.5))
    posts = {}
    for i, (text, minute, author) in enumerate(sorted(items, key=lambda x: x[1])):
        p = post(i, text, T0 + timedelta(minutes=minute), author=f"a{author}")
        posts[p.id] = p
        detector.observe(p)
    for trend in detector.findings(T0 + timedelta(minutes=181)):
        for post_id in trend.evidence:
            assert set(terms_of(posts[post_id].text)) & set(trend.terms)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200))
def test_a_stream_in_which_no_term_repeats_never_alerts(size: int) -> None:
    detector = RisingTermDetector(TrendParams(min_posts=2, min_authors=1))
    for i in range(size):
        word = "".join(chr(ord("a") + int(d)) for d in f"{i:04d}")
        detector.observe(post(i, f"uniek{word}", T0 + timedelta(seconds=i)))
    assert detector.findings(T0 + timedelta(seconds=size)) == []


def test_source_labels_in_tags_are_not_topics() -> None:
    detector = RisingTermDetector(
        TrendParams(min_posts=2, min_authors=1, min_score=1, min_history=timedelta(0))
    )
    for i in range(5):
        p = Post(
            source="hn",
            id=f"h{i}",
            text=f"Verhaal {i} over iets anders {i * 7919}",
            created_at=T0 + timedelta(minutes=i),
            author=f"a{i}",
            tags=("hn:top", "velocity:high", "opendata"),
        )
        detector.observe(p)
    terms = {t for trend in detector.findings(T0 + timedelta(minutes=6)) for t in trend.terms}
    assert "opendata" in terms
    assert not {"hn:top", "top", "velocity:high", "velocity"} & terms
