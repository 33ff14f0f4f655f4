"""Alembic migrations of the store's schema (bot/store.py), shipped in the package.

bot/migrate.py runs them, configured in code: no alembic.ini. versions/0001 is the schema of the
last release without migrations; each later revision upgrades a store in place, keeping its rows.
"""
