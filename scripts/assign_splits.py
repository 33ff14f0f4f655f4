"""Give every labelled opportunity post its split, deterministically, in place.

What it does: for each `data/opportunities/*.jsonl` file (or the files named), sets the field
`split` of every line to "test" when the CRC-32 of its id is divisible by 5 (about one post in
five) and to "train" otherwise, and writes the file back with its lines in the same order. The
rule depends on the id alone, so adding posts never moves an old post between splits.

What it does not do: check the labels (bot/opportunity_data.py does when it loads them).

Run: python scripts/assign_splits.py [FILE.jsonl ...]
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "opportunities"


def split_of(post_id: str) -> str:
    return "test" if zlib.crc32(post_id.encode("utf-8")) % 5 == 0 else "train"


def assign(path: Path) -> tuple[int, int]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    for row in rows:
        row["split"] = split_of(str(row["id"]))
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    tests = sum(1 for row in rows if row["split"] == "test")
    return len(rows) - tests, tests


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or sorted(DATA.glob("*.jsonl"))
    for path in files:
        train, test = assign(path)
        print(f"{path}: {train} train, {test} test")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
