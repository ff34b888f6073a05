"""Explanations and loading the review queue: ``explain`` one text at a time against ``explain_many``, and
``moderation queue add`` of a scored dump as a whole process.

    python benchmarks/explain.py                 # 100k rows, 3 turns
    python benchmarks/explain.py --rows 20000 --turns 5

Builds ``benchmarks/.cache/dump-ROWS.csv`` as ``run.py`` does (the toxic_spans
comments of the corpora, repeated) and scores it once with ``--keep text``. Then:

* the spans of the first 1,000 flagged comments, one ``Model.explain`` call per
  comment and one ``Model.explain_many`` call for all, taking turns (the spans
  must be the same); milliseconds per comment;
* ``moderation queue add`` of the scored dump into a fresh SQLite queue, as a
  whole process (every flagged comment explained and stored), and
  ``moderation score`` of the same dump for scale, taking turns.

Prints a Markdown table and writes ``benchmarks/results/explain.md`` and ``explain.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import CACHE, MODERATION, RESULTS, build_dump, data_root, machine


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def explain_turns(texts: list[str], turns: int) -> dict:
    """Milliseconds per text, one by one and together, by turns; the spans must agree."""
    import moderation

    model = moderation.load_model()
    model.explain_many(texts[:50])  # the first call builds the kernel's tables
    alone, together = [], []
    for _ in range(turns):
        start = time.perf_counter()
        one_by_one = [model.explain(t) for t in texts]
        middle = time.perf_counter()
        many = model.explain_many(texts)
        end = time.perf_counter()
        if many != one_by_one:
            sys.exit("benchmarks/explain.py: explain_many's spans differ from explain's")
        alone.append((middle - start) / len(texts) * 1000)
        together.append((end - middle) / len(texts) * 1000)
    return {"texts": len(texts), "with_spans": sum(map(bool, many)), "one_by_one_ms": alone,
            "together_ms": together}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    import pandas as pd

    dump = build_dump(args.rows, args.data or data_root())
    scored = CACHE / f"scored-{args.rows}.csv"
    if not scored.exists():
        subprocess.run([*MODERATION, "score", str(dump), "--keep", "text", "--out", str(scored)], check=True,
                       stderr=subprocess.DEVNULL)
    table = pd.read_csv(scored, dtype={"text": str}, keep_default_na=False)
    flagged = table["text"][table["flag"]].tolist()
    explained = explain_turns(flagged[:1000], args.turns)
    queue, score = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for turn in range(args.turns):
            db = Path(tmp) / f"queue-{turn}.db"
            queue.append(timed([*MODERATION, "queue", "add", str(scored), "--db", f"sqlite:///{db}"]))
            score.append(timed([*MODERATION, "score", str(dump), "--out", str(Path(tmp) / "out.csv")]))
    med = statistics.median
    result = {"date": dt.datetime.now().isoformat(timespec="minutes"), "machine": machine(), "rows": args.rows,
              "flagged": len(flagged), "explain": explained, "queue_add_s": queue, "score_s": score}
    lines = [
        f"# Explanations and the queue's loading ({result['date']}, {args.rows:,} rows, {len(flagged):,} flagged)",
        "",
        "| job | median | each turn |",
        "|---|---|---|",
        f"| `explain`, one call per flagged comment ({explained['texts']:,}) | "
        f"{med(explained['one_by_one_ms']):.3f} ms a comment | "
        + " / ".join(f"{v:.3f}" for v in explained["one_by_one_ms"]) + " |",
        f"| `explain_many`, one call for them all (the same spans) | {med(explained['together_ms']):.3f} ms a comment | "
        + " / ".join(f"{v:.3f}" for v in explained["together_ms"]) + " |",
        f"| `moderation queue add` of the scored dump (whole process) | {med(queue):.1f} s | "
        + " / ".join(f"{v:.1f}" for v in queue) + " |",
        f"| `moderation score` of the dump, for scale (whole process) | {med(score):.1f} s | "
        + " / ".join(f"{v:.1f}" for v in score) + " |",
        "",
        "Machine: {cpu}, {usable_cores} usable cores, {ram_gb} GB, Python {python}; moderation {moderation}. "
        "`moderation queue add` explains every flagged comment with `explain_many` and stores it.".format(
            **result["machine"]),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "explain.md").write_text(text)
    (RESULTS / "explain.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
