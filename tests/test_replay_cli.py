"""`inhaker demo`, `replay` and `classify` in a subprocess, checked against the contract."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def inhaker(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_demo_shows_a_trend_alert_and_an_opportunity_alert(tmp_path: Path) -> None:
    result = inhaker("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "📈 TREND  #twelftal  [emerging]   (2014-06-13 19:" in out
    assert "🎯 OPEN CALL  Emerce" in out
    assert "deadline 2014-06-20" in out
    assert "zomerdeal" not in out.split("📈 TREND")[0]  # spam never leads an alert
    assert "INFO" not in result.stderr  # one-shot commands keep the terminal clean
    assert not (tmp_path / "inhaker.db").exists()  # offline, nothing written


def write_stream(path: Path, posts: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    return path


def match_stream() -> list[dict[str, object]]:
    """Two quiet hours of varied chatter, then #twelftal from many fans, and an open call."""
    start = datetime(2014, 6, 13, 17, 0, tzinfo=UTC)
    posts: list[dict[str, object]] = []
    words = ["fiets", "regen", "lunch", "trein", "koffie", "tuin", "boek", "film", "markt"]
    for minute in range(0, 120, 2):
        posts.append(
            {
                "id": f"bg-{minute}",
                "text": f"Vandaag {words[minute % len(words)]} en {words[(minute // 3) % 9]}",
                "created_at": (start + timedelta(minutes=minute)).isoformat(),
                "author": f"u{minute % 17}",
                "source": "x",
            }
        )
    posts.append(
        {
            "id": "t-emerce",
            "text": "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers? "
            "Stuur ons een mail vóór 20 juni!",
            "created_at": (start + timedelta(minutes=121)).isoformat(),
            "author": "Emerce",
            "source": "x",
        }
    )
    for k in range(30):
        posts.append(
            {
                "id": f"t-{k}",
                "text": f"Daar gaan we! #Twelftal {k}",
                "created_at": (start + timedelta(minutes=122 + k)).isoformat(),
                "author": f"fan{k}",
                "source": "x",
            }
        )
    return sorted(posts, key=lambda p: str(p["created_at"]))


def test_replay_writes_contract_alerts(tmp_path: Path) -> None:
    stream = write_stream(tmp_path / "day.jsonl", match_stream())
    out = tmp_path / "alerts.jsonl"
    result = inhaker("replay", str(stream), "--alerts-out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "replayed 91 posts" in result.stderr
    alerts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    trends = [a for a in alerts if a["kind"] == "trend"]
    opportunities = [a for a in alerts if a["kind"] == "opportunity"]
    assert len(trends) == 1  # updates of the same topic are not new alerts
    trend = trends[0]
    assert set(trend) == {"kind", "id", "title", "terms", "alerted_at", "evidence", "score"}
    assert trend["title"] == "#twelftal"
    assert trend["terms"][0] == "twelftal"
    assert trend["alerted_at"].startswith("2014-06-13T19:")
    assert all(e.startswith("t-") for e in trend["evidence"])
    assert len(trend["evidence"]) <= 100
    assert trend["score"] > 0
    (call,) = opportunities
    assert set(call) == {"kind", "id", "post_id", "alerted_at", "score", "deadline", "asker"}
    assert call["post_id"] == "t-emerce"
    assert call["asker"] == "Emerce"
    assert call["deadline"] == "2014-06-20"
    # Same input, same output: replay is deterministic.
    again = tmp_path / "again.jsonl"
    inhaker("replay", str(stream), "--alerts-out", str(again), cwd=tmp_path)
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_replay_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    stream = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "a", "text": "hallo", "created_at": "2014-06-13T10:00:00Z"})
    stream.write_text(
        f'{good}\nnot json\n{{"id": "b", "text": "x"}}\n'
        '{"id": "c", "text": "x", "created_at": "gisteren"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "alerts.jsonl"
    result = inhaker("replay", str(stream), "--alerts-out", str(out), cwd=tmp_path)
    assert result.returncode == 1
    assert "replayed 1 posts" in result.stderr
    assert "bad.jsonl:2: not valid JSON" in result.stderr
    assert "bad.jsonl:3: created_at is required" in result.stderr
    assert "bad.jsonl:4: created_at must be ISO 8601" in result.stderr


def test_classify_prints_one_verdict_per_post(tmp_path: Path) -> None:
    posts = [
        {
            "id": "t-7",
            "text": "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers? "
            "Stuur ons een mail vóór 20 juni!",
            "created_at": "2014-06-12T14:01:00Z",
            "author": "Emerce",
        },
        {
            "id": "t-8",
            "text": "Wij zoeken een online marketeer! Solliciteer via onze site.",
            "created_at": "2014-06-12T14:02:00Z",
        },
        {"id": "t-9", "text": "Lekker weer vandaag", "created_at": "2014-06-12T14:03:00Z"},
    ]
    stream = write_stream(tmp_path / "posts.jsonl", posts)
    result = inhaker("classify", str(stream), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [v["id"] for v in verdicts] == ["t-7", "t-8", "t-9"]
    assert all(set(v) == {"id", "opportunity", "score", "deadline", "asker"} for v in verdicts)
    emerce, vacancy, weather = verdicts
    assert emerce["opportunity"] is True
    assert emerce["asker"] == "Emerce"
    assert emerce["deadline"] == "2014-06-20"
    assert vacancy["opportunity"] is False
    assert weather["opportunity"] is False
    assert weather["score"] < emerce["score"]


def test_missing_stream_file_is_a_clear_error(tmp_path: Path) -> None:
    result = inhaker("classify", "nope.jsonl", cwd=tmp_path)
    assert result.returncode == 1
    assert "nope.jsonl: cannot read the stream file" in result.stderr
