"""The labelled opportunity posts on disk, and the classifier trained from them once per process.

What it does: reads every `*.jsonl` file of a dataset folder (by default `data/opportunities/`
of the checkout; `opportunities.training_data` in feeds.yaml names another), checks each line
(a broken line is an error naming file, line and field, never skipped silently), turns lines into
`LabelledPost` records and trains `OpportunityModel` on the train split, caching the result per
folder and file contents, so `run`, `replay` and `classify` pay for training (a few seconds)
once; the trained model is also kept in a cache folder (`INHAKER_CACHE_DIR`, else
`$XDG_CACHE_HOME/inhaker`, else `~/.cache/inhaker`) under a name made of the data's and the
classifier code's fingerprints and the scikit-learn version, so a new process reuses it and any
change to data or code trains afresh. The format of a line is described in
data/opportunities/DATASHEET.md.

What it does not do: decide anything about posts (detectors/opportunity_model.py), or download
data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sklearn

from detectors import opportunities, opportunity_model
from detectors.opportunity_model import CATEGORIES, LabelledPost, OpportunityModel

log = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data" / "opportunities"
SPLITS = ("train", "test")


class DatasetError(Exception):
    """The dataset is missing or a line of it is malformed; the message says where and what."""


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """One labelled post with its ground truth for extraction (used by bench/ and tests)."""

    id: str
    post: LabelledPost
    split: str
    lang: str
    variant: str
    platform: str
    author: str | None
    negative_kind: str | None
    deadline: str | None
    deadline_text: str | None
    asker: str | None
    response: str | None
    response_value: str | None
    topic: str | None


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise DatasetError(f"{where}: posted_at: must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DatasetError(f"{where}: posted_at: not an ISO 8601 time ({value!r})") from exc
    if parsed.tzinfo is None:
        raise DatasetError(f"{where}: posted_at: needs a time zone, e.g. 'Z' ({value!r})")
    return parsed.astimezone(UTC)


def _row(raw: Any, where: str) -> DatasetRow:
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    for key in ("id", "text", "label", "posted_at", "lang", "split"):
        if key not in raw:
            raise DatasetError(f"{where}: missing field '{key}'")
    if not isinstance(raw["text"], str) or not raw["text"].strip():
        raise DatasetError(f"{where}: text: must be a non-empty string")
    if not isinstance(raw["label"], bool):
        raise DatasetError(f"{where}: label: must be true or false")
    if raw["split"] not in SPLITS:
        raise DatasetError(f"{where}: split: must be one of {', '.join(SPLITS)}")
    category = raw.get("category")
    if raw["label"] and category not in CATEGORIES:
        raise DatasetError(f"{where}: category: a positive needs one of {', '.join(CATEGORIES)}")
    posted_at = _parse_time(raw["posted_at"], where)
    return DatasetRow(
        id=str(raw["id"]),
        post=LabelledPost(
            text=raw["text"],
            label=raw["label"],
            posted_at=posted_at,
            category=category if raw["label"] else None,
            lang=raw["lang"],
        ),
        split=raw["split"],
        lang=str(raw["lang"]),
        variant=str(raw.get("variant") or raw["lang"]),
        platform=str(raw.get("platform") or ""),
        author=raw.get("author"),
        negative_kind=raw.get("negative_kind"),
        deadline=raw.get("deadline"),
        deadline_text=raw.get("deadline_text"),
        asker=raw.get("asker"),
        response=raw.get("response"),
        response_value=raw.get("response_value"),
        topic=raw.get("topic"),
    )


def load_dataset(folder: Path = DEFAULT_DATA) -> list[DatasetRow]:
    """Every row of every `*.jsonl` file in `folder`, in file then line order."""
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if not files:
        raise DatasetError(
            f"opportunity training data: no *.jsonl files in {folder} — run Inhaker from a "
            "checkout of the repository, or point opportunities.training_data in feeds.yaml "
            "at a folder of labelled posts"
        )
    rows: list[DatasetRow] = []
    seen: set[str] = set()
    for path in files:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from exc
            row = _row(raw, where)
            if row.id in seen:
                raise DatasetError(f"{where}: id: '{row.id}' appears twice")
            seen.add(row.id)
            rows.append(row)
    return rows


_lock = threading.Lock()
_models: dict[str, tuple[str, OpportunityModel]] = {}


def _fingerprint(folder: Path) -> str:
    """Of the data and of the code that turns it into a model (a change to either retrains)."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for module in (opportunity_model, opportunities):
        if module.__file__:
            digest.update(Path(module.__file__).read_bytes())
    digest.update(sklearn.__version__.encode())
    return digest.hexdigest()


def cache_dir() -> Path:
    explicit = os.environ.get("INHAKER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "inhaker"


def _cached(path: Path) -> OpportunityModel | None:
    try:
        with path.open("rb") as handle:
            model = pickle.load(handle)  # our own file, written below
    except FileNotFoundError:
        return None
    except Exception as exc:  # a torn or foreign file: train afresh, never fail on it
        log.warning("opportunity model cache %s unreadable (%s); training afresh", path, exc)
        return None
    return model if isinstance(model, OpportunityModel) else None


def _store(path: Path, model: OpportunityModel) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)  # atomic: a reader sees the old file or the whole new one
    except OSError as exc:
        log.info("opportunity model not cached (%s): it is trained again next start", exc)


def trained_model(folder: Path | None = None) -> OpportunityModel:
    """The classifier trained on the `train` split of the dataset in `folder`, once per process.

    The test split stays unseen, so that bench/opportunity_bench.py measures honestly what `run`
    uses. A model cached for the same data and code is loaded instead of trained; the data is
    then not parsed again (it was valid when that model was trained from it).
    """
    where = folder or DEFAULT_DATA
    with _lock:
        key = str(where.resolve())
        fingerprint = _fingerprint(where) if where.is_dir() else ""
        cached = _models.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        file = cache_dir() / f"opportunity-model-train-{fingerprint}.pickle"
        model = _cached(file) if fingerprint else None
        if model is None:
            chosen = [r.post for r in load_dataset(where) if r.split == "train"]
            try:
                model = OpportunityModel.train(chosen)
            except ValueError as exc:
                raise DatasetError(f"opportunity training data in {where}: {exc}") from exc
            _store(file, model)
        _models[key] = (fingerprint, model)
        return model
