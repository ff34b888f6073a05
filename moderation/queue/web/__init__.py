"""The review web app (FastAPI, server-rendered) and the Perspective API: ``app`` builds it from ``pages``, ``api``,
``auth``, ``perspective`` and ``limits``; ``server`` runs it under uvicorn."""

from .app import create_app, highlight

__all__ = ["create_app", "highlight"]
