"""What a notifier receives and the contract it follows.

What it does: defines `Alert` (one finding the policy decided to tell the team about, with the
channel it goes to and the labels needed to render it) and the `Notifier` protocol shared by the
console and Slack notifiers.

What it does not do: decide whether to alert (bot/alerts.py does), or render anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from detectors.records import ExternalTrend, Opportunity, Trend


@dataclass(frozen=True, slots=True)
class EvidencePost:
    """A post shown under an alert: enough to read it and click through."""

    id: str
    source: str
    source_label: str
    text: str
    created_at: datetime
    author: str | None = None
    url: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """One message the team should see.

    `id` is stable and unique ("trend:twelftal:2014-06-13T19:40Z" or "opportunity:emerce:123"):
    it is the outbox key, so the same alert is never sent twice. `is_update` marks a bigger
    version of an already-sent trend: notifiers edit the earlier message instead of posting anew.
    """

    id: str
    kind: str  # "trend" | "opportunity"
    channel: str
    created_at: datetime
    trend: Trend | None = None
    opportunity: Opportunity | None = None
    listed: ExternalTrend | None = None  # a platform's own trend list, matching a watch term
    watched: tuple[str, ...] = ()  # for `listed`: the watch terms it matches
    top_posts: tuple[EvidencePost, ...] = field(default=())
    source_labels: dict[str, str] = field(default_factory=dict)
    is_update: bool = False
    handled_by: tuple[str, str] | None = None  # (Slack user id, "claim" | "dismiss")

    @property
    def title(self) -> str:
        if self.trend is not None:
            return self.trend.title
        if self.opportunity is not None:
            return self.opportunity.title or self.opportunity.text[:80]
        if self.listed is not None:
            return self.listed.title
        return self.id


def make_ref(channel: str, message_id: str) -> str:
    """A message reference: where it was posted and its id there ("C0123ABC:1700000000.0001")."""
    return f"{channel}:{message_id}"


def split_ref(ref: str) -> tuple[str | None, str]:
    """(channel, message id) from `make_ref`; a bare id (no channel) gives (None, id)."""
    channel, sep, message_id = ref.partition(":")
    return (channel, message_id) if sep else (None, ref)


class NotifierError(Exception):
    """Delivery failed.

    Usually in a way that may succeed later (an outage, a rate limit, a channel the app must be
    invited to): the outbox keeps the alert and tries again on the next tick. `permanent` marks
    a failure of this one message that no retry can fix (Slack rejects its blocks, or the
    message to edit was deleted): the outbox records it and moves on, so one bad message
    cannot hold up every alert behind it.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Notifier(Protocol):
    """Delivers alerts somewhere people read them."""

    def send(self, alert: Alert) -> str | None:
        """Post a new message; return its reference (`make_ref`) or None. Raise NotifierError."""
        ...

    def update(self, alert: Alert, ref: str) -> None:
        """Replace an earlier message (ref from `send`) with this newer version of the alert."""
        ...
