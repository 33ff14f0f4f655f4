"""Shared pytest fixtures: real local servers, and a network environment that stays on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_slack import FakeSlack
from tests.feed_server import FeedServer

PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear proxy variables so httpx (trust_env) talks to 127.0.0.1 directly."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def feed_server(no_proxy_env: None) -> Iterator[FeedServer]:
    """A running fake feed publisher on 127.0.0.1 (see tests/feed_server.py)."""
    with FeedServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_proxy_everywhere(no_proxy_env: None) -> None:
    """Every test: no proxy variables. slack_sdk reads HTTP(S)_PROXY and ignores NO_PROXY, so a
    proxy set in the developer's shell would swallow requests meant for 127.0.0.1."""


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running fake Slack Web API (see tests/fake_slack.py); point WebClient at `.base_url`."""
    with FakeSlack() as server:
        yield server
