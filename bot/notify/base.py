"""What a notifier receives and the contract it follows.

What it does: defines `Alert` (one finding the policy decided to tell the team about, with the
channel it goes to and the labels needed to render it) and the `Notifier` protocol shared by the
console and Slack notifiers.

What it does not do: decide whether to alert (bot/alerts.py does), or render anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

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
class Handoff:
    """Who should pick an alert up, and where to post: from feeds.yaml `team` (bot/routing.py)."""

    people: tuple[tuple[str, str], ...] = ()  # (Slack member id, name), best fit first
    platforms: tuple[str, ...] = ()  # suggested platforms, best first ("linkedin", "x", ...)
    reason: str = ""  # why those platforms, in a few words


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the team did with an alert, from its button clicks (shown on every version of it)."""

    claimed_by: str | None = None  # Slack user id of whoever said "I'll take it"
    done_by: str | None = None  # the claimer marked it done: the team hooked in
    useful: tuple[str, ...] = ()  # user ids who marked it useful
    not_relevant: tuple[str, ...] = ()  # user ids who marked it not relevant
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    muted_by: str | None = None  # someone muted the topic from this alert

    @property
    def closed(self) -> bool:
        """Nobody needs to act any more: done, dismissed as not relevant, or muted."""
        return bool(self.done_by or self.muted_by or (self.not_relevant and not self.claimed_by))


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
    state: AlertState = field(default_factory=AlertState)
    handoff: Handoff | None = None
    digest: dict[str, Any] | None = None  # kind "digest": the summary to render (bot/digest.py)

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
    invited to): the outbox keeps the alert and tries again on the next tick. What else it
    tells the outbox:

    - `permanent`: this one message can never be delivered as it is (Slack rejects its blocks,
      or the message to edit was deleted): the outbox records it and moves on, so one bad
      message cannot hold up every alert behind it.
    - `rate_limited`: Slack answered 429 (still, after the client's own short waits);
      `retry_after` is how many seconds Slack asked for, when it said. The outbox holds back
      only that channel until then and goes on with the others.
    - `channel_only`: the failure concerns the channel, not Slack as a whole (a rate limit, a
      channel the app is not in or that does not exist): the other channels still get theirs.
      Anything else (a 5xx answer, no connection) is an outage and stops the delivery round.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        rate_limited: bool = False,
        retry_after: float | None = None,
        channel_only: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.rate_limited = rate_limited
        self.retry_after = retry_after
        self.channel_only = channel_only or rate_limited


class Notifier(Protocol):
    """Delivers alerts somewhere people read them."""

    def send(self, alert: Alert) -> str | None:
        """Post a new message; return its reference (`make_ref`) or None. Raise NotifierError."""
        ...

    def update(self, alert: Alert, ref: str) -> None:
        """Replace an earlier message (ref from `send`) with this newer version of the alert."""
        ...

    def reply(self, alert: Alert, ref: str, text: str, *, mention: str | None = None) -> str | None:
        """Post `text` (mrkdwn, already escaped) in the thread of the message `ref` (from `send`),
        mentioning the Slack user `mention` when given; return the reply's reference or None.
        Raise NotifierError."""
        ...


@runtime_checkable
class FindsPosted(Protocol):
    """A notifier that can tell whether one of its posts already reached the channel.

    Delivery asks before posting again after an attempt whose outcome it never learnt (the
    process died, or Slack's answer was lost), so that attempt is not doubled. SlackNotifier
    does it with the message metadata every post carries (the alert or reply id). Both methods
    return the message's reference (`make_ref`) when found, None when not (or when the channel
    cannot be searched: the caller then posts); they raise NotifierError when Slack cannot be
    asked right now (an outage), so the post waits for a later round.
    """

    def find_sent(self, alert: Alert, since: datetime) -> str | None:
        """This app's message for `alert` in `alert.channel`, posted at or after `since`."""
        ...

    def find_reply(self, alert: Alert, ref: str, reply_id: str, since: datetime) -> str | None:
        """This app's reply `reply_id` in the thread of message `ref`, posted since `since`."""
        ...

    def reply(
        self,
        alert: Alert,
        ref: str,
        text: str,
        *,
        mention: str | None = None,
        reply_id: str | None = None,
    ) -> str | None:
        """Notifier.reply, marking the reply with `reply_id` so `find_reply` can find it."""
        ...
