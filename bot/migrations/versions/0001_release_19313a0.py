"""The schema of the last release without migrations (git 19313a0), written out in full.

A store made by that release has these tables and no `alembic_version`: bot/migrate.py stamps it
0001 and upgrades it from here. Written out, not taken from bot/store.py, because today's
metadata moves on and this revision must stay what that release created.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(512), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("author", sa.String(256)),
        sa.Column("lang", sa.String(16)),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("reach", sa.Float),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
        sa.Column("backlog", sa.Boolean, nullable=False),
        sa.Column("opportunity_checked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_posts_created_at", "posts", ["created_at"])
    op.create_index("ix_posts_seen_at", "posts", ["seen_at"])

    op.create_table(
        "source_state",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("cursor", sa.Text),
        sa.Column("next_due", sa.DateTime),
        sa.Column("retry_after_until", sa.DateTime),
        sa.Column("last_polled_at", sa.DateTime),
        sa.Column("last_success_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime),
        sa.Column("failures_in_a_row", sa.Integer, nullable=False),
        sa.Column("polls", sa.Integer, nullable=False),
        sa.Column("items_last_poll", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_fired_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("slack_channel", sa.String(128)),
        sa.Column("slack_ts", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("needs_update", sa.Boolean, nullable=False),
        sa.Column("last_count", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_alerts_key", "alerts", ["key"])
    op.create_index("ix_alerts_status", "alerts", ["status"])

    op.create_table(
        "current_trends",
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )

    op.create_table(
        "external_trends",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("term", sa.String(256), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
        sa.Column("observed_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
        sa.Column("traffic", sa.Float),
        sa.Column("url", sa.Text),
        sa.Column("news", sa.Text, nullable=False),
    )
    op.create_index("ix_external_trends_last_seen_at", "external_trends", ["last_seen_at"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(256), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_feedback_alert_id", "feedback", ["alert_id"])

    op.create_table(
        "slack_watch_terms",
        sa.Column("term", sa.String(256), primary_key=True),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )

    op.create_table(
        "mutes",
        sa.Column("term", sa.String(256), primary_key=True),
        sa.Column("until", sa.DateTime, nullable=False),
        sa.Column("muted_by", sa.String(64), nullable=False),
        sa.Column("muted_at", sa.DateTime, nullable=False),
        sa.Column("alert_id", sa.String(256)),
    )
    op.create_index("ix_mutes_until", "mutes", ["until"])

    op.create_table(
        "handled_requests",
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_handled_requests_at", "handled_requests", ["at"])

    op.create_table(
        "replies",
        sa.Column("id", sa.String(320), primary_key=True),
        sa.Column("alert_id", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(64)),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("slack_ts", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_replies_alert_id", "replies", ["alert_id"])
    op.create_index("ix_replies_due_at", "replies", ["due_at"])
    op.create_index("ix_replies_status", "replies", ["status"])

    op.create_table(
        "send_attempts",
        sa.Column("key", sa.String(340), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
    )

    op.create_table(
        "detector_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("detector", sa.String(32), nullable=False),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.Column("arrays", sa.LargeBinary, nullable=False),
        sa.Column("plain", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "detector_state",
        "send_attempts",
        "replies",
        "handled_requests",
        "mutes",
        "slack_watch_terms",
        "feedback",
        "external_trends",
        "current_trends",
        "alerts",
        "source_state",
        "posts",
    ):
        op.drop_table(table)
