"""Persistent state: SQLAlchemy models, sessions, migrations, and every query (`episodes`, `pushes`, `summary`)."""
