"""The review web app (FastAPI, server-rendered): ``app`` builds it from ``pages``, ``api`` and ``auth``."""

from .app import create_app, highlight

__all__ = ["create_app", "highlight"]
