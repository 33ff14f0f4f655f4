"""Alembic revisions, one file each, applied in order by bot/migrate.py."""
