"""The detect-and-alert engine shared by `inhaker run`, `replay` and `demo`.

What it does: owns the trend detector and applies the opportunity scorer, the alert policy and
the outbox in one order everywhere:
1. `ingest(posts)` feeds new (non-backlog) posts to the trend detector and queues them for the
   opportunity scorer;
2. `tick(now)` asks the detector for rising trends, saves them as the current snapshot (what
   `/trends` shows), scores queued posts for opportunities, lets the policy write the outbox,
   and delivers the outbox through the notifier. Opportunities carry their fit with the team's
   profile (feeds.yaml `profile:` and watch terms; posts of profile sources are read as the
   profile, never as news) and are considered best ranked first.
Each tick also follows Slack: watch terms added there count like feeds.yaml's, muted terms keep
their trends and calls out of the policy and the snapshot, and the team's clicks (bot/taste.py)
multiply trends' scores and calls' ranks.
`run` and `replay` differ only in where posts come from and what the clock is.

What it does not do: fetch anything (bot/poller.py does), schedule anything (bot/scheduler.py), or
choose a notifier (the CLI does).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot import checkpoint
from bot.alerts import AlertPolicy, Decision
from bot.config import Config
from bot.delivery import ChannelPacer, DeliveryReport, deliver_outbox
from bot.digest import release_held
from bot.notify.base import Notifier
from bot.opportunity_scorer import OpportunityScorer
from bot.serialize import trend_to_dict
from bot.store import Store
from bot.taste import TasteBook
from detectors.records import ExternalTrend, Opportunity, Post, Trend
from detectors.relevance import Profile, opportunity_rank
from detectors.stories import StoryDetector
from detectors.taste import Taste, opportunity_features, trend_features
from detectors.text import normalize, normalize_term, terms_of
from detectors.trends import RisingTermDetector

log = logging.getLogger(__name__)

TRENDS_SNAPSHOT = 20
# A platform's trend list entry counts as "trending now" for this long after it was last seen.
EXTERNAL_TRENDS_FRESH = timedelta(hours=6)
CHECKPOINT_OVERLAP = timedelta(minutes=5)
PROFILE_EVERY = timedelta(hours=1)
PROFILE_BACKGROUND = 2000  # posts sampled for the profile's document frequencies
PROFILE_OWN_POSTS = 200  # newest posts of the profile sources read as the profile


TrendDetector = StoryDetector | RisingTermDetector


def build_detector(config: Config) -> TrendDetector:
    """The trend detector feeds.yaml asks for: v2 (`signitrend`, the default) or v1 (`rising`)."""
    detection = config.detection
    if detection.detector == "rising":
        return RisingTermDetector(
            detection.rising_params(),
            watch_terms=config.watch_terms,
            exclude_terms=config.exclude_terms,
        )
    return StoryDetector(
        detection.significance_params(),
        watch_terms=config.watch_terms,
        exclude_terms=config.exclude_terms,
    )


@dataclass(slots=True)
class TickResult:
    decisions: list[Decision] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    trends: int = 0


class RecentPosts:
    """A bounded in-memory map of recent posts by id, for evidence when nothing is stored."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Post] = OrderedDict()

    def add(self, post: Post) -> None:
        self._items[post.id] = post
        self._items.move_to_end(post.id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def lookup(self, ids: Sequence[str]) -> list[Post]:
        return [self._items[i] for i in ids if i in self._items]

    def recent(self, count: int) -> list[Post]:
        """The `count` posts added last, newest first."""
        out: list[Post] = []
        for post in reversed(self._items.values()):
            if len(out) >= count:
                break
            out.append(post)
        return out


class Engine:
    """Detectors, policy and outbox over one store and one notifier."""

    def __init__(
        self,
        config: Config,
        store: Store,
        notifier: Notifier,
        *,
        keep_posts_in_memory: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        self.notifier = notifier
        self.policy = AlertPolicy(config, store)
        # Kept for the life of the process: pacing and Retry-After holds span delivery rounds.
        self.pacer = ChannelPacer.for_notifier(notifier, config.slack.messages_per_second)
        # Asked before each call to Slack in a delivery round; the worker sets it to "do I still
        # lead?" (bot/leader.py), so a worker that lost the lead stops sending mid-round.
        self.may_send: Callable[[], bool] | None = None
        self.detector = build_detector(config)
        self._config_watch = tuple(t for t in (normalize_term(w) for w in config.watch_terms) if t)
        # feeds.yaml's watch terms and those added from Slack (`/inhaker watch add`), which the
        # engine rereads every tick; and the terms muted from Slack right now.
        self._watch = self._config_watch
        self._muted: tuple[str, ...] = ()
        self.taste = TasteBook(store, config)
        self._exclude = frozenset(t for t in (normalize_term(x) for x in config.exclude_terms) if t)
        self._pending_opportunities: list[Post] = []
        self._memory = RecentPosts() if keep_posts_in_memory else None
        # Trained here (about a second, once per process), so that unusable training data stops
        # `run` at start with its message instead of failing at the first post.
        self.opportunities = (
            OpportunityScorer(config.opportunities) if config.opportunities.enabled else None
        )
        self._profile_sources = frozenset(config.profile.sources)
        self.profile = Profile.build(self._watch, [config.profile.about])
        self._profile_built_at: datetime | None = None
        self._lock = threading.Lock()
        self.source_labels = {s.id: s.label for s in config.sources}

    def use_config(self, config: Config) -> None:
        """Use an edited feeds.yaml from now on (hot reload), keeping the detector and all it
        learned: its watch and exclude terms change, its tables and thresholds do not (a
        `detection:` change waits for a restart; the caller says so). Policy, routing, quiet
        hours, the digest, team, profile, feedback and opportunity settings are all read from
        the new config. A changed scorer or training set is trained first: if that raises
        (DatasetError), nothing has changed.
        """
        old = self.config
        scorer = self.opportunities
        new_o, old_o = config.opportunities, old.opportunities
        if (new_o.enabled, new_o.scorer, new_o.training_data) != (
            old_o.enabled,
            old_o.scorer,
            old_o.training_data,
        ):
            scorer = OpportunityScorer(new_o) if new_o.enabled else None
        elif scorer is not None:
            scorer.settings = new_o  # min_score is read at each verdict
        taste = self.taste if config.feedback == old.feedback else TasteBook(self.store, config)
        exclude = frozenset(t for t in (normalize_term(x) for x in config.exclude_terms) if t)
        with self._lock:
            self.config = config
            self.policy = AlertPolicy(config, self.store)
            self.opportunities = scorer
            self.taste = taste
            if self.pacer.per_second is not None:  # paced (Slack): the new rate from now on
                self.pacer.per_second = config.slack.messages_per_second
            self._config_watch = tuple(
                t for t in (normalize_term(w) for w in config.watch_terms) if t
            )
            if exclude != self._exclude:
                self._exclude = exclude
                # Both detectors skip posts naming an excluded term at `observe`; the set is
                # read there, so replacing it applies to the next post. Nothing counted is lost.
                target = (
                    self.detector.significance
                    if isinstance(self.detector, StoryDetector)
                    else self.detector
                )
                target.exclude_terms = exclude
            self._profile_sources = frozenset(config.profile.sources)
            self._profile_built_at = None  # the profile is rebuilt at the next tick
            self.source_labels = {s.id: s.label for s in config.sources}
        # The new watch terms count at once (the next tick would also pick them up).
        watch, _muted = self._follow_slack(datetime.now(UTC))
        with self._lock:
            self._use_watch_terms(watch)

    # -- posts in -------------------------------------------------------------------------

    def warm_up(self, now: datetime) -> int:
        """Rebuild detector state after a restart; returns the stored posts replayed.

        Detector v2 loads its checkpoint and replays only the posts stored since it was saved
        (a post it already counted is recognised by its id and skipped). Without a usable
        checkpoint, and always for v1, the last `baseline` span of stored posts is replayed.
        """
        window = self.config.detection.window
        with self._lock:
            posts: list[Post] | None = None
            if isinstance(self.detector, StoryDetector):
                saved_at = checkpoint.load(self.detector, self.store)
                if saved_at is not None:
                    # Posts stored a little before the save may have been counted after it.
                    posts = self.store.posts_seen_since(saved_at - CHECKPOINT_OVERLAP)
                    log.info("trend detector restored from its checkpoint of %s", saved_at)
            if posts is None:
                horizon = now - window - self.config.detection.baseline
                posts = self.store.posts_since(horizon, backlog_before=now - window)
            count = 0
            for post in posts:
                if self.detector.observe(self._for_detector(post)):
                    count += 1
        return count

    def checkpoint(self, now: datetime) -> int | None:
        """Save detector v2's tables to the store; returns their size in bytes (None for v1)."""
        if not isinstance(self.detector, StoryDetector):
            return None
        with self._lock:
            return checkpoint.save(self.detector, self.store, now)

    def ingest(self, posts: Iterable[Post], *, check_opportunities: bool = True) -> None:
        """Count new posts; in replay mode also queue them for the opportunity scorer."""
        with self._lock:
            # Feeds list their newest items first; the detector's clock wants them in order.
            for post in sorted(posts, key=lambda p: p.created_at):
                if post.source in self._profile_sources:
                    continue  # the team's own posts describe it; they are not news
                self.detector.observe(self._for_detector(post))
                if self._memory is not None:
                    self._memory.add(post)
                if check_opportunities and self._memory is not None:
                    self._pending_opportunities.append(post)

    def ingest_backlog(self, posts: Iterable[Post], now: datetime) -> int:
        """A new source's first items: history for the baseline, never a reason to alert.

        Only items older than the current window are counted, so they can raise a term's
        baseline but never make it look like it is rising now.
        """
        cutoff = now - self.config.detection.window
        counted = 0
        with self._lock:
            for post in sorted(posts, key=lambda p: p.created_at):
                if post.created_at < cutoff and self.detector.observe(self._for_detector(post)):
                    counted += 1
        return counted

    def _for_detector(self, post: Post) -> Post:
        """In run mode, evidence ids name the source too ("nos:guid-1"): feeds' own ids are
        only unique within a feed. Replay keeps the stream's ids, as its contract says."""
        if self._memory is not None:
            return post
        return replace(post, id=f"{post.source}:{post.id}")

    def lookup_posts(self, ids: Sequence[str]) -> list[Post]:
        if self._memory is not None:
            return self._memory.lookup(ids)
        return self.store.posts_by_uids(ids)

    # -- detect and alert -----------------------------------------------------------------

    def opportunities_for(self, posts: Sequence[Post], now: datetime) -> list[Opportunity]:
        """The open calls among `posts`, each with its fit and rank, best ranked first.

        Posts naming an excluded or a muted term and posts of the team's own profile sources
        are skipped. The team's feedback multiplies each rank (`taste`, with its reasons).
        """
        if self.opportunities is None:  # opportunities.enabled: false
            return []
        candidates: list[tuple[Post, dict[str, bool]]] = []
        for post in posts:
            terms = terms_of(post.full_text)
            if post.source in self._profile_sources or self._exclude.intersection(terms):
                continue
            if self._named_in(post, terms, self._muted):
                continue
            candidates.append((post, terms))
        verdicts = self.opportunities.verdicts([p for p, _ in candidates], self.source_labels)
        found: list[Opportunity] = []
        for (post, terms), verdict in zip(candidates, verdicts, strict=True):
            if not verdict.opportunity:
                continue
            watched = self._watched_in(post, terms)
            fit = self.profile.fit(post.full_text, watched)
            found.append(
                Opportunity(
                    key=f"opportunity:{post.source}:{post.id}",
                    post_id=post.id,
                    source=post.source,
                    detected_at=now,
                    score=round(verdict.score, 3),
                    category=verdict.category,
                    deadline=verdict.deadline,
                    asker=verdict.asker,
                    text=post.text,
                    url=post.url,
                    title=post.title,
                    author=post.author,
                    reasons=verdict.reasons,
                    watched=watched,
                    response=verdict.response,
                    response_value=verdict.response_value,
                    topic=verdict.topic,
                    fit=fit.score,
                    fit_reasons=fit.reasons,
                    rank=opportunity_rank(
                        score=verdict.score,
                        fit=fit.score,
                        posted_at=post.created_at,
                        deadline=verdict.deadline,
                        reach=post.reach,
                        now=now,
                    ),
                    reach=post.reach,
                )
            )
        taste = self.taste.current(now)
        found = [self._opportunity_with_taste(o, taste) for o in found]
        found.sort(key=lambda o: (-o.rank, o.key))
        return found

    @staticmethod
    def _opportunity_with_taste(opportunity: Opportunity, taste: Taste) -> Opportunity:
        """The call with the team's feedback multiplied into its rank (the rank formula in
        detectors/relevance.py stays feedback-free, so it can be read on its own)."""
        effect = taste.effect(opportunity_features(opportunity))
        if effect.multiplier == 1.0 and not effect.reasons:
            return opportunity
        return replace(
            opportunity,
            rank=round(opportunity.rank * effect.multiplier, 4),
            taste=effect.multiplier,
            taste_reasons=effect.reasons,
        )

    @staticmethod
    def _trend_with_taste(trend: Trend, taste: Taste) -> Trend:
        effect = taste.effect(trend_features(trend))
        if effect.multiplier == 1.0 and not effect.reasons:
            return trend
        return replace(trend, taste=effect.multiplier, taste_reasons=effect.reasons)

    def _follow_slack(self, now: datetime) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Watch terms (feeds.yaml's and Slack's) and the terms muted at `now`, normalized."""
        added = (normalize_term(row.term) for row in self.store.watch_terms())
        watch = tuple(dict.fromkeys([*self._config_watch, *(t for t in added if t)]))
        muted = (normalize_term(row.term) for row in self.store.active_mutes(now))
        return watch, tuple(dict.fromkeys(t for t in muted if t))

    def _use_watch_terms(self, watch: tuple[str, ...]) -> None:
        """Start using a changed set of watch terms: the detector's lower bar for them, the
        watched mark on calls, and the profile (rebuilt at the next `refresh_profile`).
        Call with the lock held."""
        if watch == self._watch:
            return
        self.detector.set_watch_terms(watch)
        self._watch = watch
        self._profile_built_at = None

    def _trend_muted(self, trend: Trend) -> bool:
        """Whether a muted term is among the trend's terms (a phrase: all of its words)."""
        return self._muted_among(set(trend.terms))

    def _muted_among(self, terms: set[str]) -> bool:
        return any(m in terms or set(m.split()) <= terms for m in self._muted)

    @staticmethod
    def _named_in(post: Post, terms: dict[str, bool], wanted: Sequence[str]) -> bool:
        """Whether the post names any of `wanted` (a term of it, or a phrase in its text)."""
        if not wanted:
            return False
        text = f" {' '.join(normalize(post.full_text).split())} "
        return any(w in terms or (" " in w and f" {w} " in text) for w in wanted)

    def fitted(self, trend: Trend) -> Trend:
        """The trend with its fit with the team: its title, label and terms against the profile."""
        if self.profile.empty:
            return trend
        text = " ".join([trend.title, trend.label, *trend.terms])
        fit = self.profile.fit(text, trend.watched)
        return replace(trend, fit=fit.score, fit_reasons=fit.reasons)

    def refresh_profile(self, now: datetime) -> None:
        """Rebuild the team profile from feeds.yaml and its profile sources' newest posts.

        Cheap, but the profile changes slowly: done at most once an hour.
        """
        if self._profile_built_at is not None and now - self._profile_built_at < PROFILE_EVERY:
            return
        own: list[str] = []
        if self._profile_sources and self._memory is None:
            own = [
                p.full_text
                for p in self.store.latest_posts(PROFILE_OWN_POSTS, sources=self._profile_sources)
            ]
        # What streams by sets the document frequencies: the newest posts, a bounded sample.
        if self._memory is not None:
            recent = self._memory.recent(PROFILE_BACKGROUND)
        else:
            recent = self.store.latest_posts(PROFILE_BACKGROUND)
        self.profile = Profile.build(
            self._watch, [self.config.profile.about, *own], [p.full_text for p in recent]
        )
        self._profile_built_at = now

    def _watch_match(self, term: str) -> str | None:
        """The watch term a listed trend's term matches (a word of it, or a phrase in it)."""
        words = term.split()
        for watch in self._watch:
            if watch == term or watch in words or (" " in watch and f" {watch} " in f" {term} "):
                return watch
        return None

    @staticmethod
    def _corroborated(trend: Trend, signals: Sequence[ExternalTrend]) -> Trend:
        """Mark a rise that a platform's own trend list also shows (a second opinion)."""
        terms = set(trend.terms)
        lead = trend.terms[0]
        sources = sorted(
            {
                s.source
                for s in signals
                if s.term in terms or lead in s.term.split() or set(s.term.split()) <= terms
            }
        )
        return replace(trend, corroborated_by=tuple(sources)) if sources else trend

    def _watched_in(self, post: Post, terms: dict[str, bool]) -> tuple[str, ...]:
        text = " ".join(normalize(post.full_text).split())
        return tuple(w for w in self._watch if w in terms or (" " in w and f" {w} " in f" {text} "))

    def tick(self, now: datetime, *, deliver: bool = True, snapshot: bool = True) -> TickResult:
        """One detect-and-alert step at `now`."""
        watch, self._muted = self._follow_slack(now)
        with self._lock:
            self._use_watch_terms(watch)
            trends = self.detector.findings(now)
            # v2 reports a topic when it fires or moves on; "now" is every topic still active.
            active = (
                self.detector.current(now)
                if isinstance(self.detector, StoryDetector) and snapshot
                else trends
            )
            pending, self._pending_opportunities = self._pending_opportunities, []
        if self._memory is None:
            # Run mode: the store remembers which posts were scored, so a crash between
            # storing a post and scoring it loses nothing (alert ids make a rescore harmless).
            pending = self.store.posts_to_check()
        signals = (
            []
            if self._memory is not None
            else self.store.external_trends_since(now - EXTERNAL_TRENDS_FRESH)
        )
        self.refresh_profile(now)
        taste = self.taste.current(now)
        # A muted topic is neither alerted, nor updated, nor listed as trending while muted.
        trends = [
            self._trend_with_taste(self.fitted(self._corroborated(trend, signals)), taste)
            for trend in trends
            if not self._trend_muted(trend)
        ]
        if snapshot:
            current = [
                self._trend_with_taste(self._corroborated(t, signals), taste)
                for t in active
                if not self._trend_muted(t)
            ]
            current.sort(key=lambda t: -(t.score * t.taste))
            self.store.replace_current_trends(
                [trend_to_dict(t) for t in current[:TRENDS_SNAPSHOT]], now
            )
        decisions = self.policy.consider_trends(trends, now)
        for signal in signals:
            watched = self._watch_match(signal.term)
            muted = self._muted_among({signal.term, *signal.term.split()})
            if watched is not None and not muted:
                listed = self.policy.consider_listed(signal, watched, now)
                if listed is not None:
                    decisions.append(listed)
        posted_at = {(p.source, p.id): p.created_at for p in pending}
        for place, opportunity in enumerate(self.opportunities_for(pending, now)):
            created = posted_at[(opportunity.source, opportunity.post_id)]
            decision = self.policy.consider_opportunity(opportunity, created, now, place=place)
            if decision is not None:
                decisions.append(decision)
        if self._memory is None:
            self.store.mark_checked(pending)
        if self.config.slack.quiet_hours is not None:
            # Alerts held during quiet hours go back to the outbox once no digest will take them
            # (every tick, so `run --once` and `replay` release them too).
            release_held(self.store, self.config, now)
        result = TickResult(decisions=decisions, trends=len(trends))
        if deliver:
            result.delivery = self.deliver(now)
        return result

    def deliver(self, now: datetime) -> DeliveryReport:
        """Send the outbox (alerts, edits, then thread replies), paced per Slack channel."""
        return deliver_outbox(
            self.store,
            self.notifier,
            self.lookup_posts,
            self.source_labels,
            now,
            pacer=self.pacer,
            may_send=self.may_send,
        )
