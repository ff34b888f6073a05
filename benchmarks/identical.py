"""The fast scoring paths against their references, on a million comments: the same results, or how far apart.

    python benchmarks/identical.py                  # 1,000,000 comments (several minutes)
    python benchmarks/identical.py --rows 20000     # a quick look

The fast paths (``normalize_many``, the compiled ``split_many``, ``Model._units``,
the compiled kernel behind ``LinearHead.text_logits`` and ``LinearHead.reasons``,
and ``Model._gather``) are each held to a reference written the plain way:
``normalize`` one text at a time, ``sentences.split``, the units built one text
at a time and the combiner's inputs and leading units one unit at a time
(``tests/references.py``), the logits as ``hstack(block.transform(units)) @
coef`` through scipy's sparse product, and the reasons (for every unit) from the
word block's matrix and occurrences (``LinearHead.top_terms``). The tests do
this on our texts and on generated ones; this does it at scale.

The comments are made from the corpora's texts (``../shared/data``): each one
joins one to four texts drawn at random with a space, a line break, ". " or
nothing, so that almost every comment is new and many hold several sentences. Writes
``results/identical.md`` and ``results/identical.json``: per stage, how many
items differ and the largest absolute difference of the logits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # the references the tests hold the fast paths to

BLOCK = 20_000  # comments checked at a time (bounds the reference's sparse matrices)


def comments(data: Path, rows: int, seed: int = 0) -> list[str]:
    """``rows`` comments, each one to four corpus texts joined (see the module)."""
    from moderation.corpora import load_corpora

    texts = load_corpora(data)["text"].astype(str).tolist()
    rng = np.random.default_rng(seed)
    joins = np.array([" ", "\n", ". ", ""], dtype=object)
    counts = rng.integers(1, 5, size=rows)
    picks = rng.integers(0, len(texts), size=int(counts.sum()))
    glue = joins[rng.integers(0, len(joins), size=int(counts.sum()))]
    out, at = [], 0
    for n in counts.tolist():
        parts = [texts[i] for i in picks[at:at + n].tolist()]
        out.append("".join(p + g for p, g in zip(parts[:-1], glue[at:at + n - 1])) + parts[-1])
        at += n
    return out


def check(model, texts: list[str]) -> dict:
    """One block: the differences of each stage from its reference."""
    import scipy.sparse as sp

    from moderation.model import MAX_TEXT_CHARS
    from moderation.normalize import normalize, normalize_many
    from moderation.sentences import combined_inputs, split, split_many
    from references import reference_combination, reference_units

    texts = [t[:MAX_TEXT_CHARS] for t in texts]
    fast_norm = normalize_many(texts)
    norm_diff = sum(a != normalize(t) for a, t in zip(fast_norm, texts))
    counts, spans = split_many(texts, most=10 ** 9)
    rows = [tuple(r) for r in spans.tolist()]
    ends = np.cumsum(counts).tolist()
    split_diff = sum(rows[e - c:e] != split(t) for c, e, t in zip(counts.tolist(), ends, texts))
    units, owner, whole, ranges = model._units(texts)
    ref_units, ref_owner, ref_whole, ref_ranges = reference_units(model, texts)
    units_diff = int((units, owner.tolist(), whole.tolist(), [tuple(r) for r in ranges.tolist()])
                     != (ref_units, ref_owner, ref_whole, ref_ranges))
    head = model.head
    fast = head.text_logits(units, whole)
    coef, intercept = head.stacked
    reference = np.asarray(sp.hstack([b.transform(units) for b in head.features], format="csr") @ coef) + intercept
    gap = np.abs(fast - reference)
    present, whole_logit, strongest, n_sentences, lead = model._gather(len(texts), owner, whole, fast[:, 0])
    ref_inputs, ref_lead = reference_combination(len(texts), ref_owner, ref_whole, reference[:, 0])
    inputs = combined_inputs(whole_logit, strongest, n_sentences)
    combination_diff = int((~((inputs == ref_inputs).all(axis=1)) | (lead != ref_lead)).sum())
    words = head.features[0]
    reasons_diff = sum(a != b for a, b in zip(head.reasons(units, 3),
                                              head.top_terms(units, *words.transform_with_occurrences(units), 3)))
    return {"comments": len(texts), "units": len(units), "normalize_differ": int(norm_diff),
            "split_differ": int(split_diff), "units_differ": units_diff, "combination_differ": combination_diff,
            "logits_differ": int((gap.max(axis=1) > 0).sum()), "largest_logit_gap": float(gap.max(initial=0.0)),
            "reasons_differ": int(reasons_diff)}


def render(total: dict, info: dict) -> str:
    rows = [("normalised texts that differ (`normalize_many` against `normalize`)", total["normalize_differ"]),
            ("sentence splits that differ (compiled `split_many` against `split`)", total["split_differ"]),
            ("blocks whose units differ (`Model._units` against one text at a time)", total["units_differ"]),
            ("comments whose combiner inputs or leading unit differ (vectorised against one unit at a time)",
             total["combination_differ"]),
            ("units whose logits differ (kernel against the sparse product), any of the "
             f"{info['columns']} classifiers", total["logits_differ"]),
            ("largest absolute difference of a logit", f"{total['largest_logit_gap']:.3g}"),
            ("units whose three reasons differ (kernel's `top_words` against `LinearHead.top_terms` of the word "
             "block's matrix and occurrences)", total["reasons_differ"])]
    lines = ["# The fast paths against their references", "",
             f"{total['comments']:,} comments ({total['units']:,} scored units: whole comments and their "
             f"sentences), made by joining 1-4 corpus texts at random; {info['seconds']:.0f} s. "
             f"{info['when']}, {info['model']}.", "",
             "| check | result |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="comments to check [default: 1,000,000]")
    parser.add_argument("--data", type=Path, help="the corpora directory [default: ../shared/data]")
    parser.add_argument("--model", type=Path, help="the model directory [default: the shipped default]")
    args = parser.parse_args(argv)
    import moderation
    from run import data_root

    start = time.perf_counter()
    model = moderation.load_model(args.model) if args.model else moderation.load_model()
    texts = comments(args.data or data_root(), args.rows)
    total = {"comments": 0, "units": 0, "normalize_differ": 0, "split_differ": 0, "units_differ": 0,
             "combination_differ": 0, "logits_differ": 0, "largest_logit_gap": 0.0, "reasons_differ": 0}
    for at in range(0, len(texts), BLOCK):
        part = check(model, texts[at:at + BLOCK])
        for key, value in part.items():
            total[key] = max(total[key], value) if key == "largest_logit_gap" else total[key] + value
        print(f"{at + len(texts[at:at + BLOCK]):,} comments: {json.dumps(total)}", file=sys.stderr, flush=True)
    info = {"seconds": time.perf_counter() - start, "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "model": f"model {args.model}" if args.model else "the shipped default model",
            "columns": 1 + len(model.categories)}
    table = render(total, info)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "identical.md").write_text(table)
    (RESULTS / "identical.json").write_text(json.dumps({**total, **info}, indent=2) + "\n")


if __name__ == "__main__":
    main()
