"""A stateful fake of the Slack Web API, served over real HTTP for the real `slack_sdk.WebClient`.

What it does: runs a `ThreadingHTTPServer` on 127.0.0.1 (port 0) in a daemon thread and answers
`POST /api/<method>` the way Slack does, for the methods Inhaker uses: `auth.test`,
`chat.postMessage`, `chat.update`, `chat.postEphemeral`, `views.publish`, `conversations.info`,
`conversations.list`, `conversations.history`, `conversations.replies`. It reads form-encoded
bodies (where `blocks`/`view`/`metadata` are JSON strings), JSON bodies and GET query strings,
checks the bearer token, keeps messages per channel with increasing `ts`, keeps the history of
every `chat.update`, and validates Block Kit limits the way Slack rejects messages
(`invalid_blocks` with json-pointer errors). Like Slack, `chat.postMessage` takes a channel name
or ID, while `chat.update` and the conversations.* readers only take the channel ID. Message
metadata (`{"event_type", "event_payload"}`) is kept with a message and returned by
conversations.history / conversations.replies when asked with `include_all_metadata`
(history: top-level messages newest first; replies: the parent then its replies, oldest first;
`oldest`/`latest` exclusive unless `inclusive`; cursor pages). `clock_ts=True` makes each ts the
wall-clock time, as Slack's are (needed when the bot searches history by time); by default the
ts count up from 1700000000.000100, so tests can name them.

Rate limits like Slack's: each channel has a token bucket for `chat.postMessage` and
`chat.update` (by default a burst of 3, then 1 a second; `channel_rate=None` turns it off). A
valid message over the limit is answered HTTP 429 `{"ok": false, "error": "ratelimited"}` with
Retry-After, and counted in `rate_limited_calls`, so a test can assert the bot never tripped it
(a message Slack would reject anyway gets its own error and uses up nothing).
It can also be told to answer 429 with Retry-After for the next n calls (`fail_next`), for every
message call to one channel (`rate_limit_channel`), or HTTP 500 until an outage ends
(`outage`). It can stall its answers (`stall`): for one method, hold each answer for some
seconds, either after doing what was asked (Slack accepted the message, the answer is late: a
client with a shorter timeout gives up, not knowing it was posted) or without doing it (then
answering 503). `POST /hooks/<name>` stands in for a `response_url` (see `response_url(name)`):
it records JSON bodies in `responses` and answers "ok". Extra methods can be added with
`FakeSlack.register(method, handler)`.

What it does not do: Socket Mode, Events API delivery, files, OAuth, or Slack's per-method
workspace tiers; it never talks to the internet. It validates the common Block Kit limits, not
every rule.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["DEFAULT_TOKEN", "FakeSlack", "validate_blocks"]

DEFAULT_TOKEN = "xoxb-inhaker-test-token"
TEAM_ID = "T0INHAKER"
BOT_USER_ID = "U0INHAKER"
BOT_ID = "B0INHAKER"

Params = dict[str, Any]
Handler = Callable[["FakeSlack", Params], dict[str, Any]]

# --- Block Kit validation --------------------------------------------------------------------

KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


def _over(limit: int, ptr: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{ptr}]"


def _check_text_object(
    obj: Any, ptr: str, errors: list[str], *, limit: int = 3000, plain_only: bool = False
) -> None:
    if not isinstance(obj, dict):
        errors.append(f"must be an object [json-pointer:{ptr}]")
        return
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if kind not in allowed:
        errors.append(f"must be one of {sorted(allowed)} [json-pointer:{ptr}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(f"must provide a string [json-pointer:{ptr}/text]")
    elif len(text) == 0:
        errors.append(f"must be more than 0 characters [json-pointer:{ptr}/text]")
    elif len(text) > limit:
        errors.append(_over(limit, f"{ptr}/text"))


def _check_len(value: Any, limit: int, ptr: str, errors: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errors.append(f"must provide a string [json-pointer:{ptr}]")
    elif len(value) > limit:
        errors.append(_over(limit, ptr))


def _check_element(el: Any, ptr: str, errors: list[str]) -> None:
    if not isinstance(el, dict):
        errors.append(f"must be an object [json-pointer:{ptr}]")
        return
    _check_len(el.get("action_id"), 255, f"{ptr}/action_id", errors)
    if el.get("type") == "button":
        _check_text_object(el.get("text"), f"{ptr}/text", errors, limit=75, plain_only=True)
        _check_len(el.get("value"), 2000, f"{ptr}/value", errors)
        _check_len(el.get("url"), 3000, f"{ptr}/url", errors)
        style = el.get("style")
        if style is not None and style not in ("primary", "danger"):
            errors.append(f"must be one of primary, danger [json-pointer:{ptr}/style]")


def _check_block(block: Any, ptr: str, errors: list[str]) -> None:
    if not isinstance(block, dict):
        errors.append(f"must be an object [json-pointer:{ptr}]")
        return
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        errors.append(f"unsupported block type {kind!r} [json-pointer:{ptr}/type]")
        return
    _check_len(block.get("block_id"), 255, f"{ptr}/block_id", errors)
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            errors.append(f"must provide text or fields [json-pointer:{ptr}]")
        if text is not None:
            _check_text_object(text, f"{ptr}/text", errors, limit=3000)
        if fields is not None:
            if not isinstance(fields, list) or not fields:
                errors.append(f"must provide a non-empty array [json-pointer:{ptr}/fields]")
            else:
                if len(fields) > 10:
                    errors.append(f"must provide no more than 10 items [json-pointer:{ptr}/fields]")
                for i, f in enumerate(fields):
                    _check_text_object(f, f"{ptr}/fields/{i}", errors, limit=2000)
        if block.get("accessory") is not None:
            _check_element(block["accessory"], f"{ptr}/accessory", errors)
    elif kind == "header":
        _check_text_object(block.get("text"), f"{ptr}/text", errors, limit=150, plain_only=True)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must provide a non-empty array [json-pointer:{ptr}/elements]")
            return
        if len(elements) > 10:
            errors.append(f"must provide no more than 10 items [json-pointer:{ptr}/elements]")
        for i, el in enumerate(elements):
            eptr = f"{ptr}/elements/{i}"
            if isinstance(el, dict) and el.get("type") == "image":
                _check_len(el.get("image_url"), 3000, f"{eptr}/image_url", errors)
                _check_len(el.get("alt_text"), 2000, f"{eptr}/alt_text", errors)
            else:
                _check_text_object(el, eptr, errors, limit=3000)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must provide a non-empty array [json-pointer:{ptr}/elements]")
            return
        if len(elements) > 25:
            errors.append(f"must provide no more than 25 items [json-pointer:{ptr}/elements]")
        seen: set[str] = set()
        for i, el in enumerate(elements):
            _check_element(el, f"{ptr}/elements/{i}", errors)
            action_id = el.get("action_id") if isinstance(el, dict) else None
            if isinstance(action_id, str):
                if action_id in seen:
                    errors.append(
                        f"duplicate action_id {action_id!r} [json-pointer:{ptr}/elements/{i}]"
                    )
                seen.add(action_id)
    elif kind == "image":
        _check_len(block.get("image_url"), 3000, f"{ptr}/image_url", errors)
        _check_len(block.get("alt_text"), 2000, f"{ptr}/alt_text", errors)
    elif kind == "markdown":
        _check_len(block.get("text"), 12000, f"{ptr}/text", errors)


def validate_blocks(blocks: Any, *, max_blocks: int = 50) -> list[str]:
    """Slack-style error strings for `blocks`; an empty list means Slack would accept them."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return ["must provide an array [json-pointer:/blocks]"]
    if len(blocks) > max_blocks:
        errors.append(f"must provide no more than {max_blocks} items [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        _check_block(block, f"/blocks/{i}", errors)
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:/blocks/{i}]")
            block_ids.add(block_id)
    return errors


# --- the server ------------------------------------------------------------------------------


class SlackError(Exception):
    """Raised by a method handler to answer `{"ok": false, "error": code, ...}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class _Failure:
    status: int
    retry_after: int | None


@dataclass
class _Stall:
    seconds: float
    accept: bool  # do the work, then hold the answer (else hold, then answer 503 undone)
    remaining: int | None  # calls left to stall; None: until told to stop


class _RateLimited(Exception):
    """Raised inside a method handler to answer HTTP 429 with Retry-After (seconds)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


# The methods Slack limits per channel (about one message a second, short bursts allowed).
PER_CHANNEL_LIMITED = frozenset({"chat.postMessage", "chat.update"})


class FakeSlack:
    """A fake Slack Web API on a real local HTTP server. Use as a context manager or start/stop."""

    def __init__(
        self,
        *,
        token: str | Iterable[str] = DEFAULT_TOKEN,
        channels: Mapping[str, str] | None = None,
        auto_create_channels: bool = True,
        channel_rate: tuple[int, float] | None = (3, 1.0),
        clock_ts: bool = False,
    ) -> None:
        """`channel_rate` is (burst, messages per second) per channel, or None for no limit;
        `clock_ts` gives messages wall-clock ts (as Slack does) instead of counting from
        1700000000.000100."""
        self.tokens: set[str] = {token} if isinstance(token, str) else set(token)
        # channel name (without '#') -> channel id
        self._channels: dict[str, str] = dict(channels or {"inhaker": "C0INHAKER1"})
        self.auto_create_channels = auto_create_channels
        self._lock = threading.RLock()
        self._messages: list[dict[str, Any]] = []
        self._ephemeral: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._calls: list[tuple[str, Params]] = []
        self._ts_micros = 1_700_000_000_000_000
        self.clock_ts = clock_ts
        self._stalls: dict[str, _Stall] = {}
        self._fail_queue: list[_Failure] = []
        self._persistent_failure: int | None = None
        self.channel_rate = channel_rate
        self._buckets: dict[str, tuple[float, float]] = {}  # channel id -> (tokens, at)
        self._rate_limited_calls: list[tuple[str, str]] = []
        self._channel_limits: dict[str, int] = {}  # channel id -> forced Retry-After
        self._responses: list[dict[str, Any]] = []
        self._handlers: dict[str, Handler] = {
            "api.test": FakeSlack._api_test,
            "auth.test": FakeSlack._auth_test,
            "chat.postMessage": FakeSlack._chat_post_message,
            "chat.update": FakeSlack._chat_update,
            "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
            "views.publish": FakeSlack._views_publish,
            "conversations.info": FakeSlack._conversations_info,
            "conversations.list": FakeSlack._conversations_list,
            "conversations.history": FakeSlack._conversations_history,
            "conversations.replies": FakeSlack._conversations_replies,
        }
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to give `WebClient(base_url=...)` or SLACK_API_URL: "http://127.0.0.1:PORT/api/"."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def token(self) -> str:
        """One valid token (the first configured)."""
        return sorted(self.tokens)[0]

    # -- controls -----------------------------------------------------------------------------

    def fail_next(self, n: int = 1, *, status: int = 429, retry_after: int | None = 1) -> None:
        """Answer the next `n` calls with `status` (429 gets a Retry-After header)."""
        with self._lock:
            self._fail_queue.extend(_Failure(status, retry_after) for _ in range(n))

    def fail_with(self, status: int | None = 500) -> None:
        """Answer every call with HTTP `status` until `fail_with(None)` or `outage(False)`."""
        with self._lock:
            self._persistent_failure = status

    def outage(self, on: bool = True) -> None:
        """Start (HTTP 500 on every call) or end an outage."""
        self.fail_with(500 if on else None)

    def rate_limit_channel(self, channel: str, retry_after: int | None = 30) -> None:
        """Answer every chat.postMessage/chat.update to `channel` (name or id) with 429 and
        `Retry-After: retry_after` until called again with `retry_after=None`. These forced
        answers are not counted in `rate_limited_calls` (the bot did nothing wrong)."""
        with self._lock:
            channel_id = self._resolve(channel) or channel
            if retry_after is None:
                self._channel_limits.pop(channel_id, None)
            else:
                self._channel_limits[channel_id] = retry_after

    def stall(
        self,
        method: str,
        seconds: float | None,
        *,
        accept: bool = True,
        calls: int | None = None,
    ) -> None:
        """Hold each answer to `method` for `seconds` (None or 0: stop stalling).

        `accept=True`: the call is carried out first (a message is posted), then the answer
        waits — a client that gives up sooner never learns it was posted. `accept=False`: the
        answer waits, then is an HTTP 503 and nothing was done. `calls`: only the next n calls
        to `method` (default: every call until stopped).
        """
        with self._lock:
            if not seconds:
                self._stalls.pop(method, None)
            else:
                self._stalls[method] = _Stall(float(seconds), accept, calls)

    def register(self, method: str, handler: Handler) -> None:
        """Serve an extra Web API method: `handler(fake, params) -> response dict`.

        Raise `SlackError(code)` in the handler to answer `{"ok": false, "error": code}`.
        """
        with self._lock:
            self._handlers[method] = handler

    def add_channel(self, name: str, channel_id: str) -> None:
        with self._lock:
            self._channels[name.lstrip("#")] = channel_id

    def reset(self) -> None:
        """Forget messages, views, calls and pending failures (channels and tokens stay)."""
        with self._lock:
            self._messages.clear()
            self._ephemeral.clear()
            self._views.clear()
            self._calls.clear()
            self._fail_queue.clear()
            self._persistent_failure = None
            self._buckets.clear()
            self._rate_limited_calls.clear()
            self._channel_limits.clear()
            self._responses.clear()
            self._stalls.clear()

    # -- introspection ------------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, Params]]:
        """Every request that reached the server, failed ones included: (method, params)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Params]:
        return [params for m, params in self.calls if m == method]

    @property
    def rate_limited_calls(self) -> list[tuple[str, str]]:
        """(method, channel id) of every call refused for going over the channel's rate."""
        with self._lock:
            return list(self._rate_limited_calls)

    def response_url(self, name: str) -> str:
        """A response_url served by this fake ("http://127.0.0.1:PORT/hooks/<name>")."""
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Bodies posted to response URLs, oldest first: {"path": "/hooks/<name>", "body"}."""
        with self._lock:
            return copy.deepcopy(self._responses)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages posted so far, oldest first; `channel` may be a name ("#x"/"x") or an ID.

        Each: {"channel", "channel_name", "ts", "text", "blocks", "thread_ts", "history",
        "metadata"} where `history` lists earlier versions ({"text", "blocks", "edited_ts"})
        oldest first and `metadata` is the message metadata it was posted with (or None).
        """
        with self._lock:
            wanted = self._resolve(channel) if channel is not None else None
            if channel is not None and wanted is None:
                return []
            return [copy.deepcopy(m) for m in self._messages if wanted in (None, m["channel"])]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for m in self.messages(channel):
            if m["ts"] == ts:
                return m
        return None

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages: {"channel", "user", "text", "blocks", "message_ts"}."""
        with self._lock:
            wanted = self._resolve(channel) if channel is not None else None
            return [copy.deepcopy(m) for m in self._ephemeral if wanted in (None, m["channel"])]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """The App Home view last published per user id."""
        with self._lock:
            return copy.deepcopy(self._views)

    # -- internals ----------------------------------------------------------------------------

    def _next_ts(self) -> str:
        if self.clock_ts:
            # Wall-clock time like Slack's, still strictly increasing (ts identify messages).
            self._ts_micros = max(self._ts_micros + 1, int(time.time() * 1_000_000))
            return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"
        self._ts_micros += 100
        return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    def _resolve(self, channel: str | None) -> str | None:
        """Channel name or id -> id (None when unknown)."""
        if not channel:
            return None
        if channel in self._channels.values():
            return channel
        return self._channels.get(channel.lstrip("#"))

    def _resolve_for_post(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        found = self._resolve(channel)
        if found is not None:
            return found
        looks_like_id = channel[:1] in "CGD" and channel[1:].isalnum() and channel.isupper()
        if looks_like_id and not channel.startswith("#"):
            raise SlackError("channel_not_found")
        if not self.auto_create_channels:
            raise SlackError("channel_not_found")
        new_id = f"C{len(self._channels) + 1:09d}"
        self._channels[channel.lstrip("#")] = new_id
        return new_id

    def _name_of(self, channel_id: str) -> str:
        for name, cid in self._channels.items():
            if cid == channel_id:
                return name
        return channel_id

    def _check_channel_rate(self, method: str, channel_id: str) -> None:
        """Slack's per-channel limit: a token bucket per channel; over it, 429 + Retry-After."""
        forced = self._channel_limits.get(channel_id)
        if forced is not None:
            raise _RateLimited(forced)
        if self.channel_rate is None:
            return
        burst, per_second = self.channel_rate
        now = time.monotonic()
        tokens, at = self._buckets.get(channel_id, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * per_second)
        if tokens < 1.0:
            self._rate_limited_calls.append((method, channel_id))
            self._buckets[channel_id] = (tokens, now)
            raise _RateLimited(max(1, math.ceil((1.0 - tokens) / per_second)))
        self._buckets[channel_id] = (tokens - 1.0, now)

    def _stall_for(self, method: str) -> _Stall | None:
        with self._lock:
            stall = self._stalls.get(method)
            if stall is None:
                return None
            if stall.remaining is not None:
                stall.remaining -= 1
                if stall.remaining <= 0:
                    self._stalls.pop(method, None)
            return stall

    def _failure_for_next_call(self) -> _Failure | None:
        with self._lock:
            if self._fail_queue:
                return self._fail_queue.pop(0)
            if self._persistent_failure is not None:
                return _Failure(self._persistent_failure, None)
            return None

    def _check_auth(self, headers: Mapping[str, str], params: Params) -> None:
        auth = headers.get("Authorization") or ""
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token")
        if not token:
            raise SlackError("not_authed")
        if token not in self.tokens:
            raise SlackError("invalid_auth")

    def _dispatch(self, method: str, params: Params) -> dict[str, Any]:
        handler = self._handlers.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        with self._lock:
            return handler(self, params)

    @staticmethod
    def _check_message_payload(params: Params, *, require_content: bool = True) -> None:
        text = params.get("text")
        blocks = params.get("blocks")
        if blocks is not None:
            errors = validate_blocks(blocks)
            if errors:
                raise SlackError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
        if text is not None and not isinstance(text, str):
            raise SlackError("invalid_arguments")
        if isinstance(text, str) and len(text) > 40000:
            raise SlackError("msg_too_long")
        if require_content and not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")

    # -- methods ------------------------------------------------------------------------------

    def _api_test(self, params: Params) -> dict[str, Any]:
        return {"ok": True, "args": {k: v for k, v in params.items() if k != "token"}}

    def _auth_test(self, params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://inhaker-test.slack.com/",
            "team": "Inhaker Test",
            "user": "inhaker",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: Params) -> dict[str, Any]:
        channel = self._resolve_for_post(params.get("channel"))
        self._check_message_payload(params)
        metadata = self._check_metadata(params.get("metadata"))
        self._check_channel_rate("chat.postMessage", channel)
        ts = self._next_ts()
        message = {
            "channel": channel,
            "channel_name": self._name_of(channel),
            "ts": ts,
            "text": params.get("text") or "",
            "blocks": params.get("blocks") or [],
            "thread_ts": params.get("thread_ts"),
            "history": [],
            "metadata": metadata,
        }
        self._messages.append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": self._public(message)}

    @staticmethod
    def _check_metadata(metadata: Any) -> dict[str, Any] | None:
        """Slack's shape: {"event_type": str, "event_payload": object}; else invalid_metadata."""
        if metadata is None or metadata == "":
            return None
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not metadata["event_type"]
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            raise SlackError("invalid_metadata_format")
        return {
            "event_type": metadata["event_type"],
            "event_payload": copy.deepcopy(metadata["event_payload"]),
        }

    def _chat_update(self, params: Params) -> dict[str, Any]:
        channel = params.get("channel")
        # Like Slack: chat.update wants the channel ID, not "#name".
        if not isinstance(channel, str) or channel not in self._channels.values():
            raise SlackError("channel_not_found")
        ts = params.get("ts")
        target = next(
            (m for m in self._messages if m["channel"] == channel and m["ts"] == ts), None
        )
        if target is None:
            raise SlackError("message_not_found")
        self._check_message_payload(params, require_content=False)
        self._check_channel_rate("chat.update", channel)
        edited_ts = self._next_ts()
        target["history"].append(
            {"text": target["text"], "blocks": target["blocks"], "edited_ts": edited_ts}
        )
        if "text" in params:
            target["text"] = params.get("text") or ""
        if "blocks" in params:
            target["blocks"] = params.get("blocks") or []
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": target["text"],
            "message": self._public(target),
        }

    def _chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = self._resolve_for_post(params.get("channel"))
        user = params.get("user")
        if not user:
            raise SlackError("user_not_in_channel")
        self._check_message_payload(params)
        message_ts = self._next_ts()
        self._ephemeral.append(
            {
                "channel": channel,
                "user": user,
                "text": params.get("text") or "",
                "blocks": params.get("blocks") or [],
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def _views_publish(self, params: Params) -> dict[str, Any]:
        user_id = params.get("user_id")
        view = params.get("view")
        if not user_id:
            raise SlackError("invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        errors = validate_blocks(view.get("blocks", []), max_blocks=100)
        if errors:
            raise SlackError("invalid_arguments", errors=errors)
        stored = {**view, "id": f"V{len(self._views) + 1:09d}", "team_id": TEAM_ID}
        self._views[user_id] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _conversations_info(self, params: Params) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or channel not in self._channels.values():
            raise SlackError("channel_not_found")
        return {"ok": True, "channel": self._channel_obj(channel)}

    def _conversations_list(self, params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "channels": [self._channel_obj(cid) for cid in self._channels.values()],
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_history(self, params: Params) -> dict[str, Any]:
        channel = self._readable_channel(params)
        top = [
            m
            for m in self._messages
            if m["channel"] == channel and m["thread_ts"] in (None, m["ts"])
        ]
        picked = self._in_range(top, params)
        return self._page(list(reversed(picked)), params, default_limit=100)

    def _conversations_replies(self, params: Params) -> dict[str, Any]:
        channel = self._readable_channel(params)
        ts = params.get("ts")
        parent = next(
            (m for m in self._messages if m["channel"] == channel and m["ts"] == ts), None
        )
        if not ts or parent is None:
            raise SlackError("thread_not_found")
        thread = [parent] + [
            m for m in self._messages if m["channel"] == channel and m["thread_ts"] == ts
        ]
        # Like Slack, the parent always comes first; oldest/latest narrow the replies.
        picked = [parent, *self._in_range(thread[1:], params)]
        return self._page(picked, params, default_limit=10)

    def _readable_channel(self, params: Params) -> str:
        channel = params.get("channel")
        # Like Slack: the conversations.* readers want the channel ID, not "#name".
        if not isinstance(channel, str) or channel not in self._channels.values():
            raise SlackError("channel_not_found")
        return channel

    @staticmethod
    def _in_range(messages: list[dict[str, Any]], params: Params) -> list[dict[str, Any]]:
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        oldest = float(params.get("oldest") or 0)
        latest = float(params["latest"]) if params.get("latest") else math.inf

        def within(ts: str) -> bool:
            value = float(ts)
            if inclusive:
                return oldest <= value <= latest
            return oldest < value < latest

        return [m for m in messages if within(m["ts"])]

    def _page(
        self, messages: list[dict[str, Any]], params: Params, *, default_limit: int
    ) -> dict[str, Any]:
        limit = max(1, min(999, int(params.get("limit") or default_limit)))
        cursor = str(params.get("cursor") or "0")
        start = int(cursor) if cursor.isdigit() else 0  # our cursors are offsets
        chunk = messages[start : start + limit]
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        out = []
        for m in chunk:
            public = self._public(m)
            if m["thread_ts"] is not None:
                public["thread_ts"] = m["thread_ts"]
            if with_metadata and m.get("metadata") is not None:
                public["metadata"] = copy.deepcopy(m["metadata"])
            out.append(public)
        more = start + limit < len(messages)
        return {
            "ok": True,
            "messages": out,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _channel_obj(self, channel_id: str) -> dict[str, Any]:
        return {
            "id": channel_id,
            "name": self._name_of(channel_id),
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_member": True,
        }

    @staticmethod
    def _public(message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": message["ts"],
            "text": message["text"],
            "blocks": copy.deepcopy(message["blocks"]),
        }


# --- HTTP plumbing ---------------------------------------------------------------------------

_JSON_STRING_FIELDS = ("blocks", "attachments", "view", "metadata")


def _parse_body(content_type: str, raw: bytes) -> Params:
    """Form or JSON body -> params. Form values that Slack takes as JSON are decoded."""
    ctype = content_type.split(";")[0].strip().lower()
    if not raw:
        return {}
    if ctype == "application/json":
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise SlackError("invalid_json")
        return data
    if ctype in ("application/x-www-form-urlencoded", ""):
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        params: Params = {k: v[-1] for k, v in form.items()}
        for name in _JSON_STRING_FIELDS:
            if isinstance(params.get(name), str):
                try:
                    params[name] = json.loads(params[name])
                except json.JSONDecodeError as exc:
                    code = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                    raise SlackError(code) from exc
        return params
    raise SlackError("invalid_form_data")


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length) if length else b"")

        def _serve(self, raw: bytes) -> None:
            url = urlsplit(self.path)
            if url.path.startswith("/hooks/"):
                self._serve_response_url(url.path, raw)
                return
            if not url.path.startswith("/api/"):
                self._send(404, {"ok": False, "error": "unknown_method"})
                return
            method = url.path[len("/api/") :]
            try:
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                params.update(_parse_body(self.headers.get("Content-Type", ""), raw))
            except (SlackError, ValueError) as exc:
                code = exc.code if isinstance(exc, SlackError) else "invalid_json"
                with fake._lock:
                    fake._calls.append((method, {}))
                self._send(200, {"ok": False, "error": code})
                return
            with fake._lock:
                fake._calls.append((method, {k: v for k, v in params.items() if k != "token"}))

            failure = fake._failure_for_next_call()
            if failure is not None:
                if failure.status == 429:
                    headers = {}
                    if failure.retry_after is not None:
                        headers["Retry-After"] = str(failure.retry_after)
                    self._send(429, {"ok": False, "error": "ratelimited"}, headers)
                else:
                    self._send_text(failure.status, "<html><body>Internal error</body></html>")
                return

            stall = fake._stall_for(method)
            if stall is not None and not stall.accept:
                time.sleep(stall.seconds)  # Slack is stuck, then gives up without doing it
                self._send_text(503, "<html><body>Service Unavailable</body></html>")
                return
            try:
                fake._check_auth(self.headers, params)
                body = fake._dispatch(method, params)
            except SlackError as exc:
                body = {"ok": False, "error": exc.code, **exc.extra}
            except _RateLimited as limited:
                retry = {"Retry-After": str(limited.retry_after)}
                self._send(429, {"ok": False, "error": "ratelimited"}, retry)
                return
            if stall is not None:
                time.sleep(stall.seconds)  # done; the answer is late
            self._send(200, body)

        def _serve_response_url(self, path: str, raw: bytes) -> None:
            """A response_url: JSON in, "ok" out; Block Kit checked as for chat.postMessage."""
            if self.command != "POST":
                self._send_text(405, "method_not_allowed", content_type="text/plain")
                return
            try:
                body = json.loads(raw.decode("utf-8") or "null")
            except (UnicodeDecodeError, json.JSONDecodeError):
                body = None
            if not isinstance(body, dict):
                self._send_text(400, "invalid_payload", content_type="text/plain")
                return
            if "blocks" in body and validate_blocks(body["blocks"]):
                self._send_text(400, "invalid_blocks", content_type="text/plain")
                return
            with fake._lock:
                fake._responses.append({"path": path, "body": body})
            self._send_text(200, "ok", content_type="text/plain")

        def _send(
            self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode("utf-8")
            self._answer(status, "application/json", data, headers)

        def _send_text(self, status: int, text: str, *, content_type: str = "text/html") -> None:
            self._answer(status, content_type, text.encode("utf-8"), None)

        def _answer(
            self,
            status: int,
            content_type: str,
            data: bytes,
            headers: Mapping[str, str] | None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (a stalled answer past its timeout, a killed bot).
                self.close_connection = True

    return _Handler
