"""Opportunity verdicts for a batch of posts: the learned model plus extraction.

What it does: scores every post with `OpportunityModel` (detectors/opportunity_model.py) in one
batch, with the rules of v1 as a second opinion (RULES_SECOND_OPINION), and for each post at or
above the threshold fills in its category, deadline (resolved against the post's own time; a
deadline already passed makes it no opportunity), who asks, how to respond and its topic, with
the reasons behind the score. `inhaker run`, `replay` and `classify` all call `classify_posts`,
so they give the same verdict for the same post.

What it does not do: train the model (bot/opportunity_data.py), judge fit with the team
(detectors/relevance.py) or decide whether to alert (bot/alerts.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from detectors.opportunities import (
    combine_title,
    extract_asker,
    find_deadline,
    score_opportunity,
)
from detectors.opportunity_extract import extract_response, extract_topic
from detectors.opportunity_model import OpportunityModel
from detectors.records import OpportunityVerdict

__all__ = ["RULES_SECOND_OPINION", "Candidate", "classify_posts"]

# The rules of opportunity scorer v1 as a second opinion on posts that name an outlet's audience
# ("voor Emerce-lezers", "for our readers", "in ons magazine"): one they are sure of (score >=
# 0.8, about 4.4 points of cues) is a call even when the model hesitates. It catches the
# founding example, "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers?",
# whose words the data's hard negatives share (a promotion "Is jouw werkplek een must see?"), so
# the model alone scores it below 0.01. The audience check is cheap; the rules (about 0.2 ms a
# post) run only behind it. bench/opportunity_bench.py shows the model alone and with it.
RULES_SECOND_OPINION = 0.8


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the classifier reads of one post."""

    text: str
    posted_at: datetime  # aware; anchors "vóór vrijdag" and "binnen twee weken"
    title: str | None = None
    author: str | None = None
    source_label: str | None = None  # the asker of last resort (a feed's name)


def classify_posts(
    model: OpportunityModel,
    candidates: Sequence[Candidate],
    *,
    threshold: float,
    second_opinion: bool = True,
) -> list[OpportunityVerdict]:
    """One verdict per candidate, in order; `threshold` is the score that makes an opportunity.

    `second_opinion` lets the rules of v1 overrule a hesitant model (RULES_SECOND_OPINION).
    """
    texts = [combine_title(c.text, c.title) for c in candidates]
    times = [c.posted_at.astimezone(UTC) for c in candidates]
    judgements = model.judge(texts, times, explain_above=threshold)
    verdicts: list[OpportunityVerdict] = []
    for candidate, text, posted, judged in zip(candidates, texts, times, judgements, strict=True):
        score = judged.score
        reasons = list(judged.reasons)
        category = judged.category
        if second_opinion and score < threshold and judged.names_audience:
            rules = score_opportunity(text, posted_at=posted)
            if rules.score >= RULES_SECOND_OPINION:
                score = rules.score
                category = rules.category or category
                reasons = [f"rules: {reason}" for reason in rules.reasons]
        if score < threshold:
            verdicts.append(OpportunityVerdict(False, score, reasons=tuple(reasons)))
            continue
        deadline = find_deadline(text, posted)
        if deadline is not None and deadline[0] < posted.date():
            # A call whose stated deadline is over: shared again, or a report about it.
            reasons.append(f"against: deadline passed '{deadline[1]}'")
            verdicts.append(OpportunityVerdict(False, score, reasons=tuple(reasons)))
            continue
        if deadline is not None:
            reasons.append(f"deadline '{deadline[1]}'")
        response = extract_response(text)
        topic = extract_topic(text) or " · ".join(model.keywords(text)) or None
        verdicts.append(
            OpportunityVerdict(
                True,
                score,
                category=category or None,
                deadline=deadline[0].isoformat() if deadline else None,
                asker=extract_asker(
                    text, author=candidate.author, source_label=candidate.source_label
                ),
                reasons=tuple(reasons),
                response=response.kind if response else None,
                response_value=response.value if response else None,
                topic=topic,
            )
        )
    return verdicts
