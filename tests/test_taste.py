"""Feedback that teaches Inhaker, and Slack's watch terms and mutes reaching the pipeline.

The pure model (detectors/taste.py) on hand-made clicks; then the real Engine on a real SQLite
store, with clicks written the way the Slack buttons write them (`store.add_feedback`), watch
terms and mutes the way `/inhaker watch add` and `/inhaker mute` write them, and what reaches
the fake Slack or the `/inhaker trends` snapshot checked as a person would see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import AlertsConfig, Config, FeedbackConfig, parse_config
from bot.notify.slack import SlackNotifier
from bot.pipeline import Engine
from bot.replay import NullNotifier
from bot.serialize import opportunity_from_dict, opportunity_to_dict, trend_from_dict, trend_to_dict
from bot.store import Store
from bot.taste import TasteBook, features_of_trend
from detectors.records import Opportunity, Post, Trend
from detectors.taste import FeedbackEvent, Taste
from tests.fake_slack import FakeSlack
from tests.opportunity_examples import POSTED_AT
from tests.test_checkpoint import T0, WORDS, chatter, feed

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HALF_LIFE = timedelta(days=60)
WERKPLEK = ("term:werkplek", "source:x", "kind:opportunity")
VOETBAL = ("term:voetbal", "source:x", "kind:opportunity")


def clicks(
    features: tuple[str, ...], action: str, times: int, at: datetime = NOW
) -> list[FeedbackEvent]:
    return [FeedbackEvent(features, action, at - timedelta(minutes=k)) for k in range(times)]


def learn(events: list[FeedbackEvent], max_effect: float = 3.0) -> Taste:
    return Taste.learn(events, NOW, HALF_LIFE, max_effect)


# -- the model -------------------------------------------------------------------------------


def test_without_feedback_nothing_changes() -> None:
    effect = learn([]).effect(WERKPLEK)
    assert effect.multiplier == 1.0
    assert effect.reasons == ()
    # Clicks about other things leave a finding alone too.
    other = learn(clicks(("term:voetbal",), "useful", 3)).effect(("term:werkplek",))
    assert other.multiplier == 1.0
    assert other.reasons == ()


def test_useful_clicks_raise_and_say_so() -> None:
    effect = learn(clicks(WERKPLEK, "useful", 2)).effect(WERKPLEK)
    assert effect.multiplier > 1.5
    assert effect.reasons[0].startswith("'werkplek' marked useful 2× (+")
    assert effect.reasons[0].endswith(" %)")
    # A call sharing only the term gets part of it.
    partial = learn(clicks(WERKPLEK, "useful", 2)).effect(("term:werkplek", "source:nos"))
    assert 1.0 < partial.multiplier < effect.multiplier


def test_not_relevant_lowers_and_dismiss_is_its_old_name() -> None:
    lowered = learn(clicks(VOETBAL, "not_relevant", 2)).effect(VOETBAL)
    assert lowered.multiplier < 0.7
    assert lowered.reasons[0].startswith("'voetbal' marked not relevant 2× (−")
    legacy = learn(clicks(VOETBAL, "dismiss", 2)).effect(VOETBAL)
    assert legacy == lowered


def test_a_follow_through_counts_more_than_a_useful_and_a_snooze_nothing() -> None:
    useful = learn(clicks(WERKPLEK, "useful", 1)).effect(WERKPLEK).multiplier
    done = learn(clicks(WERKPLEK, "done", 1)).effect(WERKPLEK)
    assert done.multiplier > useful > 1.0
    assert "followed through 1×" in done.reasons[0]
    assert learn(clicks(WERKPLEK, "snooze", 5)).effect(WERKPLEK).multiplier == 1.0


def test_the_effect_is_bounded_by_max_effect() -> None:
    assert learn(clicks(WERKPLEK, "done", 200), max_effect=2.0).effect(WERKPLEK).multiplier == 2.0
    assert learn(clicks(VOETBAL, "mute", 200), max_effect=2.0).effect(VOETBAL).multiplier == 0.5


def test_old_clicks_count_less() -> None:
    fresh = learn(clicks(WERKPLEK, "useful", 3)).effect(WERKPLEK).multiplier
    old = learn(clicks(WERKPLEK, "useful", 3, at=NOW - 2 * HALF_LIFE)).effect(WERKPLEK).multiplier
    assert 1.0 < old < fresh
    # A click written after `now` (another process's clock) waits for its time.
    assert learn(clicks(WERKPLEK, "useful", 3, at=NOW + timedelta(hours=1))).empty


def test_same_clicks_same_taste_whatever_their_order() -> None:
    events = clicks(WERKPLEK, "useful", 3) + clicks(VOETBAL, "not_relevant", 2)
    first = learn(events).effect((*WERKPLEK, "term:voetbal"))
    again = learn(list(reversed(events))).effect((*WERKPLEK, "term:voetbal"))
    assert first == again


def test_unusable_settings_are_named() -> None:
    with pytest.raises(ValueError, match="half_life must be positive"):
        Taste.learn([], NOW, timedelta(0), 3.0)
    with pytest.raises(ValueError, match="max_effect must be above 1"):
        Taste.learn([], NOW, HALF_LIFE, 1.0)


FEATURES = st.sampled_from(["term:a", "term:b", "term:c", "source:x", "kind:trend"])
ACTIONS = st.sampled_from(["useful", "claim", "done", "not_relevant", "dismiss", "mute", "snooze"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(FEATURES, min_size=1, max_size=4), ACTIONS, st.integers(0, 400)),
        max_size=30,
    ),
    st.lists(FEATURES, max_size=5),
    st.floats(1.5, 10.0),
)
def test_the_multiplier_stays_within_its_bounds(
    raw: list[tuple[list[str], str, int]], item: list[str], max_effect: float
) -> None:
    events = [FeedbackEvent(tuple(f), a, NOW - timedelta(days=d)) for f, a, d in raw]
    effect = learn(events, max_effect).effect(item)
    assert 1 / max_effect - 1e-4 <= effect.multiplier <= max_effect + 1e-4
    if all(FeedbackEvent((), a, NOW).strength >= 0 for _, a, _ in raw):
        assert effect.multiplier >= 1.0  # praise never lowers anything


# -- records keep their taste ------------------------------------------------------------------


def test_taste_survives_the_outbox_and_old_payloads_still_load() -> None:
    trend = Trend(
        key="trend:werkplek",
        title="#werkplek",
        terms=("werkplek",),
        detected_at=NOW,
        score=5.0,
        count=9,
        baseline_rate=1.0,
        ratio=5.0,
        authors=9,
        sources=("x",),
        evidence=(),
        taste=1.4,
        taste_reasons=("'werkplek' marked useful 2× (+40 %)",),
    )
    assert trend_from_dict(trend_to_dict(trend)) == trend
    old = trend_to_dict(trend)
    del old["taste"], old["taste_reasons"]
    assert trend_from_dict(old).taste == 1.0
    call = Opportunity(
        key="opportunity:x:1",
        post_id="1",
        source="x",
        detected_at=NOW,
        score=0.9,
        category="submission",
        deadline=None,
        asker=None,
        text="Oproep",
        taste=0.8,
        taste_reasons=("'voetbal' marked not relevant 1× (−20 %)",),
    )
    assert opportunity_from_dict(opportunity_to_dict(call)) == call
    old = opportunity_to_dict(call)
    del old["taste"], old["taste_reasons"]
    assert opportunity_from_dict(old).taste_reasons == ()


# -- the engine: open calls ------------------------------------------------------------------

CALLS_1 = {
    "a1": "Oproep: Vakblad Sport zoekt verhalen over voetbal. Mail ons: red@sport.nl",
    "b1": "Oproep: Vakblad Kantoor zoekt verhalen over werkplek. Mail ons: red@kantoor.nl",
}
CALLS_2 = {
    "a2": "Oproep: Magazine Sport zoekt verhalen over voetbal. Mail ons: tips@sport.nl",
    "b2": "Oproep: Magazine Kantoor zoekt verhalen over werkplek. Mail ons: tips@kantoor.nl",
}


def posts(calls: dict[str, str], at: datetime) -> list[Post]:
    return [Post(source="x", id=i, text=t, created_at=at) for i, t in calls.items()]


def slack_engine(database_url: str, fake_slack: FakeSlack, yaml: str = "") -> tuple[Engine, Store]:
    config = parse_config('slack:\n  channel: "#inhaker"\n' + yaml)
    store = Store(database_url)
    notifier = SlackNotifier(fake_slack.token, base_url=fake_slack.base_url)
    return Engine(config, store, notifier, keep_posts_in_memory=True), store


def order_in_slack(fake_slack: FakeSlack) -> list[str]:
    """Which call each message in #inhaker is about, in the order they were posted."""
    found = []
    for message in fake_slack.messages("#inhaker"):
        text = message["text"]
        found.append("voetbal" if "voetbal" in text else "werkplek" if "werkplek" in text else "?")
    return found


def test_feedback_changes_the_next_ranking_of_open_calls(
    database_url: str, fake_slack: FakeSlack
) -> None:
    engine, store = slack_engine(database_url, fake_slack)
    first = POSTED_AT + timedelta(minutes=5)
    engine.ingest(posts(CALLS_1, POSTED_AT))
    engine.tick(first)
    assert order_in_slack(fake_slack) == ["voetbal", "werkplek"]
    later = first + timedelta(hours=1)
    # Without feedback the next two calls would come in the same order.
    untaught = engine.opportunities_for(posts(CALLS_2, later), later)
    assert [o.post_id for o in untaught] == ["a2", "b2"]
    assert {o.taste for o in untaught} == {1.0}

    store.add_feedback("opportunity:x:b1", "U1", "useful", first + timedelta(minutes=10))
    store.add_feedback("opportunity:x:a1", "U2", "not_relevant", first + timedelta(minutes=11))
    engine.ingest(posts(CALLS_2, later))
    engine.tick(later + timedelta(minutes=5))

    assert order_in_slack(fake_slack) == ["voetbal", "werkplek", "werkplek", "voetbal"]
    sent = store.alert("opportunity:x:b2")
    assert sent is not None
    assert sent.payload["opportunity"]["taste"] > 1.0
    assert any(
        "'werkplek' marked useful 1×" in r for r in sent.payload["opportunity"]["taste_reasons"]
    )


def test_switched_off_feedback_changes_nothing(database_url: str, fake_slack: FakeSlack) -> None:
    engine, store = slack_engine(database_url, fake_slack, "feedback:\n  enabled: false\n")
    engine.ingest(posts(CALLS_1, POSTED_AT))
    engine.tick(POSTED_AT + timedelta(minutes=5))
    store.add_feedback("opportunity:x:b1", "U1", "useful", POSTED_AT + timedelta(minutes=6))
    store.add_feedback("opportunity:x:a1", "U2", "not_relevant", POSTED_AT + timedelta(minutes=6))
    later = POSTED_AT + timedelta(hours=1)
    engine.ingest(posts(CALLS_2, later))
    engine.tick(later + timedelta(minutes=5))
    assert order_in_slack(fake_slack) == ["voetbal", "werkplek", "voetbal", "werkplek"]


def test_a_watch_term_added_in_slack_makes_a_call_watched(
    database_url: str, fake_slack: FakeSlack
) -> None:
    engine, store = slack_engine(database_url, fake_slack)
    engine.ingest(posts({"b1": CALLS_1["b1"]}, POSTED_AT))
    engine.tick(POSTED_AT + timedelta(minutes=5))
    before = store.alert("opportunity:x:b1")
    assert before is not None
    assert before.payload["opportunity"]["watched"] == []

    store.add_watch_term("#Werkplek", "U1", POSTED_AT + timedelta(minutes=6))
    engine.ingest(posts({"b2": CALLS_2["b2"]}, POSTED_AT + timedelta(minutes=7)))
    engine.tick(POSTED_AT + timedelta(minutes=10))
    after = store.alert("opportunity:x:b2")
    assert after is not None
    assert after.payload["opportunity"]["watched"] == ["werkplek"]
    assert after.payload["opportunity"]["fit"] == 1.0
    shown = str(fake_slack.messages("#inhaker")[-1]["blocks"])
    assert "On your watch list: werkplek" in shown


def test_a_muted_term_keeps_its_calls_out_until_unmuted(
    database_url: str, fake_slack: FakeSlack
) -> None:
    engine, store = slack_engine(database_url, fake_slack)
    store.mute("voetbal", until=POSTED_AT + timedelta(hours=2), user_id="U1", now=POSTED_AT)
    engine.ingest(posts(CALLS_1, POSTED_AT))
    engine.tick(POSTED_AT + timedelta(minutes=5))
    assert order_in_slack(fake_slack) == ["werkplek"]
    store.unmute("voetbal")
    later = POSTED_AT + timedelta(minutes=30)
    engine.ingest(posts({"a2": CALLS_2["a2"]}, later))
    engine.tick(later + timedelta(minutes=1))
    assert order_in_slack(fake_slack) == ["werkplek", "voetbal"]


def test_the_taste_is_rebuilt_only_when_someone_clicked(database_url: str) -> None:
    store = Store(database_url)
    book = TasteBook(store, Config())
    trend = Trend(
        key="trend:werkplek",
        title="#werkplek",
        terms=("werkplek", "kantoor"),
        detected_at=NOW,
        score=5.0,
        count=9,
        baseline_rate=1.0,
        ratio=5.0,
        authors=9,
        sources=("x",),
        evidence=(),
    )
    store.add_alert(
        alert_id="trend:werkplek:1",
        kind="trend",
        key=trend.key,
        title=trend.title,
        terms=trend.terms,
        payload={"trend": trend_to_dict(trend)},
        channel="#inhaker",
        now=NOW - timedelta(days=1),
    )
    first = book.current(NOW)
    assert first.empty
    assert book.current(NOW + timedelta(minutes=1)) is first
    store.add_feedback("trend:werkplek:1", "U1", "useful", NOW + timedelta(minutes=2))
    # A double click is one click.
    store.add_feedback("trend:werkplek:1", "U1", "useful", NOW + timedelta(minutes=2))
    taught = book.current(NOW + timedelta(minutes=3))
    assert taught is not first
    row = store.alert("trend:werkplek:1")
    assert row is not None
    why = book.explain(row, NOW + timedelta(minutes=3))
    assert why.multiplier > 1.0
    assert any(r.startswith("'werkplek' marked useful 1×") for r in why.reasons)
    assert book.explain(trend, NOW + timedelta(minutes=3)) == why
    assert "term:werkplek" in features_of_trend(trend)
    off = TasteBook(store, Config(feedback=FeedbackConfig(enabled=False)))
    assert off.explain(row, NOW + timedelta(minutes=3)).reasons == ()


# -- the engine: trends -----------------------------------------------------------------------

BURSTS = {
    "ciara": "Storm #Ciara raast over {} en meer",
    "werkplek": "Mijn #werkplek heeft een {} hoek",
}
ONSET = T0 + timedelta(minutes=120)


def burst(tag: str, count: int, start: datetime, step_s: int = 30) -> list[Post]:
    return [
        Post(
            source="x",
            id=f"{tag}-{start:%H%M}-{k}",
            text=BURSTS[tag].format(WORDS[k % len(WORDS)]),
            created_at=start + timedelta(seconds=step_s * k),
            author=f"{tag}{k}",
        )
        for k in range(count)
    ]


def earlier_alert(store: Store, tag: str) -> str:
    """An alert about `tag` from a week before, as the policy writes one."""
    trend = Trend(
        key=f"trend:{tag}",
        title=f"#{tag}",
        terms=(tag,),
        detected_at=T0 - timedelta(days=7),
        score=6.0,
        count=10,
        baseline_rate=1.0,
        ratio=5.5,
        authors=10,
        sources=("x",),
        evidence=(),
    )
    alert_id = f"trend:{tag}:last-week"
    store.add_alert(
        alert_id=alert_id,
        kind="trend",
        key=trend.key,
        title=trend.title,
        terms=trend.terms,
        payload={"trend": trend_to_dict(trend)},
        channel="#inhaker",
        now=trend.detected_at,
    )
    return alert_id


def two_bursts_at_once(database_url: str, teach: bool) -> tuple[list[str], list[str]]:
    """Two topics fire in one tick and one alert is allowed: (titles alerted, snapshot)."""
    store = Store(database_url)
    engine = Engine(Config(alerts=AlertsConfig(max_per_tick=1)), store, NullNotifier())
    if teach:
        ciara, werkplek = earlier_alert(store, "ciara"), earlier_alert(store, "werkplek")
        store.add_feedback(werkplek, "U1", "useful", T0 - timedelta(days=6))
        store.add_feedback(ciara, "U2", "not_relevant", T0 - timedelta(days=6))
    feed(engine, store, chatter(T0, 120), ONSET)
    both = burst("ciara", 16, ONSET) + burst("werkplek", 14, ONSET)
    store.add_posts(both, seen_at=ONSET + timedelta(minutes=9), backlog=False)
    engine.ingest(both)
    result = engine.tick(ONSET + timedelta(minutes=9), deliver=False)
    snapshot, _ = store.current_trends()
    alerted = [d.trend.title for d in result.decisions if d.trend is not None]
    return alerted, [t["title"] for t in snapshot]


def test_feedback_decides_which_trend_alerts_when_one_may(
    make_database_url: Callable[[str], str],
) -> None:
    alerted, snapshot = two_bursts_at_once(make_database_url("untaught"), teach=False)
    assert alerted == ["#ciara"]
    assert snapshot[:2] == ["#ciara", "#werkplek"]
    alerted, snapshot = two_bursts_at_once(make_database_url("taught"), teach=True)
    assert alerted == ["#werkplek"]
    assert snapshot[:2] == ["#werkplek", "#ciara"]


def test_a_muted_trend_alerts_only_after_the_mute_ends(database_url: str) -> None:
    store = Store(database_url)
    engine = Engine(Config(), store, NullNotifier())
    mute_ends = ONSET + timedelta(minutes=15)
    store.mute("#Ciara", until=mute_ends, user_id="U1", now=T0)
    feed(engine, store, chatter(T0, 120), ONSET)
    storm = burst("ciara", 40, ONSET, step_s=40) + chatter(ONSET, 30, seed=7)
    feed(engine, store, storm, mute_ends - timedelta(minutes=1))
    assert store.all_alerts() == []
    assert store.current_trends()[0] == []
    feed(
        engine,
        store,
        [p for p in storm if p.created_at >= mute_ends - timedelta(minutes=1)],
        mute_ends + timedelta(minutes=5),
    )
    assert [a.title for a in store.all_alerts()] == ["#ciara"]
    assert [t["title"] for t in store.current_trends()[0]] == ["#ciara"]


def test_a_watch_term_added_in_slack_lowers_the_bar_for_its_trend(
    make_database_url: Callable[[str], str],
) -> None:
    """Four posts from four people are no trend, unless the team watches the term."""

    def small_burst(watch: bool) -> list[Trend]:
        store = Store(make_database_url(f"watch-{watch}"))
        engine = Engine(Config(), store, NullNotifier())
        if watch:
            store.add_watch_term("werkplek", "U1", T0)
        feed(engine, store, chatter(T0, 120), ONSET)
        feed(engine, store, burst("werkplek", 4, ONSET, step_s=60), ONSET + timedelta(minutes=6))
        return [
            replace(trend_from_dict(a.payload["trend"]), evidence=()) for a in store.all_alerts()
        ]

    assert small_burst(watch=False) == []
    alerted = small_burst(watch=True)
    assert [t.title for t in alerted] == ["#werkplek"]
    assert alerted[0].watched == ("werkplek",)
