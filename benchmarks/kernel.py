"""The compiled scoring kernel alone: its time on the units of a dump's comments, and builds of it compared by turns.

    python benchmarks/kernel.py                               # the installed kernel, 20,000 comments, 11 turns
    python benchmarks/kernel.py --before /tmp/kernel-before.so  # that build against the installed one, by turns

Whole processes on a shared machine move by 10-30% from one minute to the
next, more than most changes to the kernel are worth; this times only
``_kernel.unit_logits``, in one process, on the same calls, and the builds
given take turns. The calls are those that scoring the first ``--rows``
comments of the benchmark dump (``run.py``'s, from the corpora) makes, with the
shipped model; the installed kernel's logits are the reference, and a build
whose logits differ in any bit makes the script exit 1.

To compare a change: copy the installed build aside first
(``cp moderation/_kernel.*.so /tmp/kernel-before.so``), change
``moderation/_kernel.pyx``, rebuild (``pip install -e . --no-deps``) and run
with ``--before /tmp/kernel-before.so``. Prints, per build, the median and
fastest turn and the median of its per-turn ratios to the installed build.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import statistics
import sys
import time
from pathlib import Path

from run import build_dump, data_root


def load_build(path: Path):
    """The kernel module built at ``path`` (an extension module file), loaded beside the installed one."""
    loader = importlib.machinery.ExtensionFileLoader("moderation._kernel", str(path))
    spec = importlib.util.spec_from_file_location("moderation._kernel", str(path), loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def captured_calls(texts: list[str]) -> list[tuple]:
    """The arguments of every ``unit_logits`` call that scoring ``texts`` makes, their outputs as computed."""
    import moderation
    from moderation import features

    model = moderation.load_model()
    kernel = features._kernel
    if kernel is None:
        sys.exit("benchmarks/kernel.py: the kernel is not built (pip install -e . builds it)")
    calls = []

    def keep(*args):
        calls.append(args)
        return kernel.unit_logits(*args)

    features._kernel = type("Capturing", (), {"__getattr__": lambda self, name: getattr(kernel, name),
                                             "unit_logits": staticmethod(keep)})()
    try:
        model.score(texts)
    finally:
        features._kernel = kernel
    return calls


OUT = 6  # the position of ``out`` among unit_logits's arguments: the array it adds the logits to


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="comments of the dump whose units are scored")
    parser.add_argument("--turns", type=int, default=11)
    parser.add_argument("--before", type=Path, action="append", default=[],
                        help="another build of the kernel (an extension module file) to time by turns; repeatable")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    import pandas as pd
    from moderation import features

    dump = build_dump(args.rows, args.data or data_root())
    texts = pd.read_csv(dump, dtype=str, keep_default_na=False)["text"].tolist()
    calls = captured_calls(texts)
    expected = [call[OUT].copy() for call in calls]  # the installed kernel's logits
    builds = {"installed": features._kernel, **{str(p): load_build(p) for p in args.before}}
    times: dict[str, list[float]] = {name: [] for name in builds}
    for _ in range(args.turns):
        for name, kernel in builds.items():
            start = time.perf_counter()
            for call in calls:
                call[OUT][:] = 0
                kernel.unit_logits(*call)
            times[name].append(time.perf_counter() - start)
            if any((call[OUT] != e).any() for call, e in zip(calls, expected)):
                sys.exit(f"benchmarks/kernel.py: {name}'s logits differ from the installed kernel's")
    units = sum(len(call[0]) for call in calls)
    print(f"{args.rows:,} comments, {units:,} units, {args.turns} turns")
    for name, ts in times.items():
        ratio = statistics.median(t / base for t, base in zip(ts, times["installed"]))
        print(f"{name}: median {statistics.median(ts):.3f} s, fastest {min(ts):.3f} s, "
              f"{ratio:.3f} of the installed build's time (median of the turns' ratios)")


if __name__ == "__main__":
    main()
