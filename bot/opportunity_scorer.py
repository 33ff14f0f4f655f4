"""The opportunity scorer `run`, `replay`, `demo` and `classify` share, chosen by feeds.yaml.

What it does: builds, from `opportunities:` in feeds.yaml, either the learned classifier
(`scorer: model`, the default: trained once per process from the labelled posts, see
bot/opportunity_data.py) or opportunity scorer v1 (`scorer: rules`, hand-weighted cues, kept to
compare against), and gives one `OpportunityVerdict` per post for a batch of posts.

What it does not do: decide whether a verdict becomes an alert (bot/alerts.py) or judge fit with
the team (detectors/relevance.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.config import OpportunitiesConfig
from bot.opportunity_data import trained_model
from detectors.opportunities import score_opportunity
from detectors.opportunity_classifier import Candidate, classify_posts
from detectors.opportunity_model import OpportunityModel
from detectors.records import OpportunityVerdict, Post


class OpportunityScorer:
    """Verdicts for posts; raises bot.opportunity_data.DatasetError when the data is unusable."""

    def __init__(self, settings: OpportunitiesConfig) -> None:
        self.settings = settings
        self.model: OpportunityModel | None = None
        if settings.scorer == "model":
            folder = Path(settings.training_data) if settings.training_data else None
            self.model = trained_model(folder)

    def verdicts(
        self, posts: Sequence[Post], source_labels: Mapping[str, str] | None = None
    ) -> list[OpportunityVerdict]:
        labels = source_labels or {}
        if self.model is None:
            return [
                score_opportunity(
                    post.text,
                    title=post.title,
                    author=post.author,
                    source_label=labels.get(post.source, post.source),
                    posted_at=post.created_at,
                )
                for post in posts
            ]
        candidates = [
            Candidate(
                text=post.text,
                posted_at=post.created_at,
                title=post.title,
                author=post.author,
                source_label=labels.get(post.source, post.source),
            )
            for post in posts
        ]
        return classify_posts(self.model, candidates, threshold=self.settings.min_score)
