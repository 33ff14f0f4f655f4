"""Text for every column whose values come from outside (feeds, Slack users, terms).

PostgreSQL enforces VARCHAR(n) where SQLite never did: a feed's 600-character guid, a long author
line, a watch term typed in Slack, or an alert id built from a long hashtag would fail the whole
write there. Ids we make ourselves or Slack makes (source ids, statuses, Slack user ids, ts) keep
their bounds. PostgreSQL changes the type in place (VARCHAR to TEXT rewrites nothing); SQLite
copies each table (batch mode), keeping its rows and indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> [(column, length before, nullable)]
WIDENED: dict[str, list[tuple[str, int, bool]]] = {
    "posts": [("id", 512, False), ("author", 256, True), ("lang", 16, True)],
    "alerts": [("id", 256, False), ("key", 256, False)],
    "current_trends": [("key", 256, False)],
    "external_trends": [("term", 256, False)],
    "feedback": [("alert_id", 256, False)],
    "slack_watch_terms": [("term", 256, False)],
    "mutes": [("term", 256, False), ("alert_id", 256, True)],
    "handled_requests": [("key", 256, False)],
    "replies": [("id", 320, False), ("alert_id", 256, False)],
    "send_attempts": [("key", 340, False)],
}


def upgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for name, length, nullable in columns:
                batch.alter_column(
                    name,
                    type_=sa.Text(),
                    existing_type=sa.String(length),
                    existing_nullable=nullable,
                )


def downgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for name, length, nullable in columns:
                batch.alter_column(
                    name,
                    type_=sa.String(length),
                    existing_type=sa.Text(),
                    existing_nullable=nullable,
                )
