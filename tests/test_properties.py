"""Property-based tests (hypothesis) for the three places untrusted text enters Inhaker.

- feeds.yaml (`bot.config.parse_config`): any YAML mapping, of known or random keys and values,
  either loads or raises `ConfigError` whose every problem has a line in the file and a message;
  never another exception. A valid file keeps its meaning when comments, blank lines and trailing
  spaces are added, and a problem's line moves with the lines added above it.
- Text normalisation (detectors/text.py): what tests/test_text.py does not cover already (it
  compares the fast tokenizer with the reference one): idempotence, terms are lower-case NFC
  without spaces or stopwords, and a term found in a post, written as a watch term, matches it.
- The feed-parsing wrapper (`bot.sources.rss.parse_feed`): arbitrary bytes and arbitrary
  mutations of a valid feed never raise; they give posts or a "not a feed" cause; every post has
  an id and a text, unique ids, and an aware UTC time no later than the clock allows.

Nothing here touches the network or the disk beyond reading the shipped feeds.yaml.
"""

from __future__ import annotations

import string
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.config import Config, ConfigError, parse_config
from bot.html_text import plain_text
from bot.http import CappedResponse
from bot.sources.rss import FUTURE_TOLERANCE, ParsedFeed, parse_feed
from detectors.text import STOPWORDS, normalize, normalize_term, terms_of

SHIPPED = Path(__file__).parents[1] / "feeds.yaml"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

# -- feeds.yaml ---------------------------------------------------------------------------------

TOP_KEYS = [
    "sources",
    "watch",
    "slack",
    "detection",
    "opportunities",
    "profile",
    "alerts",
    "store",
    "team",
    "feedback",
    "allow_private_hosts",
]
SOURCE_KEYS = [
    "id",
    "kind",
    "url",
    "interval",
    "enabled",
    "name",
    "lang",
    "instance",
    "hashtags",
    "timeline",
    "query",
    "subreddits",
    "geo",
    "token_env",
]
KINDS = ["rss", "mastodon", "reddit", "hackernews", "google_trends", "x_search", "bluesky_trends"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["10m", "1h", "2d", "-5m", "0s", "https://example.nl/feed", "rss", "#x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(SOURCE_KEYS)), inner),
    ),
    max_leaves=12,
)
source_entries = st.dictionaries(
    st.sampled_from(SOURCE_KEYS),
    st.one_of(values, st.sampled_from(KINDS)),
    max_size=6,
)
config_mappings = st.dictionaries(
    st.one_of(st.sampled_from(TOP_KEYS), st.text(max_size=15)),
    st.one_of(values, st.lists(source_entries, max_size=4)),
    max_size=6,
)


def check_loads_or_reports(text: str) -> Config | None:
    """parse_config's contract: a Config, or ConfigError with a line in the file and a message."""
    try:
        return parse_config(text)
    except ConfigError as exc:
        problems = exc.problems
    assert problems
    line_count = max(1, len(text.splitlines()))
    for problem in problems:
        assert 1 <= problem.line <= line_count + 1, (problem, text)
        assert problem.message.strip(), problem
        assert str(problem).startswith(f"feeds.yaml:{problem.line}: ")
    return None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_mappings)
# Found by this test: a kind that is a list or a mapping crashed the routes check (TypeError).
@example({"sources": [{"id": "rss", "kind": []}]})
@example({"sources": [{"id": "a", "kind": {"x": 1}}], "slack": {"routes": [{"sources": ["b"]}]}})
def test_any_yaml_mapping_loads_or_reports_problems_with_lines(data: dict[Any, Any]) -> None:
    check_loads_or_reports(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@settings(max_examples=60, deadline=None)
@given(st.lists(source_entries, min_size=1, max_size=5), st.booleans())
def test_random_source_entries_load_or_report_problems_with_lines(
    entries: list[dict[str, Any]], flow_style: bool
) -> None:
    text = yaml.safe_dump(
        {"sources": entries}, allow_unicode=True, sort_keys=False, default_flow_style=flow_style
    )
    check_loads_or_reports(text)


def _block_scalar_lines(lines: list[str]) -> set[int]:
    """Indexes of lines inside a block scalar (`key: >-` and its body): comments there are text."""
    inside: set[int] = set()
    index = 0
    while index < len(lines):
        stripped = lines[index].rstrip()
        if stripped.endswith((">", ">-", ">+", "|", "|-", "|+")) and ":" in stripped:
            indent = len(lines[index]) - len(lines[index].lstrip())
            index += 1
            while index < len(lines) and (
                not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
            ):
                inside.add(index)
                index += 1
            continue
        index += 1
    return inside


def _trailing_comment_is_safe(line: str) -> bool:
    # A "# note" after a value is a comment only outside quotes and flow collections, and not
    # right after a key whose value follows on the next lines.
    return not any(ch in line for ch in "\"'[]{}")


SHIPPED_LINES = SHIPPED.read_text(encoding="utf-8").split("\n")


@cache
def shipped_config() -> Config:
    return parse_config("\n".join(SHIPPED_LINES))


# Where a comment or blank line may go (before line i), and which lines may get a trailing space
# or comment: anywhere outside a block scalar's text.
_PROTECTED = _block_scalar_lines(SHIPPED_LINES)
INSERT_AT = [i for i in range(len(SHIPPED_LINES) + 1) if i not in _PROTECTED]
TAIL_AT = [
    i
    for i, line in enumerate(SHIPPED_LINES)
    if i not in _PROTECTED and line.strip() and not line.lstrip().startswith("#")
]
comment_text = st.text(alphabet=string.ascii_letters + " :-#'\"[]{}é", max_size=30)


def _indent_of(index: int) -> str:
    """The indentation of the line a comment is inserted before: a comment indented deeper
    than a block scalar's key, right after its text, would be read as more of that text."""
    following = SHIPPED_LINES[index] if index < len(SHIPPED_LINES) else ""
    return following[: len(following) - len(following.lstrip(" "))]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(INSERT_AT), st.one_of(st.none(), comment_text)), max_size=20
    ),
    st.lists(
        st.tuples(st.sampled_from(TAIL_AT), st.sampled_from([" ", "   ", "   # a note"])),
        max_size=20,
    ),
)
def test_the_shipped_config_survives_comments_blank_lines_and_trailing_spaces(
    inserts: list[tuple[int, str | None]], tails: list[tuple[int, str]]
) -> None:
    lines = list(SHIPPED_LINES)
    for index, tail in tails:
        if tail.strip() and not _trailing_comment_is_safe(lines[index]):
            tail = "  "  # a "#" inside quotes or brackets is text, not a comment
        lines[index] += tail
    # From the bottom up, so the earlier indexes still point at the same lines.
    for index, comment in sorted(inserts, key=lambda pair: pair[0], reverse=True):
        lines.insert(index, "" if comment is None else _indent_of(index) + "#" + comment)
    assert parse_config("\n".join(lines)) == shipped_config()


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(TAIL_AT))
def test_a_trailing_tab_is_ignored_or_reported_on_its_own_line(index: int) -> None:
    # PyYAML refuses a tab after some tokens ("sources:\t"); then the problem must point at
    # that line, so the user can find an invisible character.
    lines = list(SHIPPED_LINES)
    lines[index] += "\t"
    try:
        config: Config | None = parse_config("\n".join(lines))
        problems = []
    except ConfigError as exc:
        config, problems = None, exc.problems
    if config is not None:
        assert config == shipped_config()
    else:
        assert [p.line for p in problems] == [index + 1]
        assert "not valid YAML" in problems[0].message


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=20), st.sampled_from(["soon", "-5m", "0", "[]"]))
def test_a_problem_line_moves_with_the_lines_added_above_it(added: int, bad_interval: str) -> None:
    broken = (
        "sources:\n"
        "  - id: nos\n"
        "    kind: rss\n"
        "    url: https://feeds.nos.nl/nosnieuwsalgemeen\n"
        f"    interval: {bad_interval}\n"
    )
    with pytest.raises(ConfigError) as before:
        parse_config(broken)
    with pytest.raises(ConfigError) as after:
        parse_config("# a comment\n" * added + broken)
    assert [p.line + added for p in before.value.problems] == [p.line for p in after.value.problems]
    assert before.value.problems[0].line == 5
    assert before.value.problems[0].path == "sources[0].interval"


# -- text normalisation -------------------------------------------------------------------------

texts = st.text(max_size=120)


@settings(max_examples=400, deadline=None)
@given(texts)
@example("İstanbul")  # lower() gives "i" + a combining dot above
@example("ǅemal ǅ")  # titlecase digraphs
@example("Ａｍｓｔｅｒｄａｍ\u3000café")  # full-width letters, an ideographic space
def test_normalize_is_idempotent_and_folds_case_and_space(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert not any(ch.isspace() and ch != " " for ch in once)
    assert once.lower() == once


@settings(max_examples=400, deadline=None)
@given(texts)
@example("#Twelftal #twelftal twelftal TWELFTAL")
@example("Het #Oranje-elftal wint; oranje!")
@example("zo'n Emerce-lezers ’s avonds")
def test_terms_are_lower_case_words_without_spaces_or_stopwords(text: str) -> None:
    terms = terms_of(text)
    for term, hashtag in terms.items():
        assert term
        assert term.lower() == term
        assert unicodedata.is_normalized("NFC", term)
        assert not any(ch.isspace() for ch in term)
        assert "#" not in term
        if not hashtag:
            assert len(term) >= 3
            assert term not in STOPWORDS
    # Hashtags come first: no word is listed before a hashtag.
    flags = list(terms.values())
    assert flags == sorted(flags, reverse=True)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_terms_do_not_depend_on_case_or_spacing_normalize_changes(text: str) -> None:
    assert terms_of(normalize(text)) == terms_of(text)


@settings(max_examples=300, deadline=None)
@given(texts)
@example("Café #Oranje in 's-Hertogenbosch")
def test_a_term_from_a_post_written_as_a_watch_term_matches_it(text: str) -> None:
    for term in terms_of(text):
        # What a user copies from an alert into watch.terms must match the same posts.
        assert normalize_term(term) == term
        assert normalize_term(f"  #{term} ") == term


@settings(max_examples=300, deadline=None)
@given(texts)
def test_normalize_term_is_idempotent(term: str) -> None:
    once = normalize_term(term)
    # "# #x" keeps its second "#" after the first is stripped: an odd entry, left as written.
    assert normalize_term(once) == once or once.startswith("#")


# -- the feed-parsing wrapper -------------------------------------------------------------------


def response(body: bytes, content_type: str = "application/rss+xml") -> CappedResponse:
    return CappedResponse(
        status_code=200,
        headers=httpx.Headers({"content-type": content_type}),
        content=body,
        url="https://example.nl/feed.xml",
        request_headers=httpx.Headers(),
    )


def check_parsed(parsed: ParsedFeed) -> None:
    """parse_feed's contract on any input."""
    if parsed.error is not None:
        assert parsed.posts == []
        assert parsed.error.startswith(("not a feed (", "cannot parse the feed ("))
        return
    ids = [post.id for post in parsed.posts]
    assert len(ids) == len(set(ids))
    for post in parsed.posts:
        assert isinstance(post.id, str)
        assert post.id.strip()
        assert isinstance(post.text, str)
        assert post.source == "prop"
        assert post.created_at.tzinfo is not None
        assert post.created_at.utcoffset() == timedelta(0)
        assert post.created_at <= NOW + FUTURE_TOLERANCE
        assert post.title is None or (post.title.strip() and post.title == post.title.strip())


def parse(body: bytes, content_type: str = "application/rss+xml") -> ParsedFeed:
    return parse_feed(response(body, content_type), source_id="prop", now=NOW)


# Text XML 1.0 can carry.
xml_text = st.text(
    alphabet=st.characters(
        # No surrogates, no control characters (feedparser reads C1 controls as the
        # Windows-1252 characters they almost always are), no U+FFFE/U+FFFF.
        blacklist_categories=("Cs", "Cc"),
        blacklist_characters="\ufffe\uffff",
    )
    | st.sampled_from("\t\n\r"),
    max_size=60,
)
dates = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "Sun, 29 Nov 2026 11:00:00 +0100",
            "2026-11-29T10:00:00Z",
            "gisteren",
            "Mon, 45 Foo 2026 99:99:99 +0000",
            "Fri, 01 Jan 9999 00:00:00 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "",
        ]
    ),
    xml_text,
)
rss_items = st.lists(
    st.tuples(
        st.one_of(st.none(), xml_text),  # guid
        st.one_of(st.none(), xml_text),  # title
        st.one_of(st.none(), xml_text),  # description
        st.one_of(st.none(), st.just("https://example.nl/a"), xml_text),  # link
        dates,
    ),
    max_size=6,
)


def build_rss(items: list[tuple[str | None, ...]], encoding: str = "utf-8") -> bytes:
    parts = []
    for guid, title, description, link, date in items:
        # isPermaLink="false": the guid is an id, not a URL feedparser would resolve.
        fields = [
            f"<{tag}>{escape(value)}</{tag}>".replace("<guid>", '<guid isPermaLink="false">')
            for tag, value in (
                ("guid", guid),
                ("title", title),
                ("description", description),
                ("link", link),
                ("pubDate", date),
            )
            if value is not None
        ]
        parts.append("<item>" + "".join(fields) + "</item>")
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        "<title>Feed</title><link>https://example.nl/</link>" + "".join(parts) + "</channel></rss>"
    )
    return doc.encode(encoding, errors="xmlcharrefreplace")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["application/rss+xml", "text/html", ""]))
def test_arbitrary_bytes_give_posts_or_a_parse_error(body: bytes, content_type: str) -> None:
    check_parsed(parse(body, content_type))


@settings(max_examples=200, deadline=None)
@given(rss_items, st.sampled_from(["utf-8", "iso-8859-1", "utf-16"]))
def test_generated_feeds_keep_every_item_that_has_something_to_show(
    items: list[tuple[str | None, ...]], encoding: str
) -> None:
    parsed = parse(build_rss(items, encoding))
    check_parsed(parsed)
    assert parsed.error is None
    showable = [
        item for item in items if any(value is not None and value.strip() for value in item[:4])
    ]
    # Duplicated guids (and links standing in for them) collapse into one post.
    assert len(parsed.posts) <= len(showable)
    # An XML parser reads "\r\n" and a lone "\r" as "\n" (XML 1.0, 2.11): so does the expectation.
    guids = [(item[0] or "").replace("\r\n", "\n").replace("\r", "\n").strip() for item in showable]
    if showable and all(guids):
        assert {post.id for post in parsed.posts} == set(guids)


mutations = st.lists(
    st.tuples(
        st.sampled_from(["delete", "insert", "replace", "truncate", "duplicate"]),
        st.floats(min_value=0, max_value=1),
        st.binary(min_size=1, max_size=12)
        | st.sampled_from([b"<", b">", b"&", b"]]>", b"<![CDATA[", b"</item>", b"<item>", b"\x00"]),
    ),
    min_size=1,
    max_size=6,
)


def mutate(body: bytes, steps: list[tuple[str, float, bytes]]) -> bytes:
    for action, where, blob in steps:
        at = int(where * len(body))
        if action == "delete":
            body = body[:at] + body[at + len(blob) :]
        elif action == "insert":
            body = body[:at] + blob + body[at:]
        elif action == "replace":
            body = body[:at] + blob + body[at + len(blob) :]
        elif action == "truncate":
            body = body[:at]
        else:
            body = body[:at] + body[at : at + 64] + body[at:]
    return body


@settings(max_examples=300, deadline=None)
@given(rss_items, mutations, st.sampled_from(["utf-8", "iso-8859-1"]))
def test_mutated_feeds_give_posts_or_a_parse_error(
    items: list[tuple[str | None, ...]], steps: list[tuple[str, float, bytes]], encoding: str
) -> None:
    check_parsed(parse(mutate(build_rss(items, encoding), steps)))


ATOM = (
    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
    "<title>t</title><id>urn:feed</id><updated>2026-11-29T10:00:00Z</updated>"
    '<entry><id>urn:e1</id><title type="text">{title}</title>'
    "<updated>2026-11-29T10:00:00Z</updated><summary>s</summary></entry></feed>"
)


# Markup-looking text; no pairs such as "Â¡" that feedparser repairs as double-encoded UTF-8.
title_text = st.text(alphabet=string.printable.strip() + " éü€汉🎉", max_size=60)


@settings(max_examples=300, deadline=None)
@given(title_text)
@example("AT&T <b>vet</b> &amp; meer")
@example("a < b > c")
def test_a_plain_text_atom_title_is_kept_as_written(title: str) -> None:
    # type="text" is plain text: markup-looking characters are the publisher's words.
    assume(title.strip())
    body = ATOM.format(title=escape(title)).encode("utf-8")
    parsed = parse(body, "application/atom+xml")
    check_parsed(parsed)
    [post] = parsed.posts
    assert post.title == (plain_text(title) or None)
