"""`/inhaker` and its subcommands, through real signed HTTP requests to the Bolt app.

The app runs under waitress on 127.0.0.1 as `inhaker serve` runs it; its Web API client and the
response_url go to the fake Slack (tests/fake_slack.py); the store is a real SQLite file. One
test per subcommand, plus the share button, the slow-answer path and the App Home.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Config, SourceConfig
from bot.serialize import trend_to_dict
from bot.slack.app import build_app
from bot.slack.blocks import SHARE_ACTION_ID
from bot.store import Store
from detectors.records import Opportunity, Post, Trend
from tests.fake_slack import FakeSlack, validate_blocks
from tests.samples import rising_twelftal, store_call_alert, store_trend_alert
from tests.slack_requests import (
    SIGNING_SECRET,
    app_home_opened,
    button_click,
    post_signed,
    post_signed_json,
    serving,
    slash_command,
    wait_for,
)

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
CONFIG = Config(
    sources=(
        SourceConfig(
            id="nos",
            kind="rss",
            url="https://nos.example/x",
            interval=timedelta(minutes=10),
            name="NOS",
        ),
        SourceConfig(
            id="nu", kind="rss", url="https://nu.example/x", interval=timedelta(minutes=10)
        ),
        SourceConfig(id="x", kind="x_search", interval=timedelta(minutes=10), name="X"),
        SourceConfig(
            id="masto", kind="mastodon", url="https://m.example", interval=timedelta(minutes=5)
        ),
    ),
    watch_terms=("werkplek",),
)


def twelftal() -> Trend:
    return replace(
        rising_twelftal(NOW),
        stage="rising",
        evidence=("x:t-1", "nos:n-1"),
        representative="x:t-1",
        surprise=7.2,
        fit=0.8,
        fit_reasons=("watch term twelftal",),
    )


def voetbal_from_mastodon() -> Trend:
    return replace(
        rising_twelftal(NOW),
        key="trend:verkiezingen",
        title="verkiezingen",
        terms=("verkiezingen",),
        sources=("masto",),
        evidence=("masto:m-1",),
        score=6.0,
    )


def post(source: str, post_id: str, text: str, lang: str = "nl") -> Post:
    return Post(
        source=source,
        id=post_id,
        text=text,
        created_at=NOW - timedelta(minutes=5),
        author=f"{source}-author",
        url=f"https://{source}.example/{post_id}",
        lang=lang,
    )


@pytest.fixture
def store(database_url: str) -> Store:
    store = Store(database_url)
    store.add_posts(
        [
            post("x", "t-1", "Wat een goal! #twelftal"),
            post("nos", "n-1", "Oranje wint met 5-1 #twelftal"),
            post("masto", "m-1", "The elections are close #verkiezingen", lang="en"),
        ],
        seen_at=NOW,
        backlog=False,
    )
    store.replace_current_trends(
        [trend_to_dict(twelftal()), trend_to_dict(voetbal_from_mastodon())], NOW
    )
    return store


def open_call(key: str, deadline: str | None, asker: str = "Emerce") -> Opportunity:
    return Opportunity(
        key=key,
        post_id=key.rsplit(":", 1)[-1],
        source="nos",
        detected_at=NOW,
        score=0.93,
        category="submission",
        deadline=deadline,
        asker=asker,
        text=f"Is jouw werkplek uniek? Mail ons ({key})",
        url=f"https://emerce.example/{key.rsplit(':', 1)[-1]}",
    )


def add_call(store: Store, opp: Opportunity, *, at: datetime = NOW) -> None:
    store_call_alert(store, opp, at)


@pytest.fixture
def url(fake_slack: FakeSlack, store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    app = build_app(
        store, CONFIG, token=fake_slack.token, signing_secret=SIGNING_SECRET, clock=lambda: NOW
    )
    with serving(app) as events_url:
        yield events_url


def ask(url: str, text: str, command: str = "/inhaker", user: str = "U0USER1") -> dict[str, Any]:
    response = post_signed(url, slash_command(command, text, user))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["response_type"] == "ephemeral"
    assert validate_blocks(answer.get("blocks", [])) == []
    return answer


def shown(answer: dict[str, Any]) -> str:
    return json.dumps(answer.get("blocks", []), ensure_ascii=False) + answer.get("text", "")


def share_button(answer: dict[str, Any]) -> dict[str, Any] | None:
    for block in answer.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == SHARE_ACTION_ID:
                return dict(element)
    return None


# --- trends ------------------------------------------------------------------------------------


def test_trends_lists_what_is_rising_with_a_share_button(url: str) -> None:
    answer = ask(url, "trends")
    text = shown(answer)
    assert "#twelftal" in text
    assert "verkiezingen" in text
    assert "42 posts" in text
    button = share_button(answer)
    assert button is not None
    assert button["value"] == "trends"
    # No text at all means trends too, and /trends is the shortcut.
    assert "#twelftal" in shown(ask(url, ""))
    assert "#twelftal" in shown(ask(url, "", command="/trends"))


@pytest.mark.parametrize(
    ("filters", "present", "absent"),
    [
        ("twelftal", "#twelftal", "verkiezingen"),
        ("mastodon", "verkiezingen", "#twelftal"),  # a source kind
        ("source:nos", "#twelftal", "verkiezingen"),  # a source id
        ("lang:en", "verkiezingen", "#twelftal"),  # the language of its posts
    ],
)
def test_trends_narrowed_by_term_source_or_language(
    url: str, filters: str, present: str, absent: str
) -> None:
    text = shown(ask(url, f"trends {filters}"))
    assert present in text
    assert absent not in text
    assert "Only trends" in text


def test_trends_in_a_time_window_lists_alerted_trends(url: str, store: Store) -> None:
    old = replace(twelftal(), key="trend:oranje", title="oranje", terms=("oranje",))
    store_trend_alert(store, old, "trend:oranje:x", NOW - timedelta(hours=3))
    assert "oranje" in shown(ask(url, "trends 6h"))
    assert "oranje" not in shown(ask(url, "trends 2h"))
    assert "oranje" not in shown(ask(url, "trends"))  # not rising now


def test_trends_about_something_quiet_says_so(url: str) -> None:
    text = shown(ask(url, "trends tulpen"))
    assert "No trend about tulpen right now" in text


# --- calls ---------------------------------------------------------------------------------------


def test_calls_lists_open_calls_soonest_deadline_first(url: str, store: Store) -> None:
    add_call(store, open_call("opportunity:nos:late", "2026-12-20", asker="Frankwatching"))
    add_call(store, open_call("opportunity:nos:soon", "2026-11-28", asker="Emerce"))
    add_call(store, open_call("opportunity:nos:past", "2026-11-20", asker="Gone"))
    add_call(store, open_call("opportunity:nos:none", None, asker="Sprout"))
    text = shown(ask(url, "calls"))
    assert text.index("Emerce") < text.index("Frankwatching") < text.index("Sprout")
    assert "Gone" not in text  # its deadline has passed
    assert "2026-11-28 (in 1 day)" in text  # seen from 2026-11-27
    assert "no deadline stated" in text


def test_calls_leaves_out_what_the_team_dismissed_and_shows_who_took_one(
    url: str, store: Store
) -> None:
    add_call(store, open_call("opportunity:nos:a", "2026-12-01", asker="Emerce"))
    add_call(store, open_call("opportunity:nos:b", "2026-12-02", asker="Adformatie"))
    store.add_feedback("opportunity:nos:a", "U0ANNA", "not_relevant", NOW)
    store.add_feedback("opportunity:nos:b", "U0BRAM", "claim", NOW)
    text = shown(ask(url, "opportunities"))
    assert "Emerce" not in text
    assert "Adformatie" in text
    assert "<@U0BRAM> took this" in text


def test_no_open_calls_says_so(url: str) -> None:
    assert "No open calls right now" in shown(ask(url, "calls"))


# --- why -----------------------------------------------------------------------------------------


def test_why_explains_counts_baseline_sources_lifecycle_and_top_posts(
    url: str, store: Store
) -> None:
    store_trend_alert(store, twelftal(), "trend:twelftal:1", NOW - timedelta(minutes=20))
    store.add_feedback("trend:twelftal:1", "U0ANNA", "useful", NOW)
    answer = ask(url, "why #twelftal")
    text = shown(answer)
    assert "Why #twelftal fired" in text
    assert "*42 posts*" in text
    assert "4.0 were expected" in text
    assert "8.4×" in text
    assert "z 11.5" in text
    assert "surprise 7.2" in text
    assert "17 different authors" in text
    assert "X, NOS, nu" in text
    assert "lifecycle: *rising*" in text
    assert "Wat een goal! #twelftal" in text  # a top post, from the store
    assert "Useful for <@U0ANNA>" in text  # what the team said about its alert
    assert share_button(answer) is not None


def test_why_without_such_trend_points_to_trends(url: str) -> None:
    text = shown(ask(url, "why tulpen"))
    assert "No trend about `tulpen`" in text
    assert "/inhaker trends" in text
    assert "Which trend?" in shown(ask(url, "why"))


# --- watch terms ---------------------------------------------------------------------------------


def test_watch_add_list_remove(url: str, store: Store) -> None:
    assert "Watching `duurzaamheid`" in shown(ask(url, "watch add Duurzaamheid", user="U0ANNA"))
    assert [(w.term, w.added_by) for w in store.watch_terms()] == [("duurzaamheid", "U0ANNA")]
    assert "already on the watch list" in shown(ask(url, "watch add duurzaamheid"))
    # "watch TERM" reads as "watch add TERM"
    ask(url, "watch #Twelftal")
    listed = shown(ask(url, "watch list"))
    assert "`werkplek`" in listed  # from feeds.yaml
    assert "`duurzaamheid` (<@U0ANNA>)" in listed
    assert "`twelftal`" in listed
    assert "No longer watching `duurzaamheid`" in shown(ask(url, "watch remove duurzaamheid"))
    assert [w.term for w in store.watch_terms()] == ["twelftal"]
    # A term from feeds.yaml is changed there, and Slack says so.
    assert "is in feeds.yaml" in shown(ask(url, "watch remove werkplek"))
    assert "already watched (it is in feeds.yaml)" in shown(ask(url, "watch add werkplek"))


# --- mutes ---------------------------------------------------------------------------------------


def test_mute_for_a_period_then_unmute(url: str, store: Store) -> None:
    text = shown(ask(url, "mute voetbal for 2d", user="U0BRAM"))
    assert "Muted `voetbal` until 2026-11-29 14:00 UTC" in text
    mutes = store.active_mutes(NOW)
    assert [(m.term, m.until, m.muted_by) for m in mutes] == [
        ("voetbal", NOW + timedelta(days=2), "U0BRAM")
    ]
    assert "`voetbal` until 2026-11-29 14:00 UTC, by <@U0BRAM>" in shown(ask(url, "mutes"))
    ask(url, "mute #Twelftal")  # default: a week
    assert any(
        m.term == "twelftal" and m.until == NOW + timedelta(days=7) for m in store.active_mutes(NOW)
    )
    assert "no longer muted" in shown(ask(url, "unmute voetbal"))
    assert [m.term for m in store.active_mutes(NOW)] == ["twelftal"]
    assert "was not muted" in shown(ask(url, "unmute voetbal"))
    assert "at most 365 days" in shown(ask(url, "mute x for 400d"))
    assert "Which term?" in shown(ask(url, "mute"))
    assert "Nothing is muted" not in shown(ask(url, "mutes"))


# --- sources, help, unknown ---------------------------------------------------------------


def test_sources_lists_every_source(url: str) -> None:
    text = shown(ask(url, "sources"))
    for source_id in ("nos", "nu", "x", "masto"):
        assert f"{source_id} (" in text
    assert "not polled yet" in text


def test_help_and_unknown_input_get_help_never_an_error(url: str) -> None:
    for text in ("help", "frobnicate the flux"):
        answer = shown(ask(url, text))
        for usage in ("/inhaker trends", "/inhaker calls", "/inhaker why", "/inhaker watch"):
            assert usage in answer
    assert "I don't know `frobnicate the flux`" in shown(ask(url, "frobnicate the flux"))


# --- share, slow answers, App Home ---------------------------------------------------------------


def test_share_posts_the_answer_in_the_channel_and_removes_the_ephemeral(
    url: str, fake_slack: FakeSlack
) -> None:
    answer = ask(url, "trends twelftal")
    button = share_button(answer)
    assert button is not None
    response_url = fake_slack.response_url("share-1")
    click = button_click(
        SHARE_ACTION_ID,
        button["value"],
        channel="C0INHAKER1",
        ts="1700000000.000100",
        blocks=answer["blocks"],
        response_url=response_url,
        is_ephemeral=True,
    )
    assert post_signed(url, click).status_code == 200
    posted = wait_for(lambda: fake_slack.messages("C0INHAKER1"))
    assert len(posted) == 1
    message = json.dumps(posted[0]["blocks"], ensure_ascii=False)
    assert "#twelftal" in message
    assert "verkiezingen" not in message
    assert "Shared by <@U0USER1>" in message
    assert SHARE_ACTION_ID not in message  # the channel copy has no share button
    deleted = wait_for(lambda: fake_slack.responses)
    assert deleted[0]["body"].get("delete_original") is True


def test_a_slow_answer_is_acknowledged_at_once_and_sent_by_response_url(
    fake_slack: FakeSlack, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    app = build_app(
        store,
        CONFIG,
        token=fake_slack.token,
        signing_secret=SIGNING_SECRET,
        clock=lambda: NOW,
        answer_budget=0.0,  # every answer counts as slow
    )
    with serving(app) as events_url:
        response = post_signed(
            events_url,
            slash_command("/inhaker", "why twelftal", response_url=fake_slack.response_url("r1")),
        )
        assert response.status_code == 200
        assert "Working on it" in response.text
        later = wait_for(lambda: fake_slack.responses)
    assert later, "the answer never came through the response_url"
    body = later[0]["body"]
    assert body["response_type"] == "ephemeral"
    assert "Why #twelftal fired" in json.dumps(body["blocks"], ensure_ascii=False)


def test_app_home_shows_trends_calls_and_the_persons_watch_terms_and_mutes(
    url: str, store: Store, fake_slack: FakeSlack
) -> None:
    add_call(store, open_call("opportunity:nos:home", "2026-12-01", asker="Emerce"))
    store.add_watch_term("duurzaamheid", "U0ANNA", NOW)
    store.add_watch_term("tulpen", "U0BRAM", NOW)
    store.mute("voetbal", until=NOW + timedelta(days=1), user_id="U0ANNA", now=NOW)
    response = post_signed_json(url, app_home_opened(user="U0ANNA"))
    assert response.status_code == 200
    views = wait_for(lambda: fake_slack.views)
    view = json.dumps(views["U0ANNA"]["blocks"], ensure_ascii=False)
    assert "#twelftal" in view
    assert "Emerce" in view
    assert "*Yours:* `duurzaamheid`" in view
    assert "*Added by others:* `tulpen`" in view
    assert "`werkplek`" in view
    assert "`voetbal` until" in view
    assert "(yours)" in view


def test_a_retried_event_or_click_is_not_acted_on_twice(
    url: str, store: Store, fake_slack: FakeSlack
) -> None:
    event = app_home_opened(user="U0ANNA", event_id="Ev0SAME")
    assert post_signed_json(url, event).status_code == 200
    wait_for(lambda: fake_slack.calls_to("views.publish"))
    retry = post_signed_json(
        url, event, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry.status_code == 200
    add_call(store, open_call("opportunity:nos:r", "2026-12-01"))
    click = button_click(
        "inhaker_useful",
        "opportunity:nos:r",
        channel="C0INHAKER1",
        ts="1700000000.000100",
        blocks=[],
        action_ts="1764252000.123456",
    )
    assert post_signed(url, click).status_code == 200
    assert post_signed(url, click).status_code == 200  # the same click, delivered again
    # Handlers run after the acknowledgement: give a repeat the time to show up if it were run.
    wait_for(lambda: len(store.feedback_for("opportunity:nos:r")) > 1, timeout=1.5)
    assert len(fake_slack.calls_to("views.publish")) == 1
    assert [a for _, a, _ in store.feedback_for("opportunity:nos:r")] == ["useful"]


def test_digest_previews_trends_and_open_calls(url: str, store: Store) -> None:
    add_call(store, open_call("opportunity:nos:d", "2026-12-01", asker="Emerce"))
    answer = ask(url, "digest")
    text = shown(answer)
    assert "#twelftal" in text
    assert "Emerce" in text
    assert "A preview. No digest is scheduled: set `slack.digest.times`" in text
    assert share_button(answer) is not None


def test_leaderboard_counts_claims_and_follow_through_for_the_month(url: str, store: Store) -> None:
    for key in ("opportunity:nos:l1", "opportunity:nos:l2"):
        add_call(store, open_call(key, "2026-12-01"))
    store.add_feedback("opportunity:nos:l1", "U0ANNA", "claim", NOW - timedelta(days=2))
    store.add_feedback("opportunity:nos:l1", "U0ANNA", "done", NOW - timedelta(days=1))
    store.add_feedback("opportunity:nos:l2", "U0BRAM", "claim", NOW - timedelta(hours=1))
    store.add_feedback("opportunity:nos:l2", "U0CAS", "claim", NOW - timedelta(days=40))  # October
    answer = ask(url, "leaderboard")
    text = shown(answer)
    assert "November 2026" in text
    assert text.index("<@U0ANNA>") < text.index("<@U0BRAM>")  # a follow-through beats a claim
    assert "<@U0CAS>" not in text
    assert share_button(answer) is not None
    assert "<@U0CAS>" in shown(ask(url, "leaderboard 2026-10"))
    assert "YYYY-MM" in shown(ask(url, "leaderboard lastmonth"))


def test_why_shows_the_effect_of_the_teams_feedback(url: str, store: Store) -> None:
    for n in range(2):
        alert_id = f"trend:twelftal:{n}"
        store_trend_alert(store, twelftal(), alert_id, NOW - timedelta(days=3 + n))
        store.add_feedback(alert_id, f"U0FAN{n}", "useful", NOW - timedelta(days=2))
    text = shown(ask(url, "why twelftal"))
    assert "team feedback: ranked ×" in text
    assert "'twelftal' marked useful 2×" in text


def test_app_home_shows_the_persons_standing(url: str, store: Store, fake_slack: FakeSlack) -> None:
    add_call(store, open_call("opportunity:nos:s1", "2026-12-01"))
    store.add_feedback("opportunity:nos:s1", "U0ANNA", "claim", NOW - timedelta(hours=2))
    post_signed_json(url, app_home_opened(user="U0ANNA", event_id="Ev0STAND"))
    views = wait_for(lambda: fake_slack.views)
    assert "Your standing in November 2026" in json.dumps(views["U0ANNA"], ensure_ascii=False)


def test_a_broken_store_gets_a_sentence_not_a_traceback(url: str, store: Store) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE current_trends")
    response = post_signed(url, slash_command("/inhaker", "trends"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Sorry, that did not work: Inhaker hit an internal error.")
    assert "Traceback" not in response.text
    assert "current_trends" not in response.text
