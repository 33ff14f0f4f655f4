"""Saving and loading the trend detector's state in the store, so a restart loses nothing.

What it does: turns `StoryDetector.state()` (numpy arrays plus plain data) into bytes (a
compressed .npz) and JSON for `Store.save_checkpoint`, and back. A checkpoint made with other
table sizes or bucket lengths (someone edited `detection:`) is refused with a log line, and the
engine warms up from stored posts instead.

What it does not do: decide when to save (bot/scheduler.py saves every few minutes and on stop,
`run --once` at the end of its cycle) or checkpoint detector v1 (it rebuilds from stored posts).
"""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import numpy as np

from bot.store import Store
from detectors.stories import StoryDetector

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "trends"
DETECTOR_KIND = "signitrend"


def save(detector: StoryDetector, store: Store, now: datetime) -> int:
    """Write the detector's state; returns the size of the tables in bytes."""
    arrays, plain = detector.state()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    store.save_checkpoint(
        CHECKPOINT_NAME, DETECTOR_KIND, data, json.dumps(plain, ensure_ascii=False), now
    )
    return len(data)


def load(detector: StoryDetector, store: Store) -> datetime | None:
    """Restore the detector from the store; returns when the checkpoint was saved, or None
    when there is none or it does not fit the current settings."""
    found = store.load_checkpoint(CHECKPOINT_NAME)
    if found is None or found.detector != DETECTOR_KIND:
        return None
    try:
        with np.load(io.BytesIO(found.arrays), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        detector.load_state(arrays, json.loads(found.plain))
    except (ValueError, KeyError, OSError) as exc:
        log.warning(
            "trend detector checkpoint from %s not used: %s; warming up from stored posts",
            found.saved_at.isoformat(),
            exc,
        )
        return None
    return found.saved_at
