"""The Slack app (Bolt): slash commands and alert buttons, in Socket Mode or HTTP mode.

What it does: `build_app` makes a Bolt `App` whose Web API client honours `SLACK_API_URL`, with
- `/trends` (and `/trends sources`, `/trends help`): answered in the acknowledgement itself,
  ephemeral, from the store the worker keeps up to date;
- the alert buttons "I'll take it" and "Dismiss": acknowledged at once, then the feedback is
  stored and the message is edited for everyone to show who took it or dismissed it;
- one global error handler, so a Slack user sees a short explanation, never a traceback.
`socket_mode_handler` connects it over Socket Mode (started by `inhaker run` when
`SLACK_APP_TOKEN` is set); `wsgi_app` serves it over HTTP at /slack/events with Slack's signature
verification (`inhaker serve`), plus /healthz.

What it does not do: detect or send alerts (the worker does), or handle OAuth installs (one
workspace, one bot token).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.config import Config
from bot.slack.blocks import CLAIM_ACTION_ID, DISMISS_ACTION_ID, claimed_blocks
from bot.slack.commands import help_answer, sources_answer, trends_answer
from bot.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def slack_base_url() -> str | None:
    """SLACK_API_URL (tests, proxies) with the trailing slash slack_sdk needs, or None."""
    url = os.environ.get("SLACK_API_URL", "").strip()
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


def build_app(
    store: Store,
    config: Config,
    *,
    token: str | None = None,
    signing_secret: str | None = None,
    clock: Clock = _utcnow,
) -> App:
    """The Bolt app. Token and signing secret default to SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET."""
    token = token or os.environ.get("SLACK_BOT_TOKEN")
    signing_secret = signing_secret or os.environ.get("SLACK_SIGNING_SECRET")
    if not token:
        raise RuntimeError(
            "slack app: SLACK_BOT_TOKEN is not set — create the app from manifest.yaml, "
            "install it, and export its Bot User OAuth Token"
        )
    base_url = slack_base_url()
    client = WebClient(token=token, base_url=base_url) if base_url else WebClient(token=token)
    app = App(
        signing_secret=signing_secret,
        client=client,
        # Socket Mode has no signatures to verify; HTTP mode requires the secret (checked in
        # wsgi_app) so a request without a valid signature is answered 401.
        request_verification_enabled=bool(signing_secret),
        process_before_response=False,
    )
    window_minutes = max(1, int(config.detection.window.total_seconds() // 60))

    @app.command("/trends")
    def trends_command(ack: Any, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").strip().lower().split()
        if not words:
            answer = trends_answer(store, clock(), window_minutes=window_minutes)
        elif words[0] in ("sources", "source", "bronnen"):
            answer = sources_answer(store, config, clock())
        elif words[0] in ("help", "hulp", "?"):
            answer = help_answer()
        else:
            answer = help_answer(unknown=" ".join(words))
        ack(text=answer.text, blocks=answer.blocks, response_type="ephemeral")

    def on_button(action_name: str) -> Callable[..., None]:
        def handle(ack: Any, body: dict[str, Any], client: WebClient) -> None:
            ack()  # within Slack's 3 seconds; the rest happens after
            action = (body.get("actions") or [{}])[0]
            alert_id = str(action.get("value") or "")
            user_id = str((body.get("user") or {}).get("id") or "unknown")
            store.add_feedback(alert_id, user_id, action_name, clock())
            container = body.get("container") or {}
            channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
            ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
            blocks = (body.get("message") or {}).get("blocks") or []
            if channel and ts:
                who = "took this" if action_name == "claim" else "dismissed this"
                client.chat_update(
                    channel=channel,
                    ts=ts,
                    blocks=claimed_blocks(blocks, user_id, action_name),
                    text=f"<@{user_id}> {who}",
                )
            log.info("feedback %s on %s by %s", action_name, alert_id, user_id)

        return handle

    app.action(CLAIM_ACTION_ID)(on_button("claim"))
    app.action(DISMISS_ACTION_ID)(on_button("dismiss"))

    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
        log.exception("slack handler failed: %s", error)
        try:
            if body.get("response_url"):
                respond(
                    text="Sorry, that did not work: Inhaker hit an internal error. "
                    "Try again in a minute; if it keeps failing, ask whoever runs Inhaker "
                    "to check its logs.",
                    response_type="ephemeral",
                )
        except Exception:  # the answer itself failed; the log has the cause
            log.exception("could not tell the user about the error")

    return app


def socket_mode_handler(app: App, app_token: str | None = None) -> SocketModeHandler:
    """Socket Mode: no public URL needed. Call `.connect()` to start in the background."""
    app_token = app_token or os.environ.get("SLACK_APP_TOKEN")
    if not app_token:
        raise RuntimeError("slack app: SLACK_APP_TOKEN is not set (an xapp- token for Socket Mode)")
    return SocketModeHandler(app, app_token, web_client=app.client)


def wsgi_app(app: App) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The HTTP-mode WSGI application: POST /slack/events (signature-verified), GET /healthz."""
    handler = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return handler(environ, start_response)

    return application
