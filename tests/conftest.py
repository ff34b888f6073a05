"""Shared fixtures and helpers: one small model trained on our own sample data, scored tables for the review
queue, hostile comments, the public corpora when present, Debian's Chromium driven by Playwright, and skips
that become failures in CI (where everything must be installed)."""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import moderation
from moderation.corpora import find_data_root

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
LABELLED = DATA / "sample_labelled.csv"
XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve_process(tmp_path: Path, model_dir: Path, port: int, *args: str) -> subprocess.Popen:
    """``moderation serve`` on ``port`` in a session of its own (``stop_process`` signals all of it), with a queue
    in ``tmp_path`` and no secret from the environment."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MODERATION_SECRET", None)
    return subprocess.Popen([sys.executable, "-m", "moderation", "serve", "--db", f"sqlite:///{tmp_path / 'q.db'}",
                             "--port", str(port), "--model", str(model_dir), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def stop_process(proc: subprocess.Popen) -> str:
    """Stop a ``serve_process`` as Ctrl-C would (killed if it takes 30 s); what it wrote."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return out.decode() + err.decode()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str):
    """Skip outside CI; in CI (CI=true) a missing prerequisite is a failure, not a skip."""
    if in_ci():
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def require_modules(*names: str) -> None:
    """At a test module's top: skip the module when an optional dependency is missing (fail it in CI)."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            reason = f"{name} is not installed (pip install \".[test]\")"
            if in_ci():
                pytest.fail(f"{reason} (required when CI=true)", pytrace=False)
            pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session")
def sample_labelled() -> pd.DataFrame:
    return pd.read_csv(DATA / "sample_labelled.csv")


@pytest.fixture(scope="session")
def small_model_dir(sample_labelled, tmp_path_factory) -> Path:
    """A model trained in well under a second on data/sample_labelled.csv, saved once per session. Its 303 rows
    are too few for trusted figures (test_training_warnings.py); the fixture stands for a site's model here, so
    its card does not carry that warning into every command's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = moderation.train(sample_labelled["text"], sample_labelled["label"])
    model.card.warnings = []
    return model.save(tmp_path_factory.mktemp("model") / "small")


@pytest.fixture(scope="session")
def small_model(small_model_dir) -> moderation.Model:
    """The small model, as loaded from its directory (what the CLI and the server see)."""
    return moderation.load_model(small_model_dir)


def scored_frame(model, extra: list[tuple[str, str]] | None = None) -> pd.DataFrame:
    """What ``moderation score --keep text`` gives for the labelled sample (plus ``extra`` (id, text) rows)."""
    df = pd.read_csv(LABELLED)
    ids, texts = df["id"].tolist(), df["text"].tolist()
    for cid, text in extra or []:
        ids.append(cid)
        texts.append(text)
    scores = model.score(texts).round(6)
    return pd.DataFrame({"id": ids, "score": scores, "flag": scores >= model.threshold,
                         "reasons": [""] * len(ids), "text": texts})


def hostile_frame() -> pd.DataFrame:
    """Scored rows whose text, id and source are XSS payloads, at the top of the queue (score ≈ 1)."""
    rows = []
    for i, payload in enumerate(XSS):
        rows.append({"id": f"xss{i}", "text": f"you idiot {payload} idiot", "score": 0.999 - i / 1000,
                     "flag": True, "reasons": payload, "source": payload})
    rows.append({"id": XSS[2], "text": "id is hostile", "score": 0.99, "flag": True, "reasons": "",
                 "source": "web"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def default_model() -> moderation.Model:
    return moderation.load_model()


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = find_data_root()
    if root is None:
        skip_or_fail("the public corpora (../shared/data or MODERATION_DATA) are not available")
    return root


# -- a real headless Chromium (Debian's), driven by Playwright --------------------------------

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser(sync_playwright):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


# -- a real PostgreSQL (the server named by MODERATION_TEST_POSTGRES) ---------------------------

def fresh_postgres_url() -> str:
    """The URL of the PostgreSQL test database with every table dropped, or a skip (a failure in CI)."""
    url = os.environ.get("MODERATION_TEST_POSTGRES")
    if not url:
        skip_or_fail("MODERATION_TEST_POSTGRES is not set (a PostgreSQL URL the tests may wipe)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        skip_or_fail('psycopg is not installed (pip install "psycopg[binary]")')
    from sqlalchemy import MetaData, create_engine

    from moderation.queue.schema import resolve_db_url

    url = resolve_db_url(url)
    engine = create_engine(url)
    try:
        found = MetaData()
        found.reflect(engine)
        found.drop_all(engine)
    except Exception as e:  # no server listening, bad credentials
        skip_or_fail(f"cannot reach PostgreSQL at {engine.url!r}: {str(e).splitlines()[0]}")
    finally:
        engine.dispose()
    return url


# -- the review web app in-process (FastAPI's TestClient) ----------------------------------------

def web_client(app, address: str = "testclient"):
    """A TestClient that returns redirects as they are, from client ``address``."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def web_login(app, name: str, password: str):
    """A client logged in as ``name`` and its session's CSRF token."""
    c = web_client(app)
    r = c.post("/login", data={"username": name, "password": password, "csrf": csrf_of(c.get("/login").text)})
    assert r.status_code == 303 and r.headers["location"] == "/", r.headers.get("location")
    return c, csrf_of(c.get("/history").text)


def live_server(app):
    """A real uvicorn serving ``app`` on a free loopback port in a background thread (a context manager giving
    its base URL); stopped on exit."""
    import contextlib
    import socket
    import threading
    import time

    import uvicorn

    @contextlib.contextmanager
    def run():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.time() + 10
        while not srv.started and time.time() < deadline:
            time.sleep(0.05)
        assert srv.started, "uvicorn did not start"
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            srv.should_exit = True
            thread.join(timeout=10)

    return run()
