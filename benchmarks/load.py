"""Load test of the review queue server on loopback: scoring and decision requests from concurrent clients.

Starts ``moderation serve`` (a real uvicorn server, in a subprocess) on a free
127.0.0.1 port over a fresh SQLite queue and a tiny model trained on
data/sample_labelled.csv, then runs N client threads for a fixed time. Each
client is its own moderator and loops over a mix of:

* ``POST /api/score`` (Bearer token);
* API decisions: ``POST /api/claims`` then ``POST /api/decisions``,
  and now and then ``POST /api/undo``;
* form decisions (a third of the clients): log in, ``GET /`` (claims a page and
  carries the CSRF token), ``POST /decide`` with the token.

Afterwards every acknowledged decision is looked up in the audit log: it must be
there exactly once, with no decision rows nobody was told about, no comment
decided twice by moderators, and every comment's status matching its standing
decision. Prints requests, errors, p50 and p99 per endpoint; exits 1 on any 5xx,
transport error or lost/duplicated decision.

    python benchmarks/load.py                    # 50 clients for 30 s
    python benchmarks/load.py --clients 20 --duration 8

Loopback only; every loop is bounded by a deadline and a request count.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "data" / "sample_labelled.csv"
HOST = "127.0.0.1"
ACTIONS = ("remove", "keep", "escalate")
REASONS = (None, "harassment", "illegal_hate_speech", "spam", "other_policy")
PASSWORD = "load-test-password"
DONE_AT = re.compile(r"[?&]notice=decided\b")


# -- setup ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def train_tiny_model(directory: Path) -> Path:
    import pandas as pd

    import moderation

    df = pd.read_csv(LABELLED)
    moderation.train(df["text"].tolist(), df["label"].to_numpy(dtype=int)).save(directory)
    return directory


def prepare_db(url: str, n_moderators: int, n_comments: int, seed: int = 0) -> tuple[list[str], dict[str, str]]:
    """Moderators ``load00``... with API tokens, and ``n_comments`` synthetic pending comments."""
    import pandas as pd

    from moderation.queue.store import open_store

    rng = random.Random(seed)
    texts = pd.read_csv(LABELLED)["text"].tolist()
    store = open_store(url)
    names, tokens = [], {}
    for i in range(n_moderators):
        name = f"load{i:02d}"
        store.add_moderator(name, PASSWORD)
        tokens[name] = store.new_token(name)
        names.append(name)
    frame = pd.DataFrame({
        "id": [f"c{i:06d}" for i in range(n_comments)],
        "text": [rng.choice(texts) for _ in range(n_comments)],
        "score": [round(rng.random(), 6) for _ in range(n_comments)],
        "flag": True, "reasons": "", "source": [rng.choice(["web", "app", "mail"]) for _ in range(n_comments)],
    })
    store.add_scored(frame, all_rows=True, threshold=0.5)
    store.close()
    return names, tokens


@contextlib.contextmanager
def serve(db_url: str, model_dir: Path, port: int, log: Path, startup_timeout: float = 90.0):
    """``moderation serve`` in a subprocess on 127.0.0.1:port; stopped (by its pid) on exit."""
    import httpx

    env = {**os.environ, "MODERATION_SECRET": "load-test-secret", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "moderation", "serve", "--db", db_url, "--model", str(model_dir),
           "--host", HOST, "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not come up in {startup_timeout:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


# -- clients --------------------------------------------------------------------------------------
@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    errors: list[str] = field(default_factory=list)  # 5xx, transport errors, unexpected statuses
    api_decisions: list[tuple[str, int, str, str]] = field(default_factory=list)  # comment, id, moderator, action
    form_decisions: list[tuple[str, str, str]] = field(default_factory=list)  # comment, moderator, action
    undos: list[tuple[str, str]] = field(default_factory=list)  # moderator, comment
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, seconds: float, status: int | None, ok: set[int], detail: str = "") -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            self.statuses[endpoint][status or 0] += 1
            if status is None or status >= 500 or status not in ok:
                self.errors.append(f"{endpoint}: {status} {detail[:200]}")


def _timed(results: Results, endpoint: str, ok: set[int], send):
    t0 = time.perf_counter()
    try:
        r = send()
    except Exception as e:  # noqa: BLE001  (a transport error is a result, not a crash of the client)
        results.record(endpoint, time.perf_counter() - t0, None, ok, f"{type(e).__name__}: {e}")
        return None
    results.record(endpoint, time.perf_counter() - t0, r.status_code, ok, r.text)
    return r


def api_client(base: str, name: str, token: str, texts: list[str], deadline: float, max_requests: int,
               results: Results, seed: int, score_share: float = 0.5) -> None:
    import httpx

    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {token}"}
    sent = 0
    with httpx.Client(base_url=base, headers=auth, timeout=30) as c:
        while time.monotonic() < deadline and sent < max_requests:
            if rng.random() < score_share:
                _timed(results, "POST /api/score", {200},
                       lambda: c.post("/api/score", json={"text": rng.choice(texts)}))
                sent += 1
                continue
            r = _timed(results, "POST /api/claims", {200},
                       lambda: c.post("/api/claims", json={"limit": rng.randint(1, 3),
                                                           "sort": rng.choice(["score", "uncertainty"])}))
            sent += 1
            items = r.json()["items"] if r is not None and r.status_code == 200 else []
            for item in items:
                if time.monotonic() >= deadline or sent >= max_requests:
                    break
                action, reason = rng.choice(ACTIONS), rng.choice(REASONS)
                body = {"comment_id": item["id"], "action": action, **({"reason_code": reason} if reason else {})}
                d = _timed(results, "POST /api/decisions", {201, 409}, lambda: c.post("/api/decisions", json=body))
                sent += 1
                if d is not None and d.status_code == 201:
                    got = d.json()
                    with results.lock:
                        results.api_decisions.append((got["comment_id"], int(got["id"]), name, got["action"]))
            if rng.random() < 0.1 and sent < max_requests:
                u = _timed(results, "POST /api/undo", {200, 409}, lambda: c.post("/api/undo"))
                sent += 1
                if u is not None and u.status_code == 200 and u.json()["undone"]:
                    with results.lock:
                        results.undos.append((name, u.json()["undone"]["comment_id"]))


def form_client(base: str, name: str, deadline: float, max_requests: int, results: Results, seed: int) -> None:
    """A browser: log in, view the queue page (claims it), decide with the page's CSRF token."""
    import httpx

    rng = random.Random(seed)
    sent = 0
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as c:
        page = _timed(results, "GET /login", {200}, lambda: c.get("/login"))
        if page is None or page.status_code != 200:
            return
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = _timed(results, "POST /login", {303},
                   lambda: c.post("/login", data={"username": name, "password": PASSWORD, "csrf": csrf}))
        sent += 2
        if r is None or r.headers.get("location") != "/":
            with results.lock:
                results.errors.append(f"login of {name} failed: {r and r.headers.get('location')}")
            return
        while time.monotonic() < deadline and sent < max_requests:
            page = _timed(results, "GET / (page)", {200}, lambda: c.get("/", params={"sort": rng.choice(
                ["score", "uncertainty"])}))
            sent += 1
            if page is None or page.status_code != 200:
                continue
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            ids = re.findall(r'<article class="comment" data-id="([^"]*)"', page.text)
            for cid in rng.sample(ids, min(len(ids), rng.randint(1, 3))):
                if time.monotonic() >= deadline or sent >= max_requests:
                    break
                action = rng.choice(ACTIONS)
                d = _timed(results, "POST /decide (form)", {303},
                           lambda: c.post("/decide", data={"comment_id": cid, "action": action, "csrf": csrf,
                                                           "next": "/"}))
                sent += 1
                if d is not None and d.status_code == 303 and DONE_AT.search(d.headers.get("location", "")):
                    with results.lock:
                        results.form_decisions.append((cid, name, action))


# -- verification ---------------------------------------------------------------------------------
STATUS_FOR = {"remove": "removed", "keep": "kept", "escalate": "escalated"}


def verify(db_url: str, results: Results) -> list[str]:
    """Every acknowledged decision in the audit log exactly once; nothing there that was not acknowledged."""
    from sqlalchemy import select

    from moderation.queue.store import comments, decisions, moderators, open_store

    store = open_store(db_url)
    problems: list[str] = []
    with store.engine.connect() as conn:
        names = dict(conn.execute(select(moderators.c.id, moderators.c.name)).all())
        rows = [dict(r) for r in conn.execute(select(decisions).order_by(decisions.c.id)).mappings()]
        status = dict(conn.execute(select(comments.c.id, comments.c.status)).all())
    store.close()
    by_id = {r["id"]: r for r in rows}
    real = [r for r in rows if r["action"] != "undo"]
    undo_rows = [r for r in rows if r["action"] == "undo"]

    acked_ids = [d[1] for d in results.api_decisions]
    if len(acked_ids) != len(set(acked_ids)):
        problems.append("the server acknowledged the same decision id twice")
    for cid, did, name, action in results.api_decisions:
        row = by_id.get(did)
        if row is None:
            problems.append(f"acknowledged decision {did} on {cid} is not in the audit log (lost)")
        elif (row["comment_id"], names[row["moderator_id"]], row["action"]) != (cid, name, action):
            problems.append(f"decision {did} in the log is {row['comment_id']}/{names[row['moderator_id']]}/"
                            f"{row['action']}, acknowledged as {cid}/{name}/{action}")
    # form decisions carry no id: exactly one log row for (comment, moderator, action) that the API did not claim
    api_ids = set(acked_ids)
    form_rows = defaultdict(int)
    for r in real:
        if r["id"] not in api_ids:
            form_rows[(r["comment_id"], names[r["moderator_id"]], r["action"])] += 1
    acked_form = defaultdict(int)
    for key in results.form_decisions:
        acked_form[key] += 1
    for key, n in acked_form.items():
        if form_rows.get(key, 0) != n:
            problems.append(f"form decision {key}: acknowledged {n} time(s), {form_rows.get(key, 0)} in the log")
    unacked = {k: n for k, n in form_rows.items() if acked_form.get(k, 0) != n}
    for key, n in unacked.items():
        if key not in acked_form:
            problems.append(f"{n} decision row(s) {key} in the log that no client was told about (duplicated?)")
    if len(real) != len(results.api_decisions) + len(results.form_decisions):
        problems.append(f"{len(real)} decisions in the log, {len(results.api_decisions)} + "
                        f"{len(results.form_decisions)} acknowledged")
    if len(undo_rows) != len(results.undos):
        problems.append(f"{len(undo_rows)} undo rows in the log, {len(results.undos)} undos acknowledged")
    # no comment decided twice by moderators (only admins override; there are none here), statuses agree
    undone = {r["undoes"] for r in undo_rows}
    standing: dict[str, list[dict]] = defaultdict(list)
    for r in real:
        if r["id"] not in undone:
            standing[r["comment_id"]].append(r)
    for cid, rs in standing.items():
        if len(rs) > 1:
            problems.append(f"comment {cid} has {len(rs)} standing decisions: {[r['id'] for r in rs]}")
        elif status.get(cid) != STATUS_FOR[rs[0]["action"]]:
            problems.append(f"comment {cid} is {status.get(cid)} but its standing decision is {rs[0]['action']}")
    for cid, st in status.items():
        if st != "pending" and cid not in standing:
            problems.append(f"comment {cid} is {st} without a standing decision")
    return problems


# -- the run --------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


@dataclass
class Report:
    clients: int
    duration: float
    elapsed: float
    results: Results
    problems: list[str]

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.results.latencies.values())

    @property
    def server_errors(self) -> int:
        return sum(n for st in self.results.statuses.values() for code, n in st.items() if code >= 500)

    @property
    def ok(self) -> bool:
        return not self.results.errors and not self.problems

    def all_latencies(self) -> list[float]:
        return [x for v in self.results.latencies.values() for x in v]

    def table(self) -> str:
        lines = [f"{self.clients} clients for {self.duration:g} s (ran {self.elapsed:.1f} s) against moderation serve "
                 f"on {HOST} with SQLite",
                 f"{'endpoint':<24}{'requests':>9}{'errors':>8}{'409':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"]
        errors_by = defaultdict(int)
        for e in self.results.errors:
            errors_by[e.split(":", 1)[0]] += 1
        for ep in sorted(self.results.latencies):
            lat = self.results.latencies[ep]
            lines.append(f"{ep:<24}{len(lat):>9}{errors_by.get(ep, 0):>8}{self.results.statuses[ep].get(409, 0):>6}"
                         f"{percentile(lat, 50) * 1000:>9.1f}{percentile(lat, 99) * 1000:>9.1f}"
                         f"{max(lat) * 1000:>9.1f}")
        everything = self.all_latencies()
        lines.append(f"{'all':<24}{len(everything):>9}{len(self.results.errors):>8}{'':>6}"
                     f"{percentile(everything, 50) * 1000:>9.1f}{percentile(everything, 99) * 1000:>9.1f}"
                     f"{max(everything, default=0) * 1000:>9.1f}")
        lines.append(f"throughput {len(everything) / max(self.elapsed, 1e-9):.0f} req/s; decisions acknowledged: "
                     f"{len(self.results.api_decisions)} API + {len(self.results.form_decisions)} form, "
                     f"{len(self.results.undos)} undos; 5xx: {self.server_errors}; "
                     f"audit log problems: {len(self.problems)}")
        return "\n".join(lines)


def run(clients: int = 50, duration: float = 30.0, *, workdir: Path | None = None, model_dir: Path | None = None,
        form_share: float = 1 / 3, comments: int | None = None, max_requests_per_client: int = 100_000,
        seed: int = 0) -> Report:
    """Set up, serve, load for ``duration`` seconds with ``clients`` threads, verify; the report."""
    import pandas as pd

    own = workdir is None
    tmp = tempfile.TemporaryDirectory(prefix="moderation-load-") if own else None
    work = Path(tmp.name) if tmp else Path(workdir)
    try:
        model_dir = model_dir or train_tiny_model(work / "model")
        db_url = f"sqlite:///{work / 'load.db'}"
        names, tokens = prepare_db(db_url, clients, comments or max(2000, int(clients * duration * 4)), seed)
        texts = pd.read_csv(LABELLED)["text"].tolist()
        n_form = int(round(clients * form_share))
        results = Results()
        port = free_port()
        with serve(db_url, model_dir, port, work / "server.log"):
            base = f"http://{HOST}:{port}"
            start = time.monotonic()
            deadline = start + duration
            threads = []
            for i, name in enumerate(names):
                if i < n_form:
                    target, args = form_client, (base, name, deadline, max_requests_per_client, results, seed + i)
                else:
                    target, args = api_client, (base, name, tokens[name], texts, deadline, max_requests_per_client,
                                                results, seed + i)
                threads.append(threading.Thread(target=target, args=args, name=f"client-{name}", daemon=True))
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=duration + 60)
            elapsed = time.monotonic() - start
            stuck = [t.name for t in threads if t.is_alive()]
            if stuck:
                results.errors.append(f"clients still running after the deadline: {stuck[:5]}")
        problems = verify(db_url, results)
        return Report(clients, duration, elapsed, results, problems)
    finally:
        if tmp:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    p.add_argument("--form-share", type=float, default=1 / 3, help="share of clients that use the HTML forms")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    report = run(args.clients, args.duration, form_share=args.form_share, seed=args.seed)
    print(report.table())
    for e in report.results.errors[:20]:
        print("error:", e)
    for prob in report.problems[:20]:
        print("audit:", prob)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
