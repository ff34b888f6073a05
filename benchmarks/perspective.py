"""Latency and throughput of the Perspective API (``comments:analyze``) on loopback, with 1 and 2 workers.

Starts ``moderation serve --api-only --workers N`` (a real uvicorn, in a
subprocess; the shipped model unless ``--model``) on a free 127.0.0.1 port over a
fresh SQLite database holding one API key, and sends Coral Talk's exact request
(``{"comment": {"text"}, "doNotStore": true, "requestedAttributes": {"TOXICITY": {}},
"languages": ["en"]}``, key in the query string) over keep-alive HTTP/1.1
connections from an asyncio client in this process. The comments are the
project's own test sentences and long comments (tests/data), in turn. For each
worker count:

* **one client**: one request at a time (the latency of a comment alone);
* **20 clients, paced**: 20 connections sending ``--rate`` requests per second
  between them at random (Poisson) times, latency measured from when each request
  was due, so a stalled server cannot hide its queue (a site's comment traffic);
* **20 clients, flat out**: each sends its next request as soon as the last one is
  answered: the most requests per second the server gives on this machine.

Prints a table (p50 and p99 latency, requests per second, errors, and the CPU
time the server's processes spent per request, which other jobs on the machine
do not inflate the way they do latency) and with
``--out`` writes it to ``benchmarks/results/perspective.md`` and ``.json``. The load
generator shares the machine's cores with the server: its CPU time is reported.
``--mapping`` also measures how well SEVERE_TOXICITY candidates pick out identity
attacks and threats among the test sentences (the numbers the README quotes).

    python benchmarks/perspective.py --out               # 1 and 2 workers, 15 s per phase
    python benchmarks/perspective.py --workers 2 --seconds 5

Loopback only; every loop ends at a deadline and a request cap.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import platform
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
HOST = "127.0.0.1"
CLIENTS = 20
MAX_REQUESTS = 200_000  # per phase, whatever the deadline


def comments() -> list[str]:
    texts = []
    for name in ("civil_sentences", "abusive_sentences", "long_civil_comments", "long_abusive_comments"):
        with open(TEST_DATA / f"{name}.csv", newline="", encoding="utf-8") as f:
            texts += [row["text"] for row in csv.DictReader(f)]
    random.Random(0).shuffle(texts)
    return texts


def coral_request(text: str, key: str) -> bytes:
    body = json.dumps({"comment": {"text": text}, "doNotStore": True, "requestedAttributes": {"TOXICITY": {}},
                       "languages": ["en"]}, separators=(",", ":")).encode()
    head = (f"POST /v1alpha1/comments:analyze?key={key} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head + body


# -- the server -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(workdir: Path, workers: int, model: str | None) -> tuple[subprocess.Popen, int, str]:
    sys.path.insert(0, str(ROOT))
    from moderation.queue.store import open_store

    db = f"sqlite:///{workdir / f'bench-{workers}.db'}"
    store = open_store(db)
    store.add_moderator("bench", "bench-password")
    key = store.new_token("bench")
    store.close()
    port = free_port()
    cmd = [sys.executable, "-m", "moderation", "serve", "--api-only", "--db", db, "--port", str(port),
           "--workers", str(workers)] + (["--model", model] if model else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    wait_until_idle(proc.pid, deadline)  # every worker has loaded its model
                    return proc, port, key
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("the server did not start within 180 s")


def _tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and its children (Linux /proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_until_idle(root: int, deadline: float) -> None:
    """Until the server's processes use under 0.1 s of CPU in a second, twice running."""
    quiet, last = 0, _tree_cpu(root)
    while quiet < 2 and time.time() < deadline:
        time.sleep(1)
        now = _tree_cpu(root)
        quiet = quiet + 1 if now - last < 0.1 else 0
        last = now


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# -- the clients ------------------------------------------------------------------------------------
async def _one(reader, writer, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    body = await reader.readexactly(length)
    if status == 200 and b'"attributeScores"' in body:
        json.loads(body)["attributeScores"]["TOXICITY"]["summaryScore"]["value"]  # noqa: B018 (what Coral reads)
    return status


async def _client(port: int, requests: list[bytes], offset: int, deadline: float, rate: float | None,
                  latencies: list[float], errors: list[str], budget: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    rng = random.Random(offset)
    due = time.perf_counter() + (rng.expovariate(rate) if rate else 0)
    i = offset
    try:
        while budget[0] > 0:
            now = time.perf_counter()
            if rate:
                if due > deadline:
                    break
                if due > now:
                    await asyncio.sleep(due - now)
                start, due = due, due + rng.expovariate(rate)
            else:
                if now > deadline:
                    break
                start = now
            budget[0] -= 1
            try:
                status = await _one(reader, writer, requests[i % len(requests)])
            except (OSError, asyncio.IncompleteReadError, ValueError, KeyError, StopIteration) as e:
                errors.append(repr(e))
                break
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(f"HTTP {status}")
            i += 1
    finally:
        writer.close()


def phase(port: int, requests: list[bytes], clients: int, seconds: float, rate: float | None = None,
          server: int | None = None) -> dict:
    """``clients`` connections for ``seconds``: flat out, or ``rate`` requests/s between them (Poisson).

    With ``server`` (its process id), also the CPU time its processes spent per request.
    """
    latencies: list[float] = []
    errors: list[str] = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    server0 = _tree_cpu(server) if server else None
    t0 = time.perf_counter()

    async def main():
        deadline = time.perf_counter() + seconds
        budget = [MAX_REQUESTS]
        await asyncio.gather(*(_client(port, requests, k * 997, deadline, rate / clients if rate else None,
                                       latencies, errors, budget) for k in range(clients)))

    asyncio.run(main())
    elapsed = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    server_ms = (_tree_cpu(server) - server0) * 1000 / max(1, len(latencies)) if server else None
    ms = sorted(x * 1000 for x in latencies)

    def pct(p):
        return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))] if ms else float("nan")

    return {"clients": clients, "rate": rate, "seconds": round(elapsed, 2), "requests": len(ms),
            "requests_per_s": round(len(ms) / elapsed, 1), "p50_ms": round(pct(50), 2), "p90_ms": round(pct(90), 2),
            "p99_ms": round(pct(99), 2), "max_ms": round(ms[-1], 2) if ms else None, "errors": len(errors),
            "first_errors": errors[:3],
            "client_cpu_s": round((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime), 2),
            "server_cpu_ms_per_request": round(server_ms, 2) if server_ms is not None else None}


def measure(workers: int, seconds: float, rate: float, model: str | None, texts: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, key = start_server(Path(tmp), workers, model)
        try:
            requests = [coral_request(t, key) for t in texts]
            phase(port, requests, CLIENTS, min(3.0, seconds))  # warm-up: every worker loaded and busy
            pid = proc.pid
            return {"workers": workers,
                    "one client": phase(port, requests, 1, seconds, server=pid),
                    f"{CLIENTS} clients, {rate:g} requests/s": phase(port, requests, CLIENTS, seconds, rate, pid),
                    f"{CLIENTS} clients, flat out": phase(port, requests, CLIENTS, seconds, server=pid)}
        finally:
            stop_server(proc)


# -- SEVERE_TOXICITY candidates -----------------------------------------------------------------------
def mapping(model_dir: str | None) -> list[dict]:
    """ROC-AUC of SEVERE_TOXICITY candidates for telling identity attacks and threats (the abusive test
    sentences and category probes of those kinds) from civil sentences, insults and obscenity."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    sys.path.insert(0, str(ROOT))
    import moderation

    m = moderation.load_model(model_dir)
    rows = []
    for name in ("civil_sentences", "abusive_sentences", "category_probes"):
        with open(TEST_DATA / f"{name}.csv", newline="", encoding="utf-8") as f:
            rows += [(r["text"], r.get("category") or "civil") for r in csv.DictReader(f)]
    table = m.score_table([t for t, _ in rows], categories=True, reasons=0)
    kinds = np.array([k for _, k in rows])
    severe = np.isin(kinds, ["identity_attack", "threat"]).astype(int)
    s, ia, th, ins, ob = (table[c].to_numpy() for c in ("score", "identity_attack", "threat", "insult", "obscene"))
    candidates = {"TOXICITY alone": s,
                  "TOXICITY × strongest of the four categories": s * np.maximum.reduce([ia, th, ins, ob]),
                  "TOXICITY × max(identity_attack, threat) (served)": s * np.maximum(ia, th),
                  "TOXICITY × max(identity_attack, threat, insult × obscene)":
                      s * np.maximum.reduce([ia, th, ins * ob])}
    return [{"rule": k, "roc_auc": round(float(roc_auc_score(severe, v)), 3),
             **{f"mean_{kind}": round(float(v[kinds == kind].mean()), 3)
                for kind in ("civil", "insult", "obscene", "identity_attack", "threat")}}
            for k, v in candidates.items()] + [{"rows": len(rows), "positives": int(severe.sum())}]


# -- report ----------------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"nproc": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)), "cpu": cpu,
            "python": platform.python_version(), "date": dt.datetime.now().astimezone().isoformat(timespec="seconds")}


def render(results: list[dict], info: dict) -> str:
    lines = ["| workers | load | requests | requests/s | p50 | p99 | max | errors | server CPU per request "
             "| client CPU |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        for name, p in r.items():
            if name == "workers":
                continue
            lines.append(f"| {r['workers']} | {name} | {p['requests']:,} | {p['requests_per_s']:,.0f} | "
                         f"{p['p50_ms']:.1f} ms | {p['p99_ms']:.1f} ms | {p['max_ms']:.0f} ms | {p['errors']} | "
                         f"{p['server_cpu_ms_per_request']:.2f} ms | {p['client_cpu_s']:.1f} s of {p['seconds']:.0f} s |")
    lines.append("")
    lines.append(f"Machine: {info['nproc']} cores ({info['usable_cores']} usable), {info['cpu']}; Python "
                 f"{info['python']}; model: {info['model']}. {info['date']}; load average "
                 f"{info['loadavg_start'][0]:.1f} at the start, {info['loadavg_end'][0]:.1f} at the end. "
                 f"{info['seconds']:g} s per phase after a warm-up; `comments:analyze` with Coral Talk's request "
                 "over keep-alive connections; the client (asyncio, this process) shares the cores with the server.")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each phase (default 15)")
    ap.add_argument("--rate", type=float, default=100.0, help="requests/s of the paced phase (default 100)")
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--mapping", action="store_true",
                    help="also measure the SEVERE_TOXICITY candidates (without it, --out keeps the last ones)")
    ap.add_argument("--out", action="store_true", help="write benchmarks/results/perspective.md and .json")
    args = ap.parse_args(argv)
    info = {**machine(), "model": args.model or "the shipped default model", "seconds": args.seconds,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    texts = comments()
    results = [measure(int(w), args.seconds, args.rate, args.model, texts) for w in args.workers.split(",")]
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    table = render(results, info)
    print(table)
    out = {"machine": info, "results": results}
    if args.mapping:
        out["severe_toxicity"] = mapping(args.model)
        print(json.dumps(out["severe_toxicity"], indent=1))
    if args.out:
        results_dir = ROOT / "benchmarks" / "results"
        earlier = results_dir / "perspective.json"
        if not args.mapping and earlier.exists():  # the mapping depends on the model alone: keep the last one
            kept = json.loads(earlier.read_text()).get("severe_toxicity")
            if kept is not None:
                out["severe_toxicity"] = kept
        (results_dir / "perspective.md").write_text(table + "\n")
        (results_dir / "perspective.json").write_text(json.dumps(out, indent=1) + "\n")
    medians = statistics.median([p["p50_ms"] for r in results for k, p in r.items() if k != "workers"])
    if any(p["errors"] for r in results for k, p in r.items() if k != "workers"):
        raise SystemExit(f"errors during the run (median p50 {medians} ms)")


if __name__ == "__main__":
    main()
