"""Delivers alerts into Slack with the official `slack_sdk.WebClient`.

What it does: `SlackNotifier.send` posts an alert's Block Kit message (rendered by
bot/slack/blocks.py) with its notification fallback text and returns the message `ts`;
`update` edits that message in place when a trend grows; `reply` posts a short text in the
message's thread (a trend reaching a new stage, a reminder). The client honours `SLACK_API_URL`
(tests and proxies point it elsewhere), waits out Slack's 429 Retry-After (up to 10 s) a few
times, and retries once on a 5xx answer or a dropped connection. Whatever still fails becomes a
`NotifierError` with one human line, "slack: chat.postMessage to #inhaker failed: ratelimited —
will retry on the next tick", so the outbox keeps the alert for the next tick; a rate limit
carries Slack's Retry-After, and a rate limit or a channel problem is marked as concerning that
channel only, so the outbox holds back just that channel. The token never appears in messages.
A rendering bug is not a delivery failure: it raises as itself.

Never twice: every post carries Slack message metadata naming what it is (event type
"inhaker_alert" with the alert id, "inhaker_reply" with the reply id), and `find_sent` /
`find_reply` look for it in the channel's recent history (`conversations.history`,
`conversations.replies`), which the outbox does before posting again after an attempt whose
answer never came. For the same reason a post is never repeated inside the client: a 5xx
answer, a dropped connection or a timeout may come after Slack posted the message, so those go
back to the outbox, which checks before it tries again (edits and look-ups are repeated at once:
doing them twice does no harm). Calls give up after `timeout` seconds (30 by default).

What it does not do: decide what to send or when (bot/alerts.py and the outbox do), pace its
calls (the outbox's ChannelPacer keeps each channel under Slack's rate limit), render blocks,
handle button clicks (bot/slack/), or keep state across restarts: the channel-name → channel-ID map
that `chat.update` needs is learned from `chat.postMessage` answers and, after a restart, looked up
once with `conversations.list`.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Mapping
from datetime import datetime
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    Jitter,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry import HttpRequest as RetryHttpRequest
from slack_sdk.http_retry import HttpResponse as RetryHttpResponse
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.notify.base import Alert, NotifierError, make_ref, split_ref
from bot.slack.blocks import alert_blocks, alert_text

log = logging.getLogger(__name__)

RETRY_LATER = "will retry on the next tick"

# Message metadata event types (docs.slack.dev/messaging/message-metadata): what a message is,
# so a later look-up can tell whether an attempt whose answer was lost did post it.
ALERT_EVENT = "inhaker_alert"
REPLY_EVENT = "inhaker_reply"
# Seconds a Web API call may take before the client gives up (slack_sdk's default is 30).
DEFAULT_TIMEOUT = 30.0
# A look-up reads at most this many pages of 200 messages (about a day of a busy channel).
HISTORY_PAGES = 20
# Slack errors about a look-up that no retry soon will fix: the post goes ahead unchecked.
_LOOKUP_CANNOT = "cannot check whether an earlier attempt already posted it"

# What to tell a person for the Slack errors an operator can fix.
_HINTS = {
    "invalid_auth": "check SLACK_BOT_TOKEN",
    "not_authed": "set SLACK_BOT_TOKEN",
    "account_inactive": "the app was removed or the token revoked; reinstall it",
    "token_revoked": "the token was revoked; reinstall the app and update SLACK_BOT_TOKEN",
    "channel_not_found": "check slack.channel in feeds.yaml and invite the app to the channel",
    "not_in_channel": "invite the app to the channel (/invite @Inhaker)",
    "is_archived": "the channel is archived; pick another in feeds.yaml",
    "missing_scope": "add the missing scope in manifest.yaml and reinstall the app",
}


class _SmallJitter(Jitter):
    """Up to a quarter second of jitter (slack_sdk's default adds up to a full second)."""

    def recalculate(self, duration: float) -> float:
        return duration + random.random() * 0.25


def _retry_after_seconds(response: RetryHttpResponse | None) -> float | None:
    if response is None:
        return None
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                return None
    return None


class _RateLimitHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, with two changes for a bot that must not stall its scheduler.

    It waits exactly Retry-After plus up to 0.25 s of jitter (slack_sdk adds up to a full second),
    and it gives up at once when Slack asks for more than `max_wait` seconds: the outbox tries
    again on the next tick instead of a scheduler thread sleeping for minutes.
    """

    def __init__(self, max_retry_count: int = 3, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: RetryHttpRequest,
        response: RetryHttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after_seconds(response)
        return wait is None or wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: RetryHttpRequest,
        response: RetryHttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = _retry_after_seconds(response)
        state.next_attempt_requested = True
        time.sleep((1.0 if wait is None else wait) + random.random() * 0.25)  # jitter only
        state.increment_current_attempt()


def _is_post(request: RetryHttpRequest) -> bool:
    return request.url.rstrip("/").endswith("/chat.postMessage")


class _NotForNewPosts:
    """A quick-retry handler that never repeats a new post: Slack may have posted it before
    failing, so the outbox checks the channel first and tries again on its next round."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: RetryHttpRequest,
        response: RetryHttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return not _is_post(request) and super()._can_retry(  # type: ignore[misc]
            state=state, request=request, response=response, error=error
        )


class _ServerErrorHandler(_NotForNewPosts, ServerErrorRetryHandler):
    """One quick retry on HTTP 500/503, except for a new post."""


class _ConnectionErrorHandler(_NotForNewPosts, ConnectionErrorRetryHandler):
    """One quick retry on a dropped connection, except for a new post."""


def default_retry_handlers() -> list[RetryHandler]:
    """429: wait Retry-After (≤ 10 s), up to 3 times. 5xx and dropped connections: one quick
    retry, except for chat.postMessage (it may have posted: the outbox checks, then retries).

    A 429 is safe to repeat at once (Slack refused the call). Longer outages are the outbox's job
    (it retries on the next tick), so a send never blocks a scheduler thread for long.
    """
    quick = BackoffRetryIntervalCalculator(backoff_factor=0.25, jitter=_SmallJitter())
    return [
        _RateLimitHandler(max_retry_count=3, max_wait=10.0),
        _ServerErrorHandler(max_retry_count=1, interval_calculator=quick),
        _ConnectionErrorHandler(max_retry_count=1, interval_calculator=quick),
    ]


def _api_url_from_env(environ: Mapping[str, str]) -> str | None:
    url = (environ.get("SLACK_API_URL") or "").strip()
    return url or None


def _normalize_base_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"SLACK_API_URL must be an http(s) URL ending in /api/ (got {url!r})")
    return url if url.endswith("/") else url + "/"


def _looks_like_channel_id(channel: str) -> bool:
    return channel[:1] in ("C", "G", "D") and channel.isalnum() and channel.isupper()


class SlackNotifier:
    """Notifier that posts alerts as Block Kit messages and edits them when they grow."""

    # Slack allows about one message per second per channel: the outbox paces this notifier.
    paced_per_channel = True

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        client: WebClient | None = None,
        window_minutes: int = 60,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """`timeout`: seconds a call may take before it counts as failed (a stalled Slack)."""
        if client is None:
            if not token:
                raise ValueError("SlackNotifier needs a bot token (xoxb-...)")
            url = base_url or _api_url_from_env(os.environ)
            kwargs: dict[str, Any] = {
                "token": token,
                "retry_handlers": default_retry_handlers(),
                "timeout": timeout,
            }
            if url:
                kwargs["base_url"] = _normalize_base_url(url)
            client = WebClient(**kwargs)
        self.client = client
        self.window_minutes = window_minutes
        self._channel_ids: dict[str, str] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SlackNotifier:
        """Build from SLACK_BOT_TOKEN and (optionally) SLACK_API_URL."""
        env = os.environ if environ is None else environ
        token = (env.get("SLACK_BOT_TOKEN") or "").strip()
        if not token:
            raise ValueError(
                "slack: SLACK_BOT_TOKEN is not set — set it to the app's bot token (xoxb-...) "
                "or run without it to print alerts to the console"
            )
        return cls(token, base_url=_api_url_from_env(env))

    # -- Notifier -----------------------------------------------------------------------------

    def send(self, alert: Alert) -> str | None:
        """Post the alert to `alert.channel`; return "<channel id>:<ts>" (see make_ref)."""
        method = "chat.postMessage"
        text, blocks = self._render(alert)  # a rendering bug raises as itself, loudly
        try:
            response = self.client.chat_postMessage(
                channel=alert.channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": ALERT_EVENT, "event_payload": {"alert_id": alert.id}},
            )
        except _DELIVERY_ERRORS as exc:
            raise self._error(method, alert.channel, exc) from exc
        channel_id = response.get("channel")
        if isinstance(channel_id, str) and channel_id:
            self._channel_ids[alert.channel] = channel_id
        ts = response.get("ts")
        log.info("slack: posted %s to %s (ts %s)", alert.id, alert.channel, ts)
        if not ts:
            return None
        # Keeping the channel id with the ts lets a restarted bot edit the message without
        # looking the channel up (chat.update takes ids only).
        if isinstance(channel_id, str) and channel_id:
            return make_ref(channel_id, str(ts))
        return str(ts)

    def update(self, alert: Alert, ref: str) -> None:
        """Replace the message `ref` (from `send`) with this version of the alert."""
        method = "chat.update"
        text, blocks = self._render(alert)
        known_channel, ts = split_ref(ref)
        try:
            channel_id = known_channel or self._channel_id(alert.channel)
            self.client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)
        except _DELIVERY_ERRORS as exc:
            raise self._error(method, alert.channel, exc) from exc
        log.info("slack: updated %s in %s (ts %s)", alert.id, alert.channel, ts)

    def reply(
        self,
        alert: Alert,
        ref: str,
        text: str,
        *,
        mention: str | None = None,
        reply_id: str | None = None,
    ) -> str | None:
        """Post `text` (mrkdwn, escaped by the caller) in the thread of message `ref`; return
        the reply's reference. `mention` (a Slack user id) is pinged at the start; `reply_id`
        marks the reply so `find_reply` can find it."""
        method = "chat.postMessage"
        known_channel, thread_ts = split_ref(ref)
        body = f"<@{mention}> {text}" if mention else text
        extra: dict[str, Any] = {}
        if reply_id:
            payload = {"reply_id": reply_id, "alert_id": alert.id}
            extra["metadata"] = {"event_type": REPLY_EVENT, "event_payload": payload}
        try:
            channel_id = known_channel or self._channel_id(alert.channel)
            response = self.client.chat_postMessage(
                channel=channel_id,
                thread_ts=thread_ts,
                text=body,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        except _DELIVERY_ERRORS as exc:
            raise self._error(f"{method} (thread reply)", alert.channel, exc) from exc
        ts = response.get("ts")
        log.info("slack: replied under %s in %s (ts %s)", alert.id, alert.channel, ts)
        return make_ref(channel_id, str(ts)) if ts else None

    # -- FindsPosted: was an attempt whose answer was lost posted after all? -------------------

    def find_sent(self, alert: Alert, since: datetime) -> str | None:
        """This app's message for `alert` in its channel posted since `since` (its ref), or None.

        Reads the channel's history from `since` (newest first, 200 a page, `HISTORY_PAGES` at
        most) for a message whose metadata names the alert. Raises NotifierError when Slack
        cannot answer now (an outage, a rate limit); returns None, with a warning, when the
        channel cannot be read at all (the app is not in it, or lacks channels:history).
        """
        method = "conversations.history"
        try:
            channel_id = self._channel_id(alert.channel)
            cursor = None
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_history(
                    channel=channel_id,
                    oldest=_slack_ts(since),
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for message in page.get("messages") or []:
                    if _metadata_names(message, ALERT_EVENT, "alert_id", alert.id):
                        return make_ref(channel_id, str(message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except _ChannelNotFound:
            return None  # no channel of that name: nothing can have been posted in it
        except _DELIVERY_ERRORS as exc:
            self._lookup_failed(method, alert, exc)
        return None

    def find_reply(self, alert: Alert, ref: str, reply_id: str, since: datetime) -> str | None:
        """This app's reply `reply_id` in the thread of message `ref`, posted since `since`."""
        method = "conversations.replies"
        known_channel, thread_ts = split_ref(ref)
        try:
            channel_id = known_channel or self._channel_id(alert.channel)
            cursor = None
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_replies(
                    channel=channel_id,
                    ts=thread_ts,
                    oldest=_slack_ts(since),
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for message in page.get("messages") or []:
                    if _metadata_names(message, REPLY_EVENT, "reply_id", reply_id):
                        return make_ref(channel_id, str(message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except _ChannelNotFound:
            return None
        except _DELIVERY_ERRORS as exc:
            self._lookup_failed(method, alert, exc)
        return None

    def _lookup_failed(self, method: str, alert: Alert, exc: BaseException) -> None:
        """Raise for a failure that may clear soon (the post waits); else warn and return."""
        code = _error_code(exc)
        status = getattr(getattr(exc, "response", None), "status_code", None)
        passing = isinstance(status, int) and (status >= 500 or status == 429)
        if code is None or passing or _is_rate_limit(exc):
            raise self._error(method, alert.channel, exc) from exc
        # The channel cannot be read (missing_scope, not_in_channel, ...): waiting will not help,
        # and holding the alert for ever would lose it. Post, and say what would rule out a copy.
        log.warning(
            "slack: %s in %s failed: %s — %s; posting it (it may show twice: %s)",
            method,
            alert.channel,
            _describe(exc),
            _LOOKUP_CANNOT,
            "invite the app to the channel and grant channels:history and groups:history",
        )

    # -- helpers ------------------------------------------------------------------------------

    def _render(self, alert: Alert) -> tuple[str, list[dict[str, Any]]]:
        return (
            alert_text(alert, window_minutes=self.window_minutes),
            alert_blocks(alert, window_minutes=self.window_minutes),
        )

    def _channel_id(self, channel: str) -> str:
        """chat.update takes only channel IDs; map "#name" to its ID (learned or looked up)."""
        if _looks_like_channel_id(channel):
            return channel
        known = self._channel_ids.get(channel)
        if known:
            return known
        name = channel.lstrip("#")
        cursor = None
        for _ in range(50):  # at most 50 pages of 1000 channels
            page = self.client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for ch in page.get("channels") or []:
                if ch.get("name") == name and ch.get("id"):
                    self._channel_ids[channel] = ch["id"]
                    return str(ch["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise _ChannelNotFound(channel)

    @staticmethod
    def _error(method: str, channel: str, exc: BaseException) -> NotifierError:
        where = f"slack: {method} to {channel} failed"
        cause = _describe(exc)
        code = _error_code(exc)
        if code in _PERMANENT_FOR_THIS_MESSAGE:
            log.error("%s: %s — giving up on this message", where, cause)
            return NotifierError(f"{where}: {cause} — not retried", permanent=True)
        log.warning("%s: %s", where, cause)
        if _is_rate_limit(exc):
            wait = _retry_after_of(exc)
            asked = f" (Slack asked to wait {wait:g} s)" if wait else ""
            return NotifierError(
                f"{where}: {cause}{asked} — {RETRY_LATER}", rate_limited=True, retry_after=wait
            )
        channel_only = code in _CHANNEL_PROBLEMS or isinstance(exc, _ChannelNotFound)
        return NotifierError(f"{where}: {cause} — {RETRY_LATER}", channel_only=channel_only)


class _ChannelNotFound(Exception):
    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self.channel = channel


# What delivery can fail with: Slack's answers, the network (urllib, sockets, http.client) and a
# channel name that no channel has. Anything else is a bug and propagates unchanged.
_DELIVERY_ERRORS = (SlackClientError, URLError, OSError, HTTPException, _ChannelNotFound)


# Slack errors about this one message that no retry can fix; everything else may clear later.
_PERMANENT_FOR_THIS_MESSAGE = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "no_text",
    }
)


# Slack errors about the channel rather than Slack as a whole: the other channels still work.
_CHANNEL_PROBLEMS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "restricted_action", "ratelimited"}
)


def _is_rate_limit(exc: BaseException) -> bool:
    if not isinstance(exc, SlackApiError):
        return False
    return getattr(exc.response, "status_code", None) == 429 or _error_code(exc) == "ratelimited"


def _retry_after_of(exc: BaseException) -> float | None:
    """Seconds from the Retry-After header of Slack's answer, when it sent one."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def _slack_ts(moment: datetime) -> str:
    """A Slack timestamp ("1700000000.000000") for an aware datetime."""
    return f"{moment.timestamp():.6f}"


def _metadata_names(message: Mapping[str, Any], event_type: str, field: str, value: str) -> bool:
    """True when `message` carries this app's metadata of `event_type` with `field` = `value`."""
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != event_type:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, Mapping) and payload.get(field) == value


def _error_code(exc: BaseException) -> str | None:
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        return code if isinstance(code, str) else None
    return None


def _describe(exc: BaseException) -> str:
    """The cause in a few words, never including the token or a traceback."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None)
        data = getattr(response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        if isinstance(status, int) and status >= 500:
            return f"HTTP {status} from Slack"
        if status == 429 or code == "ratelimited":
            return "ratelimited"
        if not code:
            return f"HTTP {status} from Slack"
        if code.startswith("Received a response in a non-JSON format"):
            return f"unexpected answer from Slack (HTTP {status})"
        if code == "invalid_blocks" and isinstance(data, dict):
            first = (data.get("errors") or ["?"])[0]
            return f"invalid_blocks ({first}; a rendering bug in Inhaker)"
        hint = _HINTS.get(code)
        return f"{code} ({hint})" if hint else code
    if isinstance(exc, _ChannelNotFound):
        return f"channel_not_found (no channel named {exc.channel}; {_HINTS['channel_not_found']})"
    if isinstance(exc, URLError):
        return f"cannot reach Slack ({_reason(exc.reason)})"
    if isinstance(exc, (OSError, HTTPException)):
        return f"cannot reach Slack ({_reason(exc)})"
    if isinstance(exc, SlackClientError):
        return f"slack client error ({type(exc).__name__})"
    return f"unexpected {type(exc).__name__}"


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    text = str(reason) or type(reason).__name__
    return text if len(text) <= 120 else text[:119] + "…"
