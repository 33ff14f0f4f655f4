"""The Slack app (Bolt): commands, alert buttons and the Home tab, in Socket Mode or HTTP mode.

What it does: `build_app` makes a Bolt `App` whose Web API client honours `SLACK_API_URL`, with
- `/inhaker SUBCOMMAND` and the `/trends` shortcut (bot/slack/commands.py builds the answers
  from the store): answered privately in the acknowledgement when ready within
  `answer_budget`, else acknowledged at once and answered through the response_url; shareable
  answers carry a "Share in channel" button that posts a fresh copy;
- the alert buttons (claim, done, let go, useful, not relevant, snooze, mute topic):
  acknowledged at once, then bot/slack/actions.py stores the click and re-renders the alert
  for everyone;
- the Home tab, published on `app_home_opened` (bot/slack/home.py);
- a middleware that acknowledges, without acting again, a click or event Slack delivers twice;
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
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Config
from bot.leaderboard import standing_line
from bot.notify.slack import default_retry_handlers
from bot.slack.actions import Click, MessageRefresher, apply_click
from bot.slack.blocks import (
    ALERT_BUTTONS,
    MAX_BLOCKS,
    SHARE_ACTION_ID,
    SHARE_BLOCK_ID,
    escape_mrkdwn,
)
from bot.slack.commands import COMMAND, Answer, Context, answer_command
from bot.slack.home import home_view
from bot.store import Store
from bot.taste import TasteBook

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A command's answer is given in the acknowledgement when it is ready within this many seconds
# (Slack wants the acknowledgement within 3); a slower one follows through the response_url.
ANSWER_BUDGET_SECONDS = 2.0
INTERNAL_ERROR = (
    "Sorry, that did not work: Inhaker hit an internal error. Try again in a minute; if it "
    "keeps failing, ask whoever runs Inhaker to check its logs."
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def slack_base_url() -> str | None:
    """SLACK_API_URL (tests, proxies) with the trailing slash slack_sdk needs, or None."""
    url = os.environ.get("SLACK_API_URL", "").strip()
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


def request_key(body: dict[str, Any]) -> str | None:
    """What makes a Slack request unique, for the ones whose repetition would repeat an action.

    Clicks (a retried or redelivered block action has the same user and action_ts) and events
    (the same event_id). Slash commands are not deduplicated: Slack does not retry them, and
    every subcommand is safe to run twice (read-only, or setting the same state again).
    """
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id")
        if action.get("action_ts") and user:
            return f"action:{user}:{action.get('action_id')}:{action.get('action_ts')}"
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    return None


def _with_share_button(answer: Answer, command_text: str) -> list[dict[str, Any]]:
    """An ephemeral answer's blocks plus a "Share in channel" button that re-runs the command."""
    blocks = list(answer.blocks)
    if answer.shareable and len(blocks) < MAX_BLOCKS:
        blocks.append(
            {
                "type": "actions",
                "block_id": SHARE_BLOCK_ID,
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Share in channel"},
                        "action_id": SHARE_ACTION_ID,
                        "value": command_text[:2000] or "trends",
                    }
                ],
            }
        )
    return blocks


def build_app(
    store: Store,
    config: Config | Callable[[], Config],
    *,
    token: str | None = None,
    signing_secret: str | None = None,
    clock: Clock = _utcnow,
    answer_budget: float = ANSWER_BUDGET_SECONDS,
) -> App:
    """The Bolt app. Token and signing secret default to SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET.

    `answer_budget`: seconds a command's answer may take to be given in the acknowledgement
    itself; a slower one is acknowledged with "Working on it…" and sent through the
    response_url when ready (Slack wants the acknowledgement within 3 seconds).

    `config` is feeds.yaml, or a function returning the one in use now: `inhaker run` passes
    its worker's, so commands and buttons follow a reloaded feeds.yaml (`detection.window`,
    which only a restart changes, is read once).
    """
    current_config: Callable[[], Config] = config if callable(config) else (lambda: config)
    token = token or os.environ.get("SLACK_BOT_TOKEN")
    signing_secret = signing_secret or os.environ.get("SLACK_SIGNING_SECRET")
    if not token:
        raise RuntimeError(
            "slack app: SLACK_BOT_TOKEN is not set — create the app from manifest.yaml, "
            "install it, and export its Bot User OAuth Token"
        )
    base_url = slack_base_url()
    # The same retry policy as the notifier: Retry-After is honoured (up to 10 s), a 5xx or a
    # dropped connection gets one quick retry.
    client = WebClient(token=token, retry_handlers=default_retry_handlers())
    if base_url:
        client.base_url = base_url
    app = App(
        signing_secret=signing_secret,
        client=client,
        # Socket Mode has no signatures to verify; HTTP mode requires the secret (checked in
        # wsgi_app) so a request without a valid signature is answered 401.
        request_verification_enabled=bool(signing_secret),
        process_before_response=False,
        # Bolt's loggers under "slack_bolt", whose level the CLI sets (WARNING). Without a logger
        # Bolt gives each of its loggers the root's level, and at INFO it logs the whole body of
        # a request whose signature fails: the verification token and the response_url of
        # every genuine request while SLACK_SIGNING_SECRET is wrong. Errors still show.
        logger=logging.getLogger("slack_bolt"),
    )
    window_minutes = max(1, int(current_config().detection.window.total_seconds() // 60))
    # The TasteBook for the `feedback:` settings in use (rebuilt when a reload changes them).
    tastes: list[TasteBook] = []
    answers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="inhaker-answer")
    # Message edits after clicks run on their own thread, coalesced per alert (see
    # MessageRefresher): a burst of clicks never holds the threads that acknowledge clicks.
    refresher = MessageRefresher()

    def taste_for(config: Config) -> TasteBook | None:
        if not config.feedback.enabled:
            return None
        book = tastes[0] if tastes else None
        if book is None or book.settings != config.feedback:
            book = TasteBook(store, config)
            tastes[:] = [book]
        return book

    def context(user_id: str) -> Context:
        config = current_config()
        return Context(store, config, clock(), user_id, window_minutes, taste_for(config))

    @app.middleware
    def skip_repeats(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        key = request_key(body)
        if key is not None and not store.first_time(key, clock()):
            log.info("slack: %s was handled already (a retry); acknowledged, not repeated", key)
            return BoltResponse(status=200, body="")
        return next()

    def answer(ack: Any, respond: Any, command: dict[str, Any], text: str) -> None:
        ctx = context(str(command.get("user_id") or "unknown"))
        future = answers.submit(answer_command, ctx, text)
        try:
            result = future.result(timeout=answer_budget)
        except FutureTimeout:
            ack(text="⏳ Working on it…", response_type="ephemeral")
            try:
                result = future.result()
            except Exception:
                log.exception("slack: /inhaker %s failed", text[:100])
                respond(text=INTERNAL_ERROR, response_type="ephemeral", replace_original=True)
                return
            respond(
                text=result.text,
                blocks=_with_share_button(result, text),
                response_type="ephemeral",
                replace_original=True,
            )
            return
        except Exception:
            # The store is locked or broken: the person gets a sentence, the log the cause.
            log.exception("slack: /inhaker %s failed", text[:100])
            ack(text=INTERNAL_ERROR, response_type="ephemeral")
            return
        ack(text=result.text, blocks=_with_share_button(result, text), response_type="ephemeral")

    @app.command(COMMAND)
    def inhaker_command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        answer(ack, respond, command, (command.get("text") or "").strip())

    @app.command("/trends")
    def trends_command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        # The shortcut: `/trends` = `/inhaker trends`; `/trends sources|help` still work.
        text = (command.get("text") or "").strip()
        first = text.split()[0].lower() if text else ""
        if first not in ("sources", "source", "bronnen", "help", "hulp", "?", "why", "calls"):
            text = f"trends {text}".strip()
        answer(ack, respond, command, text)

    @app.action(SHARE_ACTION_ID)
    def share(ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        action = (body.get("actions") or [{}])[0]
        text = str(action.get("value") or "trends")
        user_id = str((body.get("user") or {}).get("id") or "unknown")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        result = answer_command(context(user_id), text)
        shared_note = {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Shared by <@{user_id}> · `/inhaker {escape_mrkdwn(text)[:200]}`",
                }
            ],
        }
        try:
            client.chat_postMessage(
                channel=channel,
                text=result.text,
                blocks=[*result.blocks[: MAX_BLOCKS - 1], shared_note],
                unfurl_links=False,
            )
        except SlackApiError as exc:
            code = (exc.response.data or {}).get("error") if exc.response is not None else None
            hint = "invite me first: `/invite @Inhaker`" if code == "not_in_channel" else code
            respond(text=f"I could not share it in this channel: {hint}.", replace_original=False)
            return
        respond(delete_original=True)

    def on_alert_button(action_name: str) -> Callable[..., None]:
        def handle(ack: Any, body: dict[str, Any], client: WebClient) -> None:
            ack()  # within Slack's 3 seconds; the rest happens after
            click = Click.from_body(body)
            note = apply_click(
                store,
                current_config(),
                client,
                click,
                action_name,
                clock(),
                window_minutes=window_minutes,
                refresher=refresher,
                clock=clock,
            )
            if note and click.channel_id:
                try:
                    client.chat_postEphemeral(
                        channel=click.channel_id, user=click.user_id, text=note
                    )
                except SlackApiError as exc:
                    log.warning("slack: could not tell %s: %s", click.user_id, exc)

        return handle

    for action_id, action_name in ALERT_BUTTONS.items():
        app.action(action_id)(on_alert_button(action_name))

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        user_id = str(event["user"])
        now = clock()
        config = current_config()
        view = home_view(
            store,
            config,
            user_id,
            now,
            window_minutes=window_minutes,
            standing=lambda uid: standing_line(store, config, uid, now),
        )
        client.views_publish(user_id=user_id, view=view)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
        log.exception("slack handler failed: %s", error)
        try:
            if body.get("response_url"):
                respond(
                    text=INTERNAL_ERROR,
                    response_type="ephemeral",
                    replace_original=False,
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
