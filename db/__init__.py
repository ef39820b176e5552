"""Persistent state: SQLAlchemy models, sessions and migrations."""
