"""Routing per channel, team handoff and quiet hours: what lands in which Slack channel, who is
mentioned with which platform, and what waits for the morning.

Real feeds.yaml text through parse_config, the real AlertPolicy on a real SQLite store, the real
SlackNotifier (slack_sdk WebClient) against the fake Slack Web API, and a fixed clock.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import AlertPolicy, alert_from_row
from bot.config import Config, parse_config
from bot.delivery import deliver_outbox
from bot.notify.base import Alert
from bot.notify.slack import SlackNotifier
from bot.routing import handoff_for, held_alerts_may_go, in_quiet_hours, route_channel
from bot.slack.blocks import alert_blocks
from bot.store import Store
from detectors.records import ExternalTrend, Opportunity, Trend
from tests.fake_slack import FakeSlack, validate_blocks

# 23:30 in Amsterdam (CET, UTC+1): inside quiet hours 22:00-07:00.
NIGHT = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)
EVENING = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # 18:00 local: not quiet

SOURCES = """
sources:
  - id: x
    name: X search
    kind: x_search
    query: "werkplek OR twelftal"
    enabled: false
  - id: mastodon-social
    name: Mastodon
    kind: mastodon
    instance: https://mastodon.social
    hashtags: [werkplek]
    lang: nl
  - id: emerce
    name: Emerce
    kind: rss
    url: https://www.emerce.nl/rss
    lang: nl
  - id: bbc
    name: BBC
    kind: rss
    url: https://feeds.bbci.co.uk/news/rss.xml
    lang: en
  - id: mastodon-trends
    kind: bluesky_trends
"""

ROUTES = """
slack:
  channel: "#inhaker"
  routes:
    - channel: "#werkplek"
      terms: ["#Werkplek"]
    - channel: "#calls"
      kinds: [opportunity]
    - channel: "#social"
      sources: [mastodon]
      min_score: 5
    - channel: "#nieuws-nl"
      kinds: [trend]
      langs: [nl]
      min_score: 5
"""

TEAM = """
team:
  - name: Marloes
    slack_id: U0MARLOES
    platforms: [linkedin, x]
    topics: [werkplek, employer branding]
  - name: Sam <the fan>
    slack_id: U0SAM
    platforms: [instagram, tiktok]
    topics: [voetbal]
  - name: Joost
    slack_id: U0JOOST
    platforms: [mastodon, bluesky]
"""

QUIET = """
slack:
  channel: "#inhaker"
  timezone: Europe/Amsterdam
  quiet_hours: {start: "22:00", end: "07:00", urgent_score: 20}
"""


def config_from(*parts: str) -> Config:
    return parse_config("\n".join(parts), file="feeds.yaml")


def make_trend(
    lead: str = "twelftal",
    *,
    score: float = 12.0,
    sources: tuple[str, ...] = ("x",),
    watched: tuple[str, ...] = (),
    title: str | None = None,
    at: datetime = NIGHT,
    count: int = 30,
) -> Trend:
    return Trend(
        key=f"trend:{lead}",
        title=title or f"#{lead}",
        terms=(lead,),
        detected_at=at,
        score=score,
        count=count,
        baseline_rate=1.0,
        ratio=15.5,
        authors=20,
        sources=sources,
        evidence=(),
        watched=watched,
        stage="rising",
    )


def make_call(
    post_id: str = "e-1",
    *,
    deadline: str | None = "2026-12-20",
    source: str = "emerce",
    category: str = "speakers",
    topic: str | None = "werkplek van de toekomst",
    at: datetime = NIGHT,
) -> Opportunity:
    return Opportunity(
        key=f"opportunity:{source}:{post_id}",
        post_id=post_id,
        source=source,
        detected_at=at,
        score=0.93,
        category=category,
        deadline=deadline,
        asker="Emerce",
        text="Sprekers gezocht voor ons congres over de werkplek van de toekomst.",
        title="Call for speakers: Emerce Werkplek",
        topic=topic,
        url="https://www.emerce.nl/call",
    )


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@pytest.fixture
def notifier(fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(fake_slack.token, base_url=fake_slack.base_url)


def deliver(store: Store, notifier: SlackNotifier, config: Config, now: datetime) -> None:
    labels = {s.id: s.label for s in config.sources}
    report = deliver_outbox(store, notifier, store.posts_by_uids, labels, now)
    assert report.error is None


def headers(fake: FakeSlack, channel: str) -> list[str]:
    return [m["blocks"][0]["text"]["text"] for m in fake.messages(channel)]


def context_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(
        str(element["text"])
        for block in blocks
        if block["type"] == "context"
        for element in block["elements"]
    )


# --- routes -----------------------------------------------------------------------------------


def test_routes_send_each_alert_to_the_first_matching_channel(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(SOURCES, ROUTES)
    policy = AlertPolicy(config, store)
    policy.consider_trends(
        [
            # A watch-term trend from Mastodon matches #werkplek AND #social: the first wins.
            make_trend("werkplek", sources=("mastodon-social",), watched=("#werkplek",)),
            # From a source of kind mastodon, strong enough: #social by source kind.
            make_trend("sinterklaas", sources=("mastodon-social",)),
            # From Mastodon but weak: past #social's min_score and #nieuws-nl's, to the default.
            make_trend("regen", sources=("mastodon-social",), score=4.0),
            # From an English feed: #nieuws-nl asks for Dutch, so the default channel.
            make_trend("election", sources=("bbc",)),
        ],
        EVENING,
    )
    # A call about a marketing congress: #calls by kind (its topic words are not "werkplek").
    policy.consider_opportunity(make_call(topic="marketing congres"), EVENING, EVENING)
    deliver(store, notifier, config, EVENING)

    assert headers(fake_slack, "#werkplek") == ["📈 Rising: #werkplek"]
    assert headers(fake_slack, "#social") == ["📈 Rising: #sinterklaas"]
    assert headers(fake_slack, "#calls") == ["🎯 Open call: Emerce"]
    assert sorted(headers(fake_slack, "#inhaker")) == ["📈 Rising: #election", "📈 Rising: #regen"]


def test_route_by_language_and_by_source_id() -> None:
    config = config_from(
        SOURCES,
        """
slack:
  routes:
    - channel: "#english"
      langs: [en-GB]
    - channel: "#emerce"
      sources: [emerce]
""",
    )
    assert route_channel(config, "trend", ("brexit",), ("bbc",), ("en",), 9.0) == "#english"
    assert route_channel(config, "opportunity", (), ("emerce",), ("nl",), 0.9) == "#emerce"
    # No language known and no source condition met: the default channel.
    assert route_channel(config, "trend", ("x",), ("x",), (), 9.0) == "#inhaker"


def test_a_watch_list_route_takes_every_watched_alert_and_only_those(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(
        SOURCES,
        """
slack:
  channel: "#inhaker"
  routes:
    - channel: "#watch"
      watched: true
    - channel: "#overig"
      watched: false
      kinds: [trend]
""",
    )
    policy = AlertPolicy(config, store)
    policy.consider_trends(
        [make_trend("werkplek", watched=("werkplek",)), make_trend("regen", score=9.5)], EVENING
    )
    policy.consider_opportunity(make_call(topic="marketing congres"), EVENING, EVENING)
    deliver(store, notifier, config, EVENING)
    assert headers(fake_slack, "#watch") == ["📈 Rising: #werkplek"]
    assert headers(fake_slack, "#overig") == ["📈 Rising: #regen"]
    assert headers(fake_slack, "#inhaker") == ["🎯 Open call: Emerce"]  # not watched, not a trend


def test_a_route_naming_an_unknown_source_fails_inhaker_check_with_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        SOURCES
        + """
slack:
  routes:
    - channel: "#calls"
      sources: [emerse]
""",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "emerse" in text)
    assert f"{path}:{line}: slack.routes[0].sources[0]: no source has the id or kind 'emerse'" in (
        result.stderr
    )
    assert "use an id under sources:" in result.stderr


# --- team and platform ------------------------------------------------------------------------


def test_a_call_from_trade_press_mentions_the_topic_owner_on_linkedin(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(SOURCES, TEAM)
    AlertPolicy(config, store).consider_opportunity(make_call(), EVENING, EVENING)
    deliver(store, notifier, config, EVENING)

    [message] = fake_slack.messages("#inhaker")
    assert validate_blocks(message["blocks"]) == []
    line = context_text(message["blocks"])
    assert (
        "👤 <@U0MARLOES> (Marloes) · post on *LinkedIn* — "
        "a call for speakers from trade press: a B2B audience"
    ) in line
    assert "U0SAM" not in line
    assert "U0JOOST" not in line


def test_a_person_is_only_suggested_for_a_platform_they_cover() -> None:
    config = config_from(SOURCES, TEAM)
    # A football story rising on Mastodon: Sam knows the topic but does not post on Mastodon;
    # Joost covers Mastodon. Sam is mentioned with Instagram, and the line says why.
    handoff = handoff_for(config, "trend", ("voetbal",), ("mastodon-social",), text="voetbal op tv")
    assert handoff is not None
    assert handoff.people == (("U0SAM", "Sam <the fan>"), ("U0JOOST", "Joost"))
    assert handoff.platforms[0] == "instagram"
    assert "mastodon" in handoff.platforms  # for Joost
    assert "Sam <the fan> knows the topic but covers Instagram and TikTok, not Mastodon" in (
        handoff.reason
    )
    assert "Joost covers Mastodon" in handoff.reason


def test_a_hashtag_story_on_x_suggests_x_and_the_consumer_platforms() -> None:
    config = config_from(SOURCES, TEAM)
    handoff = handoff_for(config, "trend", ("twelftal",), ("x",), text="#twelftal")
    assert handoff is not None
    assert handoff.platforms == ("x", "instagram", "tiktok")
    assert handoff.reason.startswith("the story rises on X; a hashtag story: a consumer crowd")
    # Nobody's topic matches: those who cover X first (Marloes), then Instagram (Sam).
    assert [name for _, name in handoff.people] == ["Marloes", "Sam <the fan>"]


def test_the_handoff_line_mentions_people_and_escapes_names() -> None:
    config = config_from(SOURCES, TEAM)
    store_free_trend = make_trend("voetbal", sources=("mastodon-social",))
    handoff = handoff_for(config, "trend", ("voetbal",), ("mastodon-social",), text="#voetbal")
    alert = Alert(
        id="trend:voetbal:1",
        kind="trend",
        channel="#inhaker",
        created_at=EVENING,
        trend=store_free_trend,
        handoff=handoff,
    )
    blocks = alert_blocks(alert)
    assert validate_blocks(blocks) == []
    line = context_text(blocks)
    assert "<@U0SAM> (Sam &lt;the fan&gt;)" in line
    assert "<@U0JOOST> (Joost)" in line
    assert "<the fan>" not in line


def test_no_team_means_no_handoff_line(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(SOURCES)
    assert handoff_for(config, "trend", ("werkplek",), ("x",), text="#werkplek") is None
    AlertPolicy(config, store).consider_trends([make_trend(at=EVENING)], EVENING)
    deliver(store, notifier, config, EVENING)
    [message] = fake_slack.messages("#inhaker")
    assert "👤" not in context_text(message["blocks"])
    assert "post on" not in context_text(message["blocks"])


def test_a_listed_trend_carries_its_handoff_through_the_outbox(store: Store) -> None:
    config = config_from(SOURCES, TEAM)
    signal = ExternalTrend(
        source="mastodon-trends", term="werkplek", title="#Werkplek", observed_at=EVENING
    )
    AlertPolicy(config, store).consider_listed(signal, "werkplek", EVENING)
    [row] = store.all_alerts()
    alert = alert_from_row(row, lambda ids: [], {})
    assert alert.handoff is not None
    assert alert.handoff.people[0] == ("U0MARLOES", "Marloes")  # her topic
    assert "the story rises on Bluesky" in alert.handoff.reason


# --- quiet hours ------------------------------------------------------------------------------


def test_quiet_hours_hold_ordinary_alerts_and_let_urgent_ones_through(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(SOURCES, QUIET)
    assert in_quiet_hours(config, NIGHT)  # 23:30 in Amsterdam
    policy = AlertPolicy(config, store)
    decisions = policy.consider_trends(
        [make_trend("twelftal", score=12.0), make_trend("stroomstoring", score=25.0)], NIGHT
    )
    # What `inhaker run` logs: which alerts wait for the digest.
    assert {d.alert_id: d.held for d in decisions} == {
        "trend:stroomstoring:20261129T2230Z": False,
        "trend:twelftal:20261129T2230Z": True,
    }
    # Deadline today (local date 2026-11-29): goes at once. Next month: waits.
    policy.consider_opportunity(make_call("today", deadline="2026-11-29"), NIGHT, NIGHT)
    policy.consider_opportunity(make_call("later", deadline="2026-12-20"), NIGHT, NIGHT)
    deliver(store, notifier, config, NIGHT)

    sent = headers(fake_slack, "#inhaker")
    assert set(sent) == {"📈 Rising: #stroomstoring", "🎯 Open call: Emerce"}
    assert len(sent) == 2
    [call] = [m for m in fake_slack.messages("#inhaker") if "Open call" in m["text"]]
    assert "today" in str(call["blocks"])
    held = {row.id for row in store.alerts_with_status("held")}
    assert held == {"trend:twelftal:20261129T2230Z", "opportunity:emerce:later"}


def test_quiet_hours_cross_midnight_in_the_teams_time_zone() -> None:
    config = config_from(QUIET)
    local = [
        (datetime(2026, 11, 29, 20, 59, tzinfo=UTC), False),  # 21:59
        (datetime(2026, 11, 29, 21, 0, tzinfo=UTC), True),  # 22:00
        (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), True),  # 00:30
        (datetime(2026, 11, 30, 5, 59, tzinfo=UTC), True),  # 06:59
        (datetime(2026, 11, 30, 6, 0, tzinfo=UTC), False),  # 07:00
        # Summer time (UTC+2): 21:30 UTC is 23:30 local.
        (datetime(2026, 7, 1, 20, 30, tzinfo=UTC), True),
        (datetime(2026, 7, 1, 5, 30, tzinfo=UTC), False),  # 07:30
    ]
    assert [in_quiet_hours(config, at) for at, _ in local] == [quiet for _, quiet in local]


def test_a_held_trend_that_fires_again_after_the_quiet_hours_goes_out(
    store: Store, notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    config = config_from(SOURCES, QUIET)
    policy = AlertPolicy(config, store)
    policy.consider_trends([make_trend(count=30)], NIGHT)
    deliver(store, notifier, config, NIGHT)
    assert fake_slack.messages() == []
    morning = NIGHT + timedelta(hours=8, minutes=30)  # 08:00 local
    policy.consider_trends([make_trend(count=70, at=morning)], morning)
    deliver(store, notifier, config, morning)
    [message] = fake_slack.messages("#inhaker")
    assert "70 posts" in message["text"]  # the latest version, one message


def test_when_held_alerts_may_go_depends_on_the_digest() -> None:
    no_digest = config_from(QUIET)
    morning_digest = config_from(QUIET.rstrip() + '\n  digest: {times: ["08:30"]}\n')
    evening_digest = config_from(QUIET.rstrip() + '\n  digest: {times: ["18:00"]}\n')
    at_0701 = datetime(2026, 11, 30, 6, 1, tzinfo=UTC)
    at_0850 = datetime(2026, 11, 30, 7, 50, tzinfo=UTC)  # digest 20 minutes overdue
    assert not held_alerts_may_go(no_digest, NIGHT)
    assert held_alerts_may_go(no_digest, at_0701)
    assert not held_alerts_may_go(morning_digest, at_0701)  # the 08:30 digest takes them
    assert held_alerts_may_go(morning_digest, at_0850)  # that digest was missed
    assert held_alerts_may_go(evening_digest, at_0701)  # too long to wait for 18:00
