"""manifest.yaml against the code: what it declares is handled, and what the code calls is allowed.

- every slash command the manifest declares is answered by the app (real signed requests), and
  every command the app registers is declared (else Slack would never send it);
- every bot event the manifest subscribes to is handled, and interactivity and the Home tab are on
  because the app uses them;
- the bot scopes cover every Slack Web API method the code in bot/ calls: the methods are found by
  reading the source (so a new call cannot slip in unnoticed), each mapped to the scopes Slack's
  method reference names for it.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.slack.app import build_app
from bot.store import Store
from tests.fake_slack import FakeSlack
from tests.samples import SLACK_TEST_CONFIG
from tests.slack_requests import (
    SIGNING_SECRET,
    app_home_opened,
    post_signed,
    post_signed_json,
    serving,
    slash_command,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))

# Bot-token scopes each Web API method needs (docs.slack.dev/reference/methods). Methods that need
# none are listed with an empty set; a method missing here fails the test, so adding a call means
# looking its scope up. apps.connections.open uses the app-level token (connections:write), which
# is created in the app's settings, not in the manifest.
SCOPES_BY_METHOD: dict[str, frozenset[str]] = {
    "chat_postMessage": frozenset({"chat:write"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "conversations_list": frozenset({"channels:read", "groups:read"}),  # public and private
    # Looking for a post whose answer was lost before posting it again (public and private).
    "conversations_history": frozenset({"channels:history", "groups:history"}),
    "conversations_replies": frozenset({"channels:history", "groups:history"}),
    "views_publish": frozenset(),
    "auth_test": frozenset(),
    "apps_connections_open": frozenset(),
}
# Methods of the bot's own notifier that post to channels it was not invited to.
PUBLIC_POSTING = frozenset({"chat:write.public"})


def web_api_methods_called_in(folder: Path) -> dict[str, list[str]]:
    """WebClient methods called anywhere under `folder`: name -> ["file:line", ...]."""
    names = {n for n in dir(WebClient) if not n.startswith("_") and n not in {"api_call"}}
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in names
                and callable(getattr(WebClient, node.func.attr))
                and "_" in node.func.attr  # chat_postMessage, not e.g. .close()
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.setdefault(node.func.attr, []).append(where)
    return found


def test_the_bot_scopes_cover_every_web_api_method_the_code_calls() -> None:
    declared = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = web_api_methods_called_in(ROOT / "bot")
    assert {"chat_postMessage", "chat_update", "views_publish"} <= set(called), called
    for method, places in called.items():
        assert method in SCOPES_BY_METHOD, (
            f"{method} (called at {', '.join(places)}) is not in SCOPES_BY_METHOD: look up its "
            "scopes in Slack's method reference and add them here and to manifest.yaml"
        )
        missing = SCOPES_BY_METHOD[method] - declared
        assert not missing, f"{method} needs {sorted(missing)} in manifest.yaml oauth_config"
    assert declared >= PUBLIC_POSTING
    assert "commands" in declared  # slash commands need it


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@pytest.fixture
def url(fake_slack: FakeSlack, store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    app = build_app(store, SLACK_TEST_CONFIG, token=fake_slack.token, signing_secret=SIGNING_SECRET)
    with serving(app) as events_url:
        yield events_url


def test_every_declared_command_is_answered(url: str) -> None:
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert "/inhaker" in commands
    for command in commands:
        response = post_signed(url, slash_command(command, "help"))
        assert response.status_code == 200, f"{command} is declared but not handled"
        answer: dict[str, Any] = response.json()
        assert "/inhaker trends" in answer["text"], command


def test_every_command_the_app_registers_is_declared() -> None:
    source = (ROOT / "bot" / "slack" / "app.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    registered: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "command"
            and node.args
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                registered.add(arg.value)
            elif isinstance(arg, ast.Name) and arg.id == "COMMAND":
                registered.add("/inhaker")
    declared = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert registered, "no app.command(...) found in bot/slack/app.py"
    assert registered <= declared, f"registered but not in manifest.yaml: {registered - declared}"


def test_declared_events_are_handled_and_the_settings_match_the_features(
    url: str, fake_slack: FakeSlack
) -> None:
    settings = MANIFEST["settings"]
    events = settings["event_subscriptions"]["bot_events"]
    assert events == ["app_home_opened"]
    response = post_signed_json(url, app_home_opened())
    assert response.status_code == 200
    assert wait_for(lambda: fake_slack.calls_to("views.publish")), "app_home_opened not handled"
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True  # the alert buttons
    assert settings["socket_mode_enabled"] is True  # the default transport (`inhaker run`)
    # The manifest is the file a person pastes into Slack: it must be plain YAML → JSON.
    json.dumps(MANIFEST)
