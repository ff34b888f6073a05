"""Running the web app under uvicorn: in one process or in several workers, with API keys masked in the access log.

With ``workers > 1`` (``workers.serve_workers``: a listening socket each) every worker
starts from an import string, so what a worker needs travels in environment variables: the database URL
(``MODERATION_DB``), the session secret (``MODERATION_SECRET``, made up once
here when unset, so that a session cookie is good in every worker), the model
directory, ``api_only`` and whether a legacy pickled model is trusted (``SERVE_MODEL``,
``SERVE_API_ONLY``, ``SERVE_TRUST_PICKLE``).
``app_from_environment`` is the factory each worker calls.
"""

from __future__ import annotations

import copy
import gc
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import unquote_plus

__all__ = ["run", "app_from_environment", "log_config", "mask_query", "MaskKeys", "SERVE_MODEL", "SERVE_API_ONLY",
           "SERVE_TRUST_PICKLE"]

SERVE_MODEL = "MODERATION_SERVE_MODEL"  # model directory; empty: the shipped model; "-": none
SERVE_API_ONLY = "MODERATION_SERVE_API_ONLY"
SERVE_TRUST_PICKLE = "MODERATION_SERVE_TRUST_PICKLE"
SECRET_PARAMETERS = {"key", "access_token", "oauth_token"}


def mask_query(target: str) -> str:
    """``/path?key=SECRET&alt=json`` → ``/path?key=***&alt=json`` (also ``access_token``, ``oauth_token``)."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    pairs = []
    for pair in query.split("&"):
        name, has_value, _ = pair.partition("=")
        pairs.append(f"{name}=***" if has_value and unquote_plus(name).lower() in SECRET_PARAMETERS else pair)
    return f"{path}?{'&'.join(pairs)}"


class MaskKeys(logging.Filter):
    """For uvicorn's access log: the request target's secret query parameters become ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_query(args[2]), *args[3:])
        return True


def log_config() -> dict:
    """uvicorn's logging configuration with ``MaskKeys`` on the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["mask_keys"] = {"()": f"{__name__}.MaskKeys"}
    config["loggers"]["uvicorn.access"]["filters"] = ["mask_keys"]
    return config


def app_from_environment():
    """The app as ``run`` configured it through the environment (what each uvicorn worker builds)."""
    from ...persist import load_model
    from .app import create_app

    model_dir = os.environ.get(SERVE_MODEL, "")
    model = None if model_dir == "-" else load_model(model_dir or None,
                                                     trust_pickle=os.environ.get(SERVE_TRUST_PICKLE) == "1")
    return create_app(os.environ.get("MODERATION_DB"), model=model, secret=os.environ.get("MODERATION_SECRET"),
                      api_only=os.environ.get(SERVE_API_ONLY) == "1")


def run(db_url: str, model, model_dir: Path | None, *, host: str, port: int, workers: int = 1,
        api_only: bool = False, trusted: str | None = None, trust_pickle: bool = False) -> None:
    """Serve the app on ``host:port`` until interrupted.

    ``model`` is the loaded model (or None); with several ``workers`` (at least 1) each loads
    ``model_dir`` itself (the shipped model when None) and ``model`` is dropped here. ``trusted``:
    the proxies whose forwarding headers count (``proxy.trusted_proxies``). ``trust_pickle``: each
    worker may load a legacy pickled model (``load_model``). The app reads those
    headers itself (``web.proxy``), so uvicorn's own handling of them is off.
    """
    import uvicorn

    from .app import create_app
    from ...errors import RunError
    from .workers import listening_socket, serve_on, serve_workers

    if trusted is not None:
        os.environ["FORWARDED_ALLOW_IPS"] = trusted  # what proxy.trusted_proxies reads in every worker
    if workers == 1:
        sock = listening_socket(host, port, share=False)
        app = create_app(db_url, model=model, api_only=api_only, trusted=trusted)
        if not serve_on(uvicorn.Config(app, log_config=log_config(), proxy_headers=False), sock):
            raise RunError("the server failed to start (its error is logged above)")
        return
    os.environ["MODERATION_DB"] = db_url
    os.environ.setdefault("MODERATION_SECRET", secrets.token_hex(32))
    os.environ[SERVE_MODEL] = "-" if model is None else str(model_dir or "")
    os.environ[SERVE_API_ONLY] = "1" if api_only else "0"
    os.environ[SERVE_TRUST_PICKLE] = "1" if trust_pickle else "0"
    del model  # loaded to check it before any worker starts; each worker loads its own
    gc.collect()
    serve_workers(host, port, workers, {"app": f"{__name__}:app_from_environment", "factory": True,
                                        "log_config": log_config(), "proxy_headers": False})
