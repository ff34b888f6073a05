"""Blocking work stays off the event loop: every route that touches the database or hashes a password is a plain
function (run in the thread pool), and ``/healthz`` answers quickly while 8 clients guess passwords or log in
(a real uvicorn on 127.0.0.1; ``python benchmarks/healthz.py`` runs the same for longer)."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

from conftest import require_modules  # noqa: E402

require_modules("fastapi", "httpx", "uvicorn")

from moderation.queue.web import create_app  # noqa: E402

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "healthz.py"


def test_every_route_but_healthz_runs_in_the_thread_pool():
    routes = [r for r in create_app("sqlite://", secret="s").routes if getattr(r, "methods", None)]
    on_the_loop = sorted(r.path for r in routes if inspect.iscoroutinefunction(r.endpoint))
    assert on_the_loop == ["/healthz"]
    assert len(routes) > 15


def test_the_app_freezes_what_exists_at_start_up_out_of_garbage_collection(small_model):
    # a full collection over the model and the libraries would be a pause inside some request's latency
    import gc

    from fastapi.testclient import TestClient

    with TestClient(create_app("sqlite://", model=small_model, secret="s")) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").json() == {"status": "ok"}
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
def test_healthz_stays_fast_while_clients_guess_passwords(small_model_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("moderation_benchmark_healthz", BENCH)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    phases = {p.name: p for p in bench.run(8, 4.0, workdir=tmp_path, model_dir=small_model_dir)}
    print("\n" + "\n".join(p.line() for p in phases.values()))
    assert phases["guessing"].logins > 0 and phases["logging in"].logins > 0
    # measured on 2 shared cores, p50 idle / guessing / logging in: 4 / 13 / 29 ms over 10 s phases, 5 / 31 / 34 ms
    # over these 4 s ones (357 ms guessing when the routes were async); 150 ms leaves room for a busy CI
    # machine and still catches a stalled loop
    for name in ("guessing", "logging in"):
        assert bench.load.percentile(phases[name].healthz, 50) < 0.150, phases[name].line()
