"""Speed benchmark: ``moderation score`` against alt-profanity-check, peak memory, training, loading.

    python benchmarks/run.py              # 100k and 1M rows, 3 runs each, training once (many minutes)
    python benchmarks/run.py --quick      # 100k rows, 1 run each, no training (for development)
    python benchmarks/run.py --rows 20000,200000 --runs 5
    python benchmarks/run.py --rows 10000000 --runs 1 --ours-only   # memory at 10M rows (results/speed-ours.md)

Builds dumps of news-site comments (``toxic_spans/comments.csv`` of the corpora,
repeated, columns ``id,text``) in ``benchmarks/.cache/`` and times each job as a
whole process, from start to output written, taking the median of the runs:

* ``moderation score DUMP --out OUT.csv`` with the shipped default model, on
  every core (the default) and with ``--jobs 1``;
* alt-profanity-check doing the same job: read the CSV with pandas,
  ``predict_prob`` on every text, write id and score to CSV;
* peak resident memory: ``/usr/bin/time -v``'s "Maximum resident set size" (the
  largest single process of the run) and, sampled every 50 ms, the proportional set size (PSS) summed over the
  whole process tree (what several ``--jobs`` workers take together);
* ``moderation train --corpus DATA`` (once: it is long);
* ``load_model()`` (in a fresh process, timing just the call; median of 5), against
  ``import profanity_check`` (which loads its model); and a fresh process's first score of one comment,
  imports included, against ``predict_prob`` on it.

Prints one Markdown table with the ratio ours/theirs, the machine and the date,
and writes it to ``benchmarks/results/speed.md`` and ``speed.json``. The
machines are noisy: compare within one run, as ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable
MODERATION = [PYTHON, "-m", "moderation"]
TIME = shutil.which("time", path="/usr/bin") or (shutil.which("gtime") if shutil.which("gtime") else None)

TIMEOUT = 3600  # seconds for one run: a hung run fails instead of blocking the benchmark
MODEL: list[str] = []  # ["--model", DIR] when --model is given

THEIRS = """\
import sys
import pandas as pd
from profanity_check import predict_prob
df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
pd.DataFrame({"id": df["id"], "score": predict_prob(df["text"].tolist())}).to_csv(sys.argv[2], index=False)
"""

LOAD_OURS = """\
import sys
import time
import moderation
t = time.perf_counter()
moderation.load_model(sys.argv[1] if len(sys.argv) > 1 else None)
print(time.perf_counter() - t)
"""
LOAD_THEIRS = """\
import time
t = time.perf_counter()
import profanity_check
print(time.perf_counter() - t)
"""
# the first score in a fresh process, imports included: what a script that scores one comment waits for
FIRST_OURS = """\
import sys
import time
t = time.perf_counter()
import moderation
moderation.load_model(sys.argv[1] if len(sys.argv) > 1 else None).score(["Thanks for the thoughtful article."])
print(time.perf_counter() - t)
"""
FIRST_THEIRS = """\
import time
t = time.perf_counter()
from profanity_check import predict_prob
predict_prob(["Thanks for the thoughtful article."])
print(time.perf_counter() - t)
"""


def data_root() -> Path:
    env = os.environ.get("MODERATION_DATA")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data", ROOT / ".." / "shared" / "data"]:
        if (candidate / "toxic_spans" / "comments.csv").is_file():
            return candidate.resolve()
    sys.exit("benchmarks/run.py: ../shared/data/toxic_spans/comments.csv not found (set MODERATION_DATA)")


def build_dump(rows: int, data: Path) -> Path:
    """``dump-ROWS.csv``: the toxic_spans comments repeated to ``rows`` rows, ids unique."""
    import pandas as pd

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"dump-{rows}.csv"
    if path.exists():
        return path
    src = pd.read_csv(data / "toxic_spans" / "comments.csv", dtype=str, keep_default_na=False)
    texts = src["comment_text"].tolist()
    reps = -(-rows // len(texts))
    out = pd.DataFrame({"id": [f"c{i}" for i in range(rows)], "text": (texts * reps)[:rows]})
    tmp = path.with_suffix(".tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p] + p.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_full_info().pss  # shared pages counted once
        except psutil.Error:
            pass
    return total


def run(cmd: list[str], check_rows: tuple[Path, int] | None = None) -> dict:
    """One whole-process run: wall seconds, peak RSS of its largest process and of its whole tree (MB)."""
    full = [TIME, "-v"] + cmd if TIME else cmd
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=CACHE)
    peak_tree = 0
    stop = threading.Event()

    def sample():
        nonlocal peak_tree
        while not stop.is_set():
            peak_tree = max(peak_tree, _tree_rss(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if not TIME:
        import resource

        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        _, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        stop.set()
        raise SystemExit(f"timed out after {TIMEOUT} s: {' '.join(cmd)}\n{err[-3000:]}")
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    if TIME:
        line = next((ln for ln in err.splitlines() if "Maximum resident set size" in ln), None)
        peak = int(line.rsplit(":", 1)[1]) / 1024 if line else float("nan")
    else:  # only grows: a run smaller than an earlier one shows the earlier peak
        import resource

        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    if check_rows:
        path, rows = check_rows
        with open(path, "rb") as f:
            got = sum(1 for _ in f) - 1
        if got < rows:
            raise SystemExit(f"{' '.join(cmd)} wrote {got} rows, expected at least {rows}")
    return {"seconds": seconds, "peak_mb": peak, "tree_mb": peak_tree / 2 ** 20}


def _summary(results: list[dict]) -> dict:
    return {"seconds": statistics.median(r["seconds"] for r in results),
            "peak_mb": statistics.median(r["peak_mb"] for r in results),
            "tree_mb": statistics.median(r["tree_mb"] for r in results),
            "runs": [r["seconds"] for r in results]}


def median_of(cmd, runs: int, check_rows=None, label: str = "") -> dict:
    return interleaved({label: (cmd, check_rows)}, runs)[label]


def interleaved(jobs: dict, runs: int) -> dict:
    """Each job (label: (command, rows check)) run ``runs`` times, taking turns (a, b, c, a, b, c, ...), so that
    a machine slowing down or speeding up during the benchmark weighs on every job alike; medians per label."""
    results: dict = {label: [] for label in jobs}
    for i in range(runs):
        for label, (cmd, check_rows) in jobs.items():
            r = run(cmd, check_rows)
            print(f"  {label} run {i + 1}/{runs}: {r['seconds']:.2f} s, {r['peak_mb']:.0f} MB "
                  f"(tree {r['tree_mb']:.0f} MB)", file=sys.stderr, flush=True)
            results[label].append(r)
    return {label: _summary(rs) for label, rs in results.items()}


def load_times(scripts: dict, runs: int = 5) -> dict:
    """Median seconds per label of ``scripts`` (label: (script, args)), each run in a fresh process, taking turns."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out: dict = {label: [] for label in scripts}
    for _ in range(runs):
        for label, (script, args) in scripts.items():
            out[label].append(float(subprocess.run([PYTHON, "-c", script, *args], capture_output=True, text=True,
                                                   check=True, env=env, cwd=CACHE).stdout.strip().splitlines()[-1]))
    return {label: statistics.median(times) for label, times in out.items()}


def train_times(data: Path, runs: int = 1) -> dict:
    """``moderation train --corpus`` with one job and with two, taking turns; both must write the same model file."""
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        outs = [Path(tmp) / "one", Path(tmp) / "two"]
        train = [MODERATION + ["train", "--corpus", str(data), "--force", "--out", str(out)] for out in outs]
        times = interleaved({"train": (train[0], None), "train --jobs 2": (train[1] + ["--jobs", "2"], None)}, runs)
        if (outs[0] / "model.skops").read_bytes() != (outs[1] / "model.skops").read_bytes():
            raise SystemExit("moderation train --jobs 2 wrote another model file than --jobs 1")
        return times


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram = None
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1])
        ram = round(kb / 2 ** 20, 1)
    except (OSError, StopIteration):
        pass
    from importlib.metadata import PackageNotFoundError, version

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"nproc": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "cpu": cpu, "ram_gb": ram, "python": platform.python_version(),
            "moderation": v("moderation"), "alt-profanity-check": v("alt-profanity-check"),
            "scikit-learn": v("scikit-learn"), "date": dt.datetime.now().astimezone().isoformat(timespec="seconds")}


def cell(r: dict | None, unit: str = "s") -> str:
    if r is None:
        return "—"
    if unit == "load":
        return f"{r['seconds']:.2f} s"
    text = f"{r['seconds']:.1f} s / {r['peak_mb']:.0f} MB"
    if r.get("tree_mb") and r["tree_mb"] > r["peak_mb"] * 1.2:
        text += f" (all processes {r['tree_mb']:.0f} MB)"
    return text


def ratio(ours, theirs) -> str:
    if not ours or not theirs or not theirs["seconds"]:
        return "—"
    return f"{ours['seconds'] / theirs['seconds']:.2f}"


def render(rows: list[tuple], info: dict, runs: int) -> str:
    lines = ["| task | ours (s / MB) | alt-profanity-check (s / MB) | ratio ours/theirs (time) |",
             "| --- | --- | --- | --- |"]
    for task, ours, theirs, unit in rows:
        lines.append(f"| {task} | {cell(ours, unit)} | {cell(theirs, unit)} | {ratio(ours, theirs)} |")
    lines.append("")
    lines.append(f"Machine: {info['nproc']} cores ({info['usable_cores']} usable), {info['cpu']}, "
                 f"{info['ram_gb']} GB RAM; Python {info['python']}, scikit-learn {info['scikit-learn']}, "
                 f"alt-profanity-check {info['alt-profanity-check']}; model: {info['model']}. {info['date']}; "
                 f"load average {info['loadavg_start'][0]:.1f} at the start, {info['loadavg_end'][0]:.1f} at the end. "
                 f"Median of {runs} run(s) per row, the jobs of one size taking turns, each a whole process from start "
                 "to output written; "
                 "MB is the peak resident memory of the largest process (`/usr/bin/time -v`), "
                 "\"all processes\" the sampled peak PSS of the whole process tree when it is larger.")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 run each, no training")
    parser.add_argument("--rows", help="comma-separated dump sizes [default: 100000,1000000]")
    parser.add_argument("--runs", type=int, help="runs per measurement [default: 3; 1 with --quick]")
    parser.add_argument("--large-runs", type=int, help="runs per measurement on dumps of 1M rows or more "
                        "[default: as --runs]")
    parser.add_argument("--no-train", action="store_true", help="skip the training measurement")
    parser.add_argument("--ours-only", action="store_true", help="score with ours alone, all cores, and skip "
                        "loading (alt-profanity-check reads the whole dump into memory: for 10M rows and more)")
    parser.add_argument("--data", type=Path, help="the corpora directory [default: ../shared/data]")
    parser.add_argument("--model", type=Path, help="score with this model directory [default: the shipped default]")
    args = parser.parse_args(argv)
    if args.data:
        os.environ["MODERATION_DATA"] = str(args.data.resolve())
    data = data_root()
    if args.model:
        MODEL[:] = ["--model", str(args.model.resolve())]
    sizes = [int(s) for s in args.rows.split(",")] if args.rows else ([100_000] if args.quick else [100_000, 1_000_000])
    runs = args.runs or (1 if args.quick else 3)
    train = not (args.quick or args.no_train or args.ours_only)
    CACHE.mkdir(parents=True, exist_ok=True)
    theirs_script = CACHE / "alt_profanity_check_score.py"
    theirs_script.write_text(THEIRS)
    info = machine()
    info["model"] = MODEL[1] if MODEL else "the shipped default model"
    info["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    rows, raw = [], {"machine": info, "runs": runs, "results": {}}

    for n in sizes:
        dump = build_dump(n, data)
        label = f"{n // 1000}k" if n < 1_000_000 else f"{n / 1_000_000:g}M"
        out = CACHE / f"out-{n}.csv"
        n_runs = args.large_runs if args.large_runs and n >= 1_000_000 else runs
        print(f"scoring {label} rows ({dump.stat().st_size / 2 ** 20:.0f} MB)", file=sys.stderr, flush=True)
        theirs_out = CACHE / f"theirs-{n}.csv"
        ours_cmd = MODERATION + ["score", str(dump), "--out", str(out)] + MODEL
        if args.ours_only:
            ours = median_of(ours_cmd, n_runs, (out, n), f"ours {label}")
            rows.append((f"score {label} comments (all {info['usable_cores']} cores)", ours, None, "s"))
            raw["results"][f"score_{n}"] = {"runs": n_runs, "ours": ours}
            out.unlink(missing_ok=True)
            continue
        timed = interleaved({f"ours {label}": (ours_cmd, (out, n)),
                             f"ours {label} --jobs 1": (ours_cmd + ["--jobs", "1"], (out, n)),
                             f"alt-profanity-check {label}": ([PYTHON, str(theirs_script), str(dump), str(theirs_out)],
                                                              (theirs_out, n))}, n_runs)
        ours, ours1, theirs = timed.values()
        rows.append((f"score {label} comments (all {info['usable_cores']} cores)", ours, theirs, "s"))
        rows.append((f"score {label} comments (`--jobs 1`)", ours1, theirs, "s"))
        if n_runs != runs:
            rows[-2] = (rows[-2][0] + f" ({n_runs} run{'s' if n_runs > 1 else ''})",) + rows[-2][1:]
            rows[-1] = (rows[-1][0] + f" ({n_runs} run{'s' if n_runs > 1 else ''})",) + rows[-1][1:]
        raw["results"][f"score_{n}"] = {"runs": n_runs, "ours": ours, "ours_jobs1": ours1, "theirs": theirs}
        for p in (out, theirs_out):
            p.unlink(missing_ok=True)

    if train:
        print("training the default model from the corpora (once)", file=sys.stderr, flush=True)
        trained, trained2 = train_times(data).values()
        rows.append(("train the default model (`--corpus`)", trained, None, "s"))
        rows.append(("train the default model (`--corpus --jobs 2`)", trained2, None, "s"))
        raw["results"]["train"] = trained
        raw["results"]["train_jobs2"] = trained2

    if not args.ours_only:
        print("load_model() x5", file=sys.stderr, flush=True)
        loads = {label: {"seconds": seconds} for label, seconds in load_times(
            {"ours": (LOAD_OURS, MODEL[1:]), "theirs": (LOAD_THEIRS, []),
             "first ours": (FIRST_OURS, MODEL[1:]), "first theirs": (FIRST_THEIRS, [])}).items()}
        rows.append(("`load_model()` (theirs: `import profanity_check`), median of 5", loads["ours"], loads["theirs"],
                     "load"))
        rows.append(("import, load and score one comment in a fresh process, median of 5", loads["first ours"],
                     loads["first theirs"], "load"))
        raw["results"]["load_model"] = {"ours": loads["ours"], "theirs": loads["theirs"]}
        raw["results"]["first_score"] = {"ours": loads["first ours"], "theirs": loads["first theirs"]}

    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    table = render(rows, info, runs)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "speed-ours" if args.ours_only else "speed"  # a run of ours alone keeps the comparison's files
    (RESULTS / f"{name}.md").write_text(table + "\n")
    (RESULTS / f"{name}.json").write_text(json.dumps(raw, indent=2) + "\n")


if __name__ == "__main__":
    main()
