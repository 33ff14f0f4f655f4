"""Alembic's entry point: runs migrations on the connection bot/migrate.py hands over.

What it does: configures Alembic with the store's metadata on an open connection (in its
transaction), batch mode on SQLite (which cannot ALTER most columns, so a table is copied), and
type comparison on, so `compare_metadata` sees a String(n) that should be Text.

What it does not do: open connections of its own or run offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context

from bot.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("bot/migrations: run through bot.migrate (it passes the connection)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
