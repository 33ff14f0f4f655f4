"""feeds.yaml validation: every problem at once, each with its line and key path."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, load_config, parse_config, parse_duration

ROOT = Path(__file__).resolve().parents[1]

BROKEN = """\
sources:
  - id: nos
    kind: rss
    url: https://feeds.nos.nl/nosnieuwsalgemeen
    intervall: 10m
  - id: nos
    kind: rss
    url: ftp://x
  - id: nu
    kind: rsss
    url: https://www.nu.nl/rss
watch:
  terms: ["a"]
  terms: ["b"]
slack:
  channel: inhaker
detection:
  min_posts: 0
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="feeds.yaml")
    return [str(p) for p in caught.value.problems]


def test_shipped_feeds_yaml_is_valid_and_useful() -> None:
    config = load_config(ROOT / "feeds.yaml")
    ids = {s.id for s in config.sources}
    assert {"nos", "nu", "emerce", "marketingfacts", "tweakers", "destandaard"} <= ids
    kinds = {s.kind for s in config.sources}
    assert kinds == {
        "rss",
        "mastodon",
        "bluesky_jetstream",
        "bluesky_trends",
        "reddit",
        "hackernews",
        "google_trends",
        "x_search",
    }
    # X costs money: it ships switched off.
    assert all(not s.enabled for s in config.sources if s.kind == "x_search")
    assert all(s.url.startswith("https://") for s in config.sources if s.kind == "rss")
    assert config.watch_terms
    assert config.exclude_terms
    assert config.slack_channel.startswith("#")


def test_every_problem_is_reported_with_line_and_path() -> None:
    found = problems_of(BROKEN)
    assert "feeds.yaml:5: sources[0].intervall: unknown key; did you mean 'interval'?" in found
    assert any(p.startswith("feeds.yaml:6: sources[1].id: duplicate source id") for p in found)
    assert "feeds.yaml:8: sources[1].url: must be an http(s) URL (got 'ftp://x')" in found
    assert any(
        p.startswith("feeds.yaml:10: sources[2].kind: must be one of 'rss', 'mastodon'")
        and p.endswith("(got 'rsss')")
        for p in found
    )
    assert any(p.startswith("feeds.yaml:14: watch.terms: duplicate key") for p in found)
    assert any(p.startswith("feeds.yaml:16: slack.channel:") for p in found)
    assert any(p.startswith("feeds.yaml:18: detection.min_posts:") for p in found)
    # Sorted by line, so the file reads top to bottom.
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)


def test_each_kind_has_its_own_keys() -> None:
    found = problems_of(
        "sources:\n  - id: m\n    kind: mastodon\n    instance: https://mastodon.social\n"
        "    hashtag: [twelftal]\n  - id: r\n    kind: reddit\n"
    )
    assert "feeds.yaml:5: sources[0].hashtag: unknown key; did you mean 'hashtags'?" in found
    assert "feeds.yaml:6: sources[1].subreddits: is required" in found


def test_a_source_without_kind_says_which_kinds_exist() -> None:
    found = problems_of("sources:\n  - id: x\n    url: https://x.example/\n")
    assert found[0].startswith("feeds.yaml:2: sources[0].kind: is required: the source's kind")


def test_kind_specific_options_reach_the_source_record() -> None:
    config = parse_config(
        "sources:\n  - id: m\n    kind: mastodon\n    instance: https://mastodon.social\n"
        "    hashtags: [twelftal, oranje]\n    token_env: MASTODON_TOKEN\n"
    )
    (source,) = config.sources
    assert source.kind == "mastodon"
    assert source.url is None
    assert source.options["instance"] == "https://mastodon.social"
    assert source.options["hashtags"] == ("twelftal", "oranje")
    assert source.options["token_env"] == "MASTODON_TOKEN"
    assert source.options["timeline"] == "none"


def test_duplicate_source_ids_are_rejected() -> None:
    text = """\
sources:
  - id: nos
    kind: rss
    url: https://a.example/feed
  - id: nos
    kind: rss
    url: https://b.example/feed
"""
    found = problems_of(text)
    assert len(found) == 1
    assert found[0].startswith("feeds.yaml:5: sources[1].id: duplicate source id")


def test_yaml_syntax_error_names_the_line() -> None:
    found = problems_of("sources:\n  - id: nos\n    kind: [rss\n")
    assert len(found) == 1
    assert found[0].startswith("feeds.yaml:")
    assert "not valid YAML" in found[0]


def test_unknown_top_level_key_lists_known_keys_when_nothing_is_close() -> None:
    found = problems_of("zzzz: 1\n")
    assert found[0].startswith("feeds.yaml:1: zzzz: unknown key; known keys:")
    assert "sources" in found[0]


def test_missing_required_field() -> None:
    found = problems_of("sources:\n  - id: x\n    kind: rss\n")
    assert found == ["feeds.yaml:2: sources[0].url: is required"]


def test_interval_too_short_and_bad_duration() -> None:
    found = problems_of(
        "sources:\n  - id: a\n    kind: rss\n    url: https://a.example/\n    interval: 5s\n"
        "  - id: b\n    kind: rss\n    url: https://b.example/\n    interval: often\n"
    )
    assert any("sources[0].interval: must be at least 30s" in p for p in found)
    assert any("sources[1].interval: must be a duration such as 30s" in p for p in found)


def test_defaults_fill_in_everything_but_sources() -> None:
    config = parse_config("sources: []\n")
    assert config.detection.window == timedelta(hours=1)
    assert config.alerts.cooldown == timedelta(hours=12)
    assert config.slack_channel == "#inhaker"
    assert parse_config("").sources == ()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5h", 5400), (90, 90)],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@given(st.text(max_size=200))
def test_parse_config_never_raises_anything_but_config_error(text: str) -> None:
    problems = []
    try:
        parse_config(text)
    except ConfigError as exc:
        problems = exc.problems
        assert problems
    assert all(problem.line >= 1 for problem in problems)


def test_check_command_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{bad}:5: sources[0].intervall: unknown key; did you mean 'interval'?" in result.stderr
    assert "problems found" in result.stderr
    good = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--config", str(ROOT / "feeds.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stderr
    assert "ok" in good.stdout


def test_detection_spans_must_hold_a_bucket() -> None:
    found = problems_of("detection:\n  bucket: 10m\n  window: 5m\n")
    assert len(found) == 1
    assert found[0].startswith("feeds.yaml:1: detection: window and baseline must each be")


def test_a_mastodon_source_that_reads_nothing_is_rejected() -> None:
    found = problems_of(
        "sources:\n  - id: m\n    kind: mastodon\n    instance: https://mastodon.social\n"
        "    trends: false\n"
    )
    assert len(found) == 1
    assert found[0].startswith(
        "feeds.yaml:2: sources[0]: reads nothing: add hashtags, set timeline: public or local, "
        "or set trends: true"
    )


def test_the_detector_is_chosen_in_detection_and_a_typo_is_named() -> None:
    assert parse_config("").detection.detector == "signitrend"
    v1 = parse_config("detection:\n  detector: rising\n  bucket: 10m\n")
    assert v1.detection.rising_params().bucket == timedelta(minutes=10)
    found = problems_of("detection:\n  detector: signitrnd\n")
    assert found == [
        "feeds.yaml:2: detection.detector: must be one of 'signitrend' or 'rising' "
        "(got 'signitrnd')"
    ]


def test_detection_windows_must_nest() -> None:
    found = problems_of("detection:\n  short_window: 2h\n  window: 1h\n")
    assert len(found) == 1
    assert "short_window must lie between bucket and window" in found[0]
    params = parse_config("detection:\n  min_score: 4.5\n").detection.significance_params()
    assert params.min_z == 4.5


def test_profile_sources_must_name_sources_and_say_which_exist() -> None:
    text = """sources:
  - id: nos
    kind: rss
    url: https://feeds.nos.nl/x
profile:
  about: "Wij maken verpakkingen"
  sources: [nos, blgo]
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="feeds.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("feeds.yaml:7: profile.sources[1]: no source has the id 'blgo'")
    assert "(nos)" in str(problem)


def test_profile_and_opportunity_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "feeds.yaml"
    path.parent.mkdir()
    path.write_text(
        """sources:
  - id: blog
    kind: rss
    url: https://example.nl/feed
profile:
  about: "  Wij maken verpakkingen.  "
  sources: [blog]
opportunities:
  scorer: rules
  training_data: ours
  min_score: 0.7
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.profile.about == "Wij maken verpakkingen."
    assert config.profile.sources == ("blog",)
    assert config.opportunities.scorer == "rules"
    assert config.opportunities.training_data == str(tmp_path / "conf" / "ours")
    assert config.opportunities.min_score == 0.7
    with pytest.raises(ConfigError, match="scorer"):
        parse_config("opportunities:\n  scorer: magic\n")
