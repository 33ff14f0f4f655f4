"""Helpers that send real, signed Slack requests (slash commands, button clicks) over HTTP.

What it does: builds the form bodies Slack sends for a slash command and for a block action,
signs them the way Slack does (v0 HMAC-SHA256 over "v0:{timestamp}:{body}"), and POSTs them to a
running app with httpx. Tests use it against `inhaker serve` (`serve_process` starts the real CLI
in a subprocess) and the in-process WSGI server (`serving`).

What it does not do: verify anything itself; the app under test does.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

SIGNING_SECRET = "inhaker-test-signing-secret"


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post_signed(
    url: str,
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature or sign(body, ts, secret),
    }
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.post(url, content=body.encode(), headers=headers)


def slash_command(
    command: str = "/trends",
    text: str = "",
    user: str = "U0USER1",
    *,
    response_url: str = "http://127.0.0.1:9/hooks/unused",
    trigger_id: str = "1.2.3",
) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0INHAKER",
            "team_domain": "inhaker",
            "channel_id": "C0INHAKER1",
            "channel_name": "inhaker",
            "user_id": user,
            "user_name": "marloes",
            "command": command,
            "text": text,
            "api_app_id": "A0INHAKER",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def button_click(action_id: str, value: str, **details: Any) -> str:
    """The form body of a click on a button (`action_id`, `value`); `details` as click_payload."""
    return urlencode({"payload": json.dumps(click_payload(action_id, value, **details))})


def click_payload(
    action_id: str,
    value: str,
    *,
    channel: str,
    ts: str,
    blocks: list[dict[str, Any]],
    user: str = "U0USER1",
    response_url: str = "http://127.0.0.1:9/hooks/unused",
    action_ts: str | None = None,
    is_ephemeral: bool = False,
) -> dict[str, Any]:
    """A block_actions payload as Slack sends it (HTTP form field or Socket Mode envelope)."""
    return {
        "type": "block_actions",
        "team": {"id": "T0INHAKER", "domain": "inhaker"},
        "user": {"id": user, "username": "marloes", "team_id": "T0INHAKER"},
        "api_app_id": "A0INHAKER",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": "inhaker"},
        "message": {"type": "message", "ts": ts, "text": "alert", "blocks": blocks},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "inhaker_actions",
                "value": value,
                "action_ts": action_ts or f"{time.time():.6f}",
            }
        ],
    }


def app_home_opened(user: str = "U0USER1", event_id: str = "Ev0HOME1") -> dict[str, Any]:
    """The Events API body Slack sends when someone opens the app's Home tab."""
    return {
        "token": "legacy",
        "team_id": "T0INHAKER",
        "api_app_id": "A0INHAKER",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0INHAKER",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        },
    }


def post_signed_json(url: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    """POST a JSON body (Events API) with Slack's signature."""
    raw = json.dumps(body)
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(raw, ts),
        **kwargs.pop("headers", {}),
    }
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.post(url, content=raw.encode(), headers=headers)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve a Bolt app in HTTP mode (as `inhaker serve` does, under waitress) on 127.0.0.1."""
    from waitress import create_server

    from bot.slack.app import wsgi_app

    server = create_server(wsgi_app(app), host="127.0.0.1", port=0, threads=4)

    def run() -> None:
        # Closing the server from this thread makes waitress's select() fail with EBADF in its
        # own; that is the end of serving, not an error.
        with contextlib.suppress(OSError, ValueError):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events"
    finally:
        server.close()
        thread.join(timeout=5)


def wait_for(condition: Any, timeout: float = 5.0) -> Any:
    """Poll `condition()` until it is truthy (work Slack handlers do after the ack)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.03)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_process(
    workdir: Path,
    *,
    config: Path,
    database_url: str,
    slack_api_url: str,
    token: str,
    log_name: str = "serve.log",
) -> Iterator[str]:
    """`inhaker serve` as a user starts it: a subprocess in HTTP mode on a free port of
    127.0.0.1; yields its events URL once /healthz answers. Its stderr (the log) goes to
    `workdir / log_name`; it is stopped with SIGTERM afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "DATABASE_URL": database_url,
    }
    command = [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)]
    with (workdir / log_name).open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--host", "127.0.0.1"],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"{url}/healthz", trust_env=False).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            if process.poll() is not None:
                raise AssertionError(
                    f"inhaker serve exited: {(workdir / log_name).read_text(encoding='utf-8')}"
                )
            yield f"{url}/slack/events"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
