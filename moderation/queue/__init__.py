"""The moderators' review queue: a database of flagged comments, a web page to review them, an export to retrain on.

``moderation.queue.store`` is the database layer (SQLAlchemy; SQLite by default,
PostgreSQL by URL), ``moderation.queue.web`` the FastAPI app, ``moderation.queue.cli``
the ``moderation queue``/``users``/``serve`` commands. Nothing here is imported by
``moderation`` itself, so the base install works without the ``queue`` extra.
"""
