"""Helpers that send real, signed Slack requests (slash commands, button clicks) over HTTP.

What it does: builds the form bodies Slack sends for a slash command and for a block action,
signs them the way Slack does (v0 HMAC-SHA256 over "v0:{timestamp}:{body}"), and POSTs them to a
running app with httpx. Tests use it against `inhaker serve` and the in-process WSGI server.

What it does not do: verify anything itself; the app under test does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
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


def slash_command(command: str = "/trends", text: str = "", user: str = "U0USER1") -> str:
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
            "response_url": "http://127.0.0.1:9/hooks/unused",
            "trigger_id": "1.2.3",
        }
    )


def button_click(
    action_id: str,
    value: str,
    *,
    channel: str,
    ts: str,
    blocks: list[dict[str, Any]],
    user: str = "U0USER1",
) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0INHAKER", "domain": "inhaker"},
        "user": {"id": user, "username": "marloes", "team_id": "T0INHAKER"},
        "api_app_id": "A0INHAKER",
        "token": "legacy",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": "inhaker"},
        "message": {"type": "message", "ts": ts, "text": "alert", "blocks": blocks},
        "response_url": "http://127.0.0.1:9/hooks/unused",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "inhaker_actions",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
