"""Turn the HTML found in feed items into plain text that detectors and people can read.

What it does: `html_to_text` drops tags, removes script/style (and similar) content entirely,
unescapes entities (HTML5 named entities too), keeps block boundaries (paragraphs, list items,
line breaks, headings, table rows) as newlines, and collapses other whitespace. Feeds that escape
their HTML twice (`&lt;p&gt;` inside CDATA) are unwrapped once more. `plain_text` only normalizes
whitespace for text that is already plain.

Markup that would make html.parser slow (a "<" that never closes a tag, thousands of times) is
escaped first, so the time taken stays linear in the size of the item.

What it does not do: render layout (tables, lists markers), keep links or image alt text, decide
the encoding of bytes (feedparser did that), or sanitize HTML for display; its output is text only.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# Elements whose content is never text a person reads.
_SKIP = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg", "math"}
)
# Elements that start and end a line of their own.
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tr",
        "ul",
    }
)
# Cells in a row read better separated than glued together.
_CELL = frozenset({"td", "th"})

# Characters that are invisible but not whitespace to `str.split`; they break tokenization.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")
# A few common tags left over after one pass mean the HTML was escaped twice.
_LEFTOVER_TAG = re.compile(
    r"</?(?:p|br|div|a|img|span|strong|em|b|i|ul|li)\b[^<>]*>", re.IGNORECASE
)
_ANY_TAG = re.compile(r"<[^<>]*>")


class _TextExtractor(HTMLParser):
    def __init__(self, newlines_are_spaces: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._newlines_are_spaces = newlines_are_spaces

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self._pre_depth += 1
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in _CELL:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>, <img/>: never open a skipped region.
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in _CELL:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._newlines_are_spaces and not self._pre_depth:
            data = data.replace("\r", " ").replace("\n", " ")
        self.parts.append(data)


def plain_text(text: str) -> str:
    """Normalize whitespace: one space inside a line, single newlines between lines, trimmed."""
    text = text.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


# After "<": what makes a complete tag, declaration or processing instruction ("<p ...>",
# "</p>", "<!doctype ...>", "<?xml ...?>"), stopping at the next "<" so each check is short.
_COMPLETE_TAG = re.compile(r"[a-zA-Z/!?][^<>]*>")
_MARKED_SECTION = re.compile(r"!\[[^<>\]]*\]>")


def _defuse(markup: str) -> str:
    """Escape every "<" that does not start a complete tag or a closed comment.

    html.parser rescans the rest of the document for each "<" that opens a tag it never sees
    closed: 25 KB of "<a " took 12 s and 200 KB would take 15 minutes, one worker thread per
    hostile feed item. Escaped, such a "<" is the text it looks like, and parsing stays linear.
    One pass: each scan ends at the next "<" or at the end of a comment, and a comment is only
    scanned when a "-->" exists after it.
    """
    last_close = markup.rfind("-->")
    last_cdata_close = markup.rfind("]]>")
    parts: list[str] = []
    copied = 0
    at = markup.find("<")
    while at != -1:
        if markup.startswith("<!--", at):
            end = markup.find("-->", at + 4) if at + 4 <= last_close else -1
            if end != -1:
                at = markup.find("<", end + 3)  # a closed comment is kept whole
                continue
        elif markup.startswith("<![CDATA[", at):
            # html.parser looks for "]]>" from each "<![CDATA[", to the end when there is none.
            end = markup.find("]]>", at + 9) if at + 9 <= last_cdata_close else -1
            if end != -1:
                at = markup.find("<", end + 3)
                continue
        elif markup.startswith("<![", at):
            # Word's "<![if !supportLists]>" and "<![endif]>": kept only when closed at once.
            if _MARKED_SECTION.match(markup, at + 1):
                at = markup.find("<", at + 1)
                continue
        elif _COMPLETE_TAG.match(markup, at + 1):
            at = markup.find("<", at + 1)
            continue
        parts.append(markup[copied:at])
        parts.append("&lt;")
        copied = at + 1
        at = markup.find("<", copied)
    if not parts:
        return markup
    parts.append(markup[copied:])
    return "".join(parts)


def _extract(markup: str) -> str:
    # In HTML a line break in the source is just a space and tags make the lines; text without
    # any tag (a plain description labelled text/html, as feedparser labels RSS descriptions)
    # keeps its own line breaks.
    parser = _TextExtractor(newlines_are_spaces=_ANY_TAG.search(markup) is not None)
    try:
        parser.feed(_defuse(markup))
        parser.close()
    except Exception:
        # html.parser is lenient and should not raise; if it ever does, a crude strip of tags is
        # still better than losing the item.
        return unescape(_ANY_TAG.sub(" ", markup))
    return "".join(parser.parts)


def html_to_text(markup: str | None) -> str:
    """Plain text from an HTML fragment (or a whole page). None or '' gives ''."""
    if not markup:
        return ""
    text = _extract(markup)
    if _LEFTOVER_TAG.search(text):
        text = _extract(text)
    return plain_text(text)
