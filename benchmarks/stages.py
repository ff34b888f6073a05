"""Where a one-core ``moderation score`` run spends its time, stage by stage, beside alt-profanity-check's whole job.

    python benchmarks/stages.py                      # the 100k-row dump, 3 turns
    python benchmarks/stages.py --rows 1000000 --turns 1

Runs ``moderation score DUMP --jobs 1`` in this process with a wall-clock
timer around each stage's call (loading the model, reading and making the
chunks, the units, the compiled kernel, combining, reasons, writing), then
alt-profanity-check's job (``run.py``'s: pandas read, ``predict_prob``, write)
as a whole process, the two taking turns. Prints the median of each stage over
the turns and its ratio to alt-profanity-check's median time: a stage at 1.0
or more takes as long as their whole job. Imports are not among our stages
(this process has made them before the first turn); ``run.py`` times whole
processes.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager

from run import CACHE, PYTHON, THEIRS, build_dump, data_root

# (module, attribute holder, function, stage): each stage is the time spent inside that call
STAGES = [
    ("moderation.batch", None, "_model", "load the model"),
    ("moderation.batch", None, "prepare_chunks", "read and make the chunks"),
    ("moderation.model", "Model", "_units", "units (normalise, split into sentences)"),
    ("moderation.linear", "LinearHead", "text_logits", "kernel (n-grams to logits)"),
    ("moderation.model", "Model", "_combine", "combine the sentences' logits"),
    ("moderation.linear", "LinearHead", "reasons", "reasons"),
    ("moderation.io", "TableWriter", "write", "write"),
]
WHOLE = "whole run (after imports)"


def _timed(function, stage: str, spent: Counter):
    @functools.wraps(function)
    def call(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] += time.perf_counter() - start
    return call


def _timed_generator(function, stage: str, spent: Counter):
    """A generator function's time: what each ``next`` takes, not the time its consumer holds an item."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        items = function(*args, **kwargs)
        while True:
            start = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                return
            finally:
                spent[stage] += time.perf_counter() - start
            yield item
    return call


@contextmanager
def instrumented(spent: Counter):
    """Each stage's function wrapped so that its calls add their wall-clock time to ``spent``, and put back
    afterwards (so that the next turn times each call once)."""
    originals = []
    for module_name, holder_name, name, stage in STAGES:
        module = importlib.import_module(module_name)
        holder = getattr(module, holder_name) if holder_name else module
        function = getattr(holder, name)
        originals.append((holder, name, function))
        wrap = _timed_generator if inspect.isgeneratorfunction(function) else _timed
        setattr(holder, name, wrap(function, stage, spent))
    try:
        yield
    finally:
        for holder, name, function in originals:
            setattr(holder, name, function)


def ours(dump, out) -> Counter:
    """One in-process ``moderation score DUMP --jobs 1``: each stage's time, and the whole run's."""
    from moderation.cli import app

    spent: Counter = Counter()
    with instrumented(spent):
        start = time.perf_counter()
        app(["score", str(dump), "--out", str(out), "--jobs", "1"], standalone_mode=False)
        spent[WHOLE] = time.perf_counter() - start
    return spent


def theirs(dump, out, script) -> float:
    """One alt-profanity-check job (``script``, run.py's) as a whole process: its wall-clock time."""
    start = time.perf_counter()
    subprocess.run([PYTHON, str(script), str(dump), str(out)], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="dump size [default: 100000]")
    parser.add_argument("--turns", type=int, default=3, help="turns of ours and theirs [default: 3]")
    args = parser.parse_args()
    dump = build_dump(args.rows, data_root())
    script = CACHE / "alt_profanity_check_score.py"
    script.write_text(THEIRS)
    out, their_out = CACHE / "stages-out.csv", CACHE / "stages-theirs.csv"
    runs, their_times = [], []
    try:
        for turn in range(args.turns):
            runs.append(ours(dump, out))
            their_times.append(theirs(dump, their_out, script))
            print(f"turn {turn + 1}/{args.turns}: ours {runs[-1][WHOLE]:.2f} s after imports, "
                  f"alt-profanity-check {their_times[-1]:.2f} s", file=sys.stderr, flush=True)
    finally:
        out.unlink(missing_ok=True)
        their_out.unlink(missing_ok=True)
    them = statistics.median(their_times)
    print(f"{args.rows:,} comments, `--jobs 1`, medians of {args.turns} turn(s)\n")
    print("| stage | seconds | share of our run | ratio to alt-profanity-check's whole job |")
    print("| --- | --- | --- | --- |")
    whole = statistics.median(r[WHOLE] for r in runs)
    for stage in [s for *_, s in STAGES] + [WHOLE]:
        seconds = statistics.median(r[stage] for r in runs)
        print(f"| {stage} | {seconds:.2f} | {seconds / whole:.0%} | {seconds / them:.2f} |")
    print(f"| alt-profanity-check, whole process | {them:.2f} | | 1.00 |")


if __name__ == "__main__":
    main()
