"""The bundled demo stream (bot/demo/demo_stream.jsonl): well-formed, and it tells its story.

The stream is written by scripts/make_demo_stream.py; these tests check the shipped file, and that
the generator still writes it byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STREAM = REPO / "bot" / "demo" / "demo_stream.jsonl"
GENERATOR = REPO / "scripts" / "make_demo_stream.py"

KEYS = ("id", "text", "created_at", "source", "author", "url", "lang", "title")
SOCIAL = {"x", "mastodon"}
NEWS = {"nos", "nu", "emerce", "marketingfacts", "tweakers"}
EMERCE_CALL = (
    "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers? "
    "Stuur ons een mail met foto's vóór 20 juni! #werkplek"
)


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(2014, 6, 13, int(hours), int(minutes), tzinfo=UTC)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return STREAM.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def posts(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def created(post: dict) -> datetime:
    return datetime.fromisoformat(post["created_at"])


def is_twelftal(post: dict) -> bool:
    return "#twelftal" in post["text"].lower()


def test_every_line_is_a_json_object_with_the_stream_keys(lines: list[str]) -> None:
    """Each line is one JSON object with exactly the keys of the stream format, in order."""
    assert lines
    for line in lines:
        post = json.loads(line)
        assert isinstance(post, dict)
        assert tuple(post) == KEYS
        assert isinstance(post["text"], str)
        assert post["text"]


def test_file_is_small_and_ends_with_a_newline() -> None:
    """It ships inside the package, so it stays small."""
    data = STREAM.read_bytes()
    assert len(data) < 1_000_000
    assert data.endswith(b"\n")


def test_created_at_is_aware_utc_and_sorted(posts: list[dict]) -> None:
    """Timestamps are "...Z", parse as aware UTC, lie on 13 June 06:00-24:00 and never go back."""
    times = [created(post) for post in posts]
    for post, when in zip(posts, times, strict=True):
        assert post["created_at"].endswith("Z")
        assert when.tzinfo is not None
        assert when.utcoffset() == timedelta(0)
        assert at("06:00") <= when < at("06:00") + timedelta(hours=18)
    assert times == sorted(times)


def test_ids_are_unique_and_numbered_in_time_order(posts: list[dict]) -> None:
    """Ids are d-000001, d-000002, ... in the order of the file."""
    ids = [post["id"] for post in posts]
    assert len(set(ids)) == len(ids)
    assert ids == [f"d-{n:06d}" for n in range(1, len(ids) + 1)]


def test_fields_have_the_expected_shapes(posts: list[dict]) -> None:
    """Known sources and languages; news items carry a title and an https url."""
    for post in posts:
        assert post["source"] in SOCIAL | NEWS
        assert post["lang"] in {"nl", "en"}
        assert post["author"]
        assert post["url"] is None or post["url"].startswith("https://")
        if post["source"] in NEWS:
            assert post["title"]
            assert post["url"]
        else:
            assert post["title"] is None


def test_a_day_of_realistic_volume(posts: list[dict]) -> None:
    """About 2,500-3,500 posts, mostly social, with 8-15 items from every outlet."""
    assert 2_500 <= len(posts) <= 3_500
    per_source = Counter(post["source"] for post in posts)
    for outlet in NEWS:
        assert 8 <= per_source[outlet] <= 15, outlet
    social_authors = {post["author"] for post in posts if post["source"] in SOCIAL}
    assert len(social_authors) >= 150


def test_twelftal_rises_at_kick_off_with_many_authors(posts: list[dict]) -> None:
    """#Twelftal barely exists before 18:30, then comes from many distinct accounts."""
    early_mentions = [
        post for post in posts if "twelftal" in post["text"].lower() and created(post) < at("18:30")
    ]
    assert len(early_mentions) <= 2
    tagged = [post for post in posts if is_twelftal(post)]
    after = [post for post in tagged if created(post) >= at("18:45")]
    assert len(after) >= 0.95 * len(tagged)
    assert len({post["author"] for post in after}) >= 60
    during_match = [post for post in after if at("19:00") <= created(post) < at("20:50")]
    assert len(during_match) >= 11 * 20  # at least ~20 per ten minutes


def test_the_emerce_call_is_there(posts: list[dict]) -> None:
    """The opportunity of the story: Emerce asks for unusual workplaces at 10:12."""
    calls = [post for post in posts if post["text"] == EMERCE_CALL]
    assert len(calls) == 1
    (call,) = calls
    assert call["author"] == "Emerce"
    assert call["source"] == "x"
    assert call["created_at"].startswith("2014-06-13T10:12:")
    assert call["url"].startswith("https://www.emerce.nl/")


def test_the_spam_trap_is_one_account_repeating_itself(posts: list[dict]) -> None:
    """#zomerdeal: the same text 30 times in the afternoon, from a single account."""
    spam = [post for post in posts if "#zomerdeal" in post["text"]]
    assert len(spam) == 30
    assert len({post["author"] for post in spam}) == 1
    assert len({post["text"] for post in spam}) == 1
    assert all(at("12:00") <= created(post) < at("17:00") for post in spam)


def test_the_generator_reproduces_the_shipped_file(tmp_path: Path) -> None:
    """`python scripts/make_demo_stream.py --out PATH` writes the shipped file byte for byte."""
    out = tmp_path / "stream.jsonl"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.read_bytes() == STREAM.read_bytes()
