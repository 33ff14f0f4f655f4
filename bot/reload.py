"""Hot reload of feeds.yaml: notice an edit, validate it, and say what changed or what is wrong.

What it does:
- `diff_configs(old, new)` compares two loaded configurations and returns `ConfigChanges`: the
  sources added, removed and changed (by id), the settings that changed and can be applied to a
  running worker, and the ones that cannot (the trend detector's tables are sized and tuned by
  `detection:` at start), which need a restart. `ConfigChanges.summary()` is the one INFO line
  the worker logs.
- `ConfigWatcher.check(apply)` is run every few seconds by the worker (bot/scheduler.py). It reads
  the file and compares its content hash with what it handled last; a new content is handled once
  it has stayed the same for two checks in a row, so an editor caught half-way through writing
  the file is never read as a broken (or a truncated but valid) edit. A valid edit is handed to
  `apply`; a broken one keeps the last good configuration running and is reported once per
  distinct content, with the same `file:line: key: problem` lines as `inhaker check`: an ERROR
  line per problem in the log, and one message to `slack.ops_channel` when one is set. When the
  file is valid again after a broken edit, the log and the ops channel say so.
- `tell_ops(notifier, channel, text)` posts such a note through the worker's Slack client.
- `LiveConfig` is the same for `inhaker serve`: the configuration its Slack app answers from,
  kept current by a thread that runs a `ConfigWatcher` (a source added shows in
  `/inhaker sources` from any web process within seconds). It only logs: the worker is the one
  that tells the ops channel, so a team running several web processes gets one message, not one
  per process.

What it does not do: apply anything to the running worker (`Runner.apply_config` does), watch
with inotify (a stat and a read of a small file every few seconds is cheap and works on every
file system, network mounts and container bind mounts included), or retry a failed ops message
(the log always has the problem).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError, ConfigProblem, parse_config
from bot.slack.blocks import escape_mrkdwn

log = logging.getLogger(__name__)

# How often the worker looks at feeds.yaml. An edit is applied after it has been seen unchanged
# twice, so within two to three checks: well inside the promised minute.
RELOAD_SECONDS = 3.0
# At most this many problems are listed in the ops message (the log has every one).
OPS_PROBLEMS = 10


# Settings a running worker picks up, by their feeds.yaml name. Everything the alert policy,
# routing, quiet hours, the digest, the opportunity scorer, the profile and the Slack app read
# is looked up in the current Config each time, so replacing the Config applies these.
_LIVE: tuple[tuple[str, Callable[[Config], object]], ...] = (
    ("watch.terms", lambda c: c.watch_terms),
    ("watch.exclude", lambda c: c.exclude_terms),
    ("slack.channel", lambda c: c.slack_channel),
    ("slack.timezone", lambda c: c.slack.timezone),
    ("slack.routes", lambda c: c.slack.routes),
    ("slack.quiet_hours", lambda c: c.slack.quiet_hours),
    ("slack.digest", lambda c: c.slack.digest),
    ("slack.messages_per_second", lambda c: c.slack.messages_per_second),
    ("slack.ops_channel", lambda c: c.slack.ops_channel),
    ("team", lambda c: c.team),
    ("feedback", lambda c: c.feedback),
    ("opportunities", lambda c: c.opportunities),
    ("profile", lambda c: c.profile),
    ("alerts", lambda c: c.alerts),
    ("store.retention", lambda c: c.retention),
    # The worker's address guard takes the new list in place (NetGuard.update): a host added
    # here is fetched at the next poll, a host removed is refused from the next request on.
    ("allow_private_hosts", lambda c: c.allow_private_hosts),
)


@dataclass(frozen=True, slots=True)
class ConfigChanges:
    """What an edit of feeds.yaml changes, from the running configuration to the new one."""

    added: tuple[str, ...] = ()  # source ids now enabled that were not
    removed: tuple[str, ...] = ()  # source ids no longer there or now disabled
    changed: tuple[str, ...] = ()  # enabled in both, with a different url/interval/options/...
    settings: tuple[str, ...] = ()  # feeds.yaml keys applied live ("watch.terms", "slack.digest")
    restart: tuple[str, ...] = ()  # feeds.yaml keys that only a restart applies

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.settings or self.restart)

    @property
    def watch_terms_changed(self) -> bool:
        return "watch.terms" in self.settings

    def summary(self) -> str:
        """One line: "+1 source (nu), -0, 1 changed (nos), watch terms changed"."""

        def ids(items: Sequence[str]) -> str:
            return f" ({', '.join(items)})" if items else ""

        plural = "" if len(self.added) == 1 else "s"
        parts = [
            f"+{len(self.added)} source{plural}{ids(self.added)}",
            f"-{len(self.removed)}{ids(self.removed)}",
            f"{len(self.changed)} changed{ids(self.changed)}",
        ]
        parts += [
            f"{'watch terms' if key == 'watch.terms' else key} changed" for key in self.settings
        ]
        if self.restart:
            parts.append(f"needs a restart: {', '.join(self.restart)}")
        return ", ".join(parts)


def diff_configs(old: Config, new: Config) -> ConfigChanges:
    """The changes from `old` to `new` (both valid, loaded configurations)."""
    before = {s.id: s for s in old.enabled_sources}
    after = {s.id: s for s in new.enabled_sources}
    restart = [
        f"detection.{f.name}"
        for f in fields(old.detection)
        if getattr(old.detection, f.name) != getattr(new.detection, f.name)
    ]
    return ConfigChanges(
        added=tuple(sid for sid in after if sid not in before),
        removed=tuple(sid for sid in before if sid not in after),
        changed=tuple(sid for sid in after if sid in before and before[sid] != after[sid]),
        settings=tuple(key for key, value in _LIVE if value(old) != value(new)),
        restart=tuple(restart),
    )


# -- telling the team ------------------------------------------------------------------------


def broken_text(problems: Sequence[ConfigProblem | str], path: str) -> str:
    """The ops message for a broken edit (Slack mrkdwn)."""
    lines = [escape_mrkdwn(str(p)) for p in problems[:OPS_PROBLEMS]]
    more = len(problems) - len(lines)
    if more > 0:
        lines.append(f"… and {more} more (see the log)")
    count = len(problems)
    body = "\n".join(lines)
    return (
        f":warning: *{escape_mrkdwn(Path(path).name)} was edited but not applied* — "
        f"{count} problem{'s' if count != 1 else ''}:\n```{body}```\n"
        "Inhaker keeps running the last good configuration. Fix the file and save it again "
        "(`inhaker check` shows the same lines)."
    )


def valid_again_text(path: str, changes: ConfigChanges | None) -> str:
    what = f" Applied: {escape_mrkdwn(changes.summary())}." if changes and not changes.empty else ""
    return f":white_check_mark: {escape_mrkdwn(Path(path).name)} is valid again.{what}"


def tell_ops(notifier: object, channel: str | None, text: str) -> bool:
    """Post `text` to the ops channel through the worker's Slack client; False when there is
    no ops channel, no Slack (the console notifier: the log has it) or Slack refused it."""
    client: Any = getattr(notifier, "client", None)
    if not channel or client is None or not hasattr(client, "chat_postMessage"):
        return False
    try:
        client.chat_postMessage(channel=channel, text=text, unfurl_links=False, unfurl_media=False)
    except Exception as exc:  # a Slack or network failure: the log already has the problem
        log.warning("slack: could not tell the ops channel %s: %s", channel, exc)
        return False
    return True


# -- watching the file -----------------------------------------------------------------------


class ApplyError(Exception):
    """A valid feeds.yaml that could not be applied (e.g. unusable opportunity training data);
    the message says what and what to do. The last good configuration keeps running."""


Apply = Callable[[Config], ConfigChanges]
Report = Callable[[str], None]


class ConfigWatcher:
    """Notices edits of one feeds.yaml and hands valid ones to `apply` (see the module doc)."""

    def __init__(self, path: str, *, report: Report | None = None) -> None:
        self.path = path
        # Posts a note to the ops channel (the runner's `tell_ops` with its current config).
        self.report = report
        self._handled: str | None = None  # hash of the content last applied or reported
        self._candidate: str | None = None  # a new content seen once, waiting to settle
        self._broken = False  # the content last handled was broken

    @property
    def broken(self) -> bool:
        return self._broken

    def _read(self) -> tuple[str, str | None, list[ConfigProblem]]:
        """(content hash, text or None, problems reading it)."""
        try:
            data = Path(self.path).read_bytes()
        except FileNotFoundError:
            problem = ConfigProblem(
                self.path, 1, "", "file not found — put feeds.yaml back (or restore it)"
            )
            return "missing", None, [problem]
        except OSError as exc:
            problem = ConfigProblem(self.path, 1, "", f"cannot read: {exc} — check the file")
            return f"unreadable:{exc.errno}", None, [problem]
        digest = hashlib.sha256(data).hexdigest()
        try:
            return digest, data.decode("utf-8"), []
        except UnicodeDecodeError as exc:
            problem = ConfigProblem(
                self.path, 1, "", f"cannot read: {exc} — save the file as UTF-8"
            )
            return digest, None, [problem]

    def check(self, apply: Apply) -> ConfigChanges | None:
        """Look at the file once; apply or report a new, settled content. Returns the changes
        applied, or None when nothing was applied."""
        digest, text, problems = self._read()
        if digest == self._handled:
            self._candidate = None
            return None
        if digest != self._candidate:
            # New content: wait one check, so a file still being written is not read half-way.
            self._candidate = digest
            return None
        first = self._handled is None
        self._handled, self._candidate = digest, None
        changes: ConfigChanges | None = None
        if text is not None:
            try:
                changes = apply(parse_config(text, file=self.path))
            except ConfigError as exc:
                problems = list(exc.problems)
            except ApplyError as exc:
                problems = [ConfigProblem(self.path, 1, "", str(exc))]
            except Exception as exc:  # a bug: the worker must keep its last good configuration
                log.exception("feeds.yaml reload failed")
                problems = [
                    ConfigProblem(
                        self.path,
                        1,
                        "",
                        f"could not be applied: internal error ({exc.__class__.__name__}) — "
                        "the log has the details; restart Inhaker to load it",
                    )
                ]
        if problems:
            self._on_broken(problems)
            return None
        assert changes is not None
        if self._broken:
            self._broken = False
            log.info("%s is valid again and applied", self.path)
            self._tell(valid_again_text(self.path, changes))
        elif changes.empty and not first:
            log.info("%s changed; nothing to apply (comments or formatting only)", self.path)
        return changes

    def _on_broken(self, problems: Sequence[ConfigProblem]) -> None:
        self._broken = True
        for problem in problems:
            log.error(
                "feeds.yaml edit not applied (the last good configuration keeps running): %s",
                problem,
            )
        self._tell(broken_text(problems, self.path))

    def _tell(self, text: str) -> None:
        if self.report is not None:
            self.report(text)


class LiveConfig:
    """The feeds.yaml `inhaker serve` answers from, re-read while it runs (see the module doc).

    Call it for the configuration in use; `start()` begins the checks, `stop()` ends them.
    """

    def __init__(self, config: Config, *, every: float = RELOAD_SECONDS) -> None:
        self._config = config
        self.every = every
        self.watcher = ConfigWatcher(config.path)  # no report: the worker tells the ops channel
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self) -> Config:
        return self._config

    def apply(self, new: Config) -> ConfigChanges:
        changes = diff_configs(self._config, new)
        # One reference swap: a request in flight keeps the Config it started with.
        self._config = new
        if not changes.empty:
            log.info("feeds.yaml reloaded: %s", changes.summary())
        return changes

    def check(self) -> ConfigChanges | None:
        return self.watcher.check(self.apply)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.every):
                try:
                    self.check()
                except Exception:  # a bug here must not end the checks, nor the server
                    log.exception("feeds.yaml check failed")

        self._thread = threading.Thread(target=loop, name="feeds-yaml-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every + 5)
