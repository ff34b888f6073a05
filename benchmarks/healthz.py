"""Does blocking work stall the server? ``/healthz`` latency while clients guess passwords, on loopback.

Starts ``moderation serve`` (uvicorn subprocess, SQLite, tiny model; see load.py)
and measures ``GET /healthz`` every 20 ms: first idle, then while ``--clients``
threads each post logins as fast as the server answers, in two mixes:

* ``guessing``: wrong passwords for existing names, each client from its own
  address (``X-Forwarded-For``, which the server believes from loopback); the
  throttle soon makes most of them cheap refusals, as it would in life;
* ``logging in``: other names with the right password every time, so every
  request hashes a password (scrypt) and writes a session: the heaviest login
  traffic there is.

Prints the median and p99 of ``/healthz`` in each phase and the logins answered.

    python benchmarks/healthz.py                  # 8 clients, 10 s per phase
    python benchmarks/healthz.py --clients 8 --duration 5

Loopback only; every loop is bounded by a deadline.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load():
    spec = importlib.util.spec_from_file_location("moderation_benchmark_load", HERE / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


load = _load()


@dataclass
class Phase:
    name: str
    healthz: list[float]
    logins: int

    def line(self) -> str:
        return (f"{self.name:<12} /healthz p50 {load.percentile(self.healthz, 50) * 1000:7.1f} ms  "
                f"p99 {load.percentile(self.healthz, 99) * 1000:7.1f} ms  ({len(self.healthz)} probes, "
                f"{self.logins} logins answered)")


def _probe(base: str, deadline: float, out: list[float]) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=30) as c:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            c.get("/healthz")
            out.append(time.perf_counter() - t0)
            time.sleep(0.02)


def _login_loop(base: str, name: str, password: str, address: str, deadline: float, counter: list[int]) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=60, follow_redirects=False,
                      headers={"X-Forwarded-For": address}) as c:
        while time.monotonic() < deadline:
            page = c.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            c.post("/login", data={"username": name, "password": password, "csrf": csrf})
            c.cookies.clear()
            counter[0] += 1


def _phase(base: str, name: str, clients: list[tuple[str, str, str]], duration: float) -> Phase:
    deadline = time.monotonic() + duration
    probes: list[float] = []
    counter = [0]
    threads = [threading.Thread(target=_probe, args=(base, deadline, probes), daemon=True)]
    threads += [threading.Thread(target=_login_loop, args=(base, *client, deadline, counter), daemon=True)
                for client in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 60)
    return Phase(name, probes, counter[0])


def run(clients: int = 8, duration: float = 10.0, *, workdir: Path | None = None,
        model_dir: Path | None = None) -> list[Phase]:
    """Idle, guessing and logging-in phases against one server; their /healthz latencies."""
    tmp = tempfile.TemporaryDirectory(prefix="moderation-healthz-") if workdir is None else None
    work = Path(tmp.name) if tmp else Path(workdir)
    try:
        model_dir = model_dir or load.train_tiny_model(work / "model")
        db_url = f"sqlite:///{work / 'healthz.db'}"
        names, _ = load.prepare_db(db_url, 2 * clients, 200)
        guessed, owners = names[:clients], names[clients:]
        port = load.free_port()
        with load.serve(db_url, model_dir, port, work / "server.log"):
            base = f"http://{load.HOST}:{port}"
            # documentation addresses (RFC 5737), only ever written in a header
            return [_phase(base, "idle", [], duration),
                    _phase(base, "guessing", [(n, f"wrong-guess-{i}", f"198.51.100.{i}")
                                              for i, n in enumerate(guessed)], duration),
                    _phase(base, "logging in", [(n, load.PASSWORD, f"203.0.113.{i}")
                                                for i, n in enumerate(owners)], duration)]
    finally:
        if tmp:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    args = parser.parse_args(argv)
    for phase in run(args.clients, args.duration):
        print(phase.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
