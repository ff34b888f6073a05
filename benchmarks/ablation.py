"""Recipe ablation: each step of the default recipe switched on and off, measured on the broad yardstick.

    python benchmarks/ablation.py                         # every variant not yet measured
    python benchmarks/ablation.py plain markers augment   # these variants (measured again)
    python benchmarks/ablation.py --table                 # only rewrite results/ablation.md from the saved runs

For each variant (a ``Recipe``): leave-one-corpus-out ROC-AUC on every one of the
thirteen corpora (train on twelve, test on the one left out) and their mean, and,
for a model trained on all of them the way ``moderation train --corpus`` trains,
the probe suites written for this project: the functional suite per phenomenon,
the identity probes, abuse embedded in civil sentences, civil sentences joined,
the highlighted words and the top category. Each variant's results are saved in
``benchmarks/results/ablation/NAME.json``; ``results/ablation.md`` tabulates them
with alt-profanity-check's ROC-AUC on the same held-out corpora.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TEST_DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT / "benchmarks"))


def variants() -> dict:
    """The recipes measured: the plain recipe, then each step added to it, then the chosen recipe and each of its
    steps taken out."""
    from moderation.augment import augmentation_names
    from moderation.recipe import CORPUS_RECIPE, HATE_ONLY_CORPORA, Recipe

    ORIGINAL_AUGMENTATION = tuple(augmentation_names()[:3])  # identity-balanced, threats, slurs
    NEW_AUGMENTATION = tuple(augmentation_names()[3:])  # minimal pairs for the functional phenomena
    plain = Recipe(name="plain", C=0.5)
    steps = {
        "markers": {"markers": True},
        "C=0.25": {"C": 0.25},
        "C=1": {"C": 1.0},
        "augment": {"augment": ORIGINAL_AUGMENTATION},
        "augment+emphasis": {"augment": ORIGINAL_AUGMENTATION, "source_emphasis": {"identity_augmentation": 3.0}},
        "augment-new": {"augment": NEW_AUGMENTATION},
        "augment-new-light": {"augment": NEW_AUGMENTATION, "source_emphasis": {n: 0.3 for n in NEW_AUGMENTATION}},
        "augment-all": {"augment": ORIGINAL_AUGMENTATION + NEW_AUGMENTATION},
        "augment-all-light": {"augment": ORIGINAL_AUGMENTATION + NEW_AUGMENTATION,
                              "source_emphasis": {n: 0.3 for n in ORIGINAL_AUGMENTATION + NEW_AUGMENTATION}},
        "augment-all-0.1": {"augment": ORIGINAL_AUGMENTATION + NEW_AUGMENTATION,
                            "source_emphasis": {n: 0.1 for n in ORIGINAL_AUGMENTATION + NEW_AUGMENTATION}},
        "obscene-lexicon": {"obscene_from_lexicon": True},
        "neutralize": {"neutralize_identities": True},
        "hateval-negatives": {"unreliable_negatives": ("hateval",)},
        # every corpus whose "keep" means "not hate" rather than "fine under a comments policy"
        "hate-negatives": {"unreliable_negatives": HATE_ONLY_CORPORA},
        "chars=1-5": {"char_ngrams": (1, 5)},
        "chars=3-5": {"char_ngrams": (3, 5)},
        "words=1-3": {"word_ngrams": (1, 3)},
        "min_df=3": {"min_df": 3},
        "sentences": {"sentences": True},
    }
    out = {"plain": plain}
    out.update({f"plain+{name}": plain.with_options(name=f"plain+{name}", **change) for name, change in steps.items()})
    chosen = CORPUS_RECIPE
    out["chosen"] = chosen
    # our sentences for what the probes miss, on the chosen recipe: the remove side only (threats, slurs,
    # dehumanisation, hate statements), and every set, each weighing 0.3 of a corpus
    remove_side = ("threat_augmentation", "threat_augmentation_plain", "slur_augmentation",
                   "dehumanisation_augmentation", "hate_statement_augmentation")
    for name, sets in (("remove-side", remove_side), ("all", ORIGINAL_AUGMENTATION + NEW_AUGMENTATION)):
        out[f"chosen+augment-{name}-light"] = chosen.with_options(
            name=f"chosen+augment-{name}-light", augment=sets, source_emphasis={n: 0.3 for n in sets})
    # character n-grams from three characters up: a third fewer n-grams per comment to hash, sort and weigh
    out["chosen+chars=3-5"] = chosen.with_options(name="chosen+chars=3-5", char_ngrams=(3, 5))
    # the joined comments that teach the sentence combination weighing as one source, not as all the corpora
    out["chosen-joined=13"] = chosen.with_options(name="chosen-joined=13", joined_weight=1.0)
    for name, change in steps.items():
        undo = {k: getattr(plain, k) for k in change}
        if all(getattr(chosen, k) == v for k, v in change.items()) and undo != change:
            out[f"chosen-{name}"] = chosen.with_options(name=f"chosen-{name}", **undo)
    return out


def load_probes() -> dict:
    from moderation.identities import identity_probes

    read = lambda name: pd.read_csv(TEST_DATA / name)  # noqa: E731
    return {"functional": read("functional_suite.csv"), "identity": identity_probes(TEST_DATA / "identity_templates.csv"),
            "abusive": read("abusive_sentences.csv"), "civil": read("civil_sentences.csv"),
            "long_civil": read("long_civil_comments.csv"), "long_abusive": read("long_abusive_comments.csv"),
            "spans": read("span_probes.csv"), "categories": read("category_probes.csv")}


def probe_results(model, probes: dict) -> dict:
    from moderation.probes import (category_report, embedding_report, fairness_report, functional_report,
                                   span_report)

    functional = functional_report(model, probes["functional"])
    fairness, _ = fairness_report(probes["identity"], model.score(probes["identity"]["text"]), model.threshold)
    out = {"threshold": model.threshold,
           "functional": functional.round(4).to_dict("records"),
           "functional_min": round(float(functional["accuracy"].min()), 4),
           "functional_mean": round(float(functional["accuracy"].mean()), 4),
           "identity_fpr": round(fairness["false_positive_rate"], 4),
           "identity_worst_fpr": round(fairness["worst_identity_fpr"], 4),
           "identity_recall": round(fairness["recall"], 4),
           "embedding": embedding_report(model, probes["abusive"], probes["civil"]),
           "long_civil_flagged": round(float(model.flag(probes["long_civil"]["text"]).mean()), 4),
           "long_abusive_flagged": round(float(model.flag(probes["long_abusive"]["text"]).mean()), 4),
           "spans": span_report(model, probes["spans"])}
    if model.categories:
        out["category_accuracy"] = round(category_report(model, probes["categories"])[0], 4)
    return out


def run_variant(name, recipe, data_root, probes, loco: list[dict] | None = None) -> dict:
    """LOCO (unless ``loco`` is given, from an earlier run) and the probes of a model trained on everything."""
    from moderation.recipe import training_pool
    from moderation.training import leave_one_corpus_out, train_pool

    started = time.time()
    corpora = recipe.corpus_names()
    pool, sources = training_pool(corpus=data_root, augment=recipe.augment, corpora=corpora)
    if loco is None:
        loco = leave_one_corpus_out(pool, recipe, held_out=corpora)
    trained = time.time()
    model = train_pool(pool, sources, recipe)
    result = {"name": name, "recipe": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(recipe).items()},
              "loco": loco, "loco_mean": round(float(np.mean([r["roc_auc"] for r in loco])), 4),
              "held_out": model.card.evaluation.held_out, "calibration": model.card.calibration.to_dict(),
              "probes": probe_results(model, probes),
              "seconds": {"loco": round(trained - started, 1), "train_and_probes": round(time.time() - trained, 1)}}
    return result


def baseline_loco(data_root) -> dict:
    """alt-profanity-check's ROC-AUC on each corpus (it was trained on other data: nothing to leave out)."""
    from sklearn.metrics import roc_auc_score

    from moderation.corpora import load_corpora
    from quality import alt_profanity_check

    predict = alt_profanity_check()
    if predict is None:
        return {}
    pool = load_corpora(data_root)
    return {name: round(float(roc_auc_score(g["label"], predict(g["text"].tolist()))), 4)
            for name, g in pool.groupby("source", sort=False)}


def stale(results: list[dict], known: dict) -> list[str]:
    """A line for each saved result measured on other settings than its variant has now (a variant defined
    from the chosen recipe, measured before the chosen recipe took its last steps)."""
    from moderation.recipe import Recipe

    def listed(recipe) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(recipe).items()}

    defaults = listed(Recipe())  # a setting added later: the results saved before it had its default
    out = []
    for r in results:
        now, then = listed(known[r["name"]]), {**defaults, **r["recipe"]}
        changed = {k: then[k] for k in now if k != "name" and then[k] != now[k]}
        if changed:
            out.append(f"* {r['name']}: measured with " + ", ".join(f"{k}={v}" for k, v in changed.items()))
    return out


def table(results: list[dict], baseline: dict) -> str:
    from moderation.card import markdown_table

    corpora = [r["held_out"] for r in results[0]["loco"]] if results else []
    rows = []
    for r in results:
        p = r["probes"]
        e = p["embedding"]
        row = {"variant": r["name"], "LOCO mean": r["loco_mean"]}
        row.update({c: x["roc_auc"] for c, x in zip(corpora, r["loco"])})
        row.update({"functional min": p["functional_min"], "functional mean": p["functional_mean"],
                    "identity FPR": p["identity_fpr"], "worst identity FPR": p["identity_worst_fpr"],
                    "identity recall": p["identity_recall"],
                    "abuse flagged alone": round(e["flagged_alone"] / e["abusive"], 4),
                    "embedded@3": e["retained"].get("3", e["retained"].get(3)),
                    "civil joined@3": e["civil_joined"].get("3", e["civil_joined"].get(3)),
                    "long civil flagged": p["long_civil_flagged"], "span F1 (probes)": p["spans"]["span_f1"],
                    "category acc": p.get("category_accuracy")})
        rows.append(row)
    if baseline:
        rows.append({"variant": "alt-profanity-check", "LOCO mean": float(np.mean(list(baseline.values()))),
                     **{c: baseline.get(c) for c in corpora}})
    columns = ["variant", "LOCO mean", *corpora, "functional min", "functional mean", "identity FPR",
               "worst identity FPR", "identity recall", "abuse flagged alone", "embedded@3", "civil joined@3",
               "long civil flagged", "span F1 (probes)",
               "category acc"]
    return markdown_table(rows, columns)


def readme_table(results: list[dict], baseline: dict) -> str:
    """The README's summary: each variant's mean, its change from the plain recipe, and the main probes."""
    from moderation.card import markdown_table

    plain = next((r["loco_mean"] for r in results if r["name"] == "plain"), None)
    rows = []
    for r in results:
        p, e = r["probes"], r["probes"]["embedding"]
        rows.append({"variant": r["name"], "LOCO mean": f"{r['loco_mean']:.4f}",
                     "vs plain": f"{r['loco_mean'] - plain:+.4f}" if plain is not None else None,
                     "functional mean": p["functional_mean"], "identity FPR": p["identity_fpr"],
                     "identity recall": p["identity_recall"],
                     "abuse flagged alone": round(e["flagged_alone"] / e["abusive"], 4),
                     "embedded@3": e["retained"].get("3", e["retained"].get(3)),
                     "category acc": p.get("category_accuracy")})
    if baseline:
        mean = float(np.mean(list(baseline.values())))
        rows.append({"variant": "alt-profanity-check", "LOCO mean": f"{mean:.4f}",
                     "vs plain": f"{mean - plain:+.4f}" if plain is not None else None})
    return markdown_table(rows, ["variant", "LOCO mean", "vs plain", "functional mean", "identity FPR",
                                 "identity recall", "abuse flagged alone", "embedded@3", "category acc"])


def update_readme(text: str) -> None:
    readme = ROOT / "README.md"
    start, end = "<!-- ablation:start -->", "<!-- ablation:end -->"
    current = readme.read_text()
    if start in current and end in current:
        readme.write_text(current[:current.index(start) + len(start)] + "\n" + text + current[current.index(end):])


def main(argv=None) -> int:
    from moderation.corpora import find_data_root

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="variants to measure [default: those not measured yet]")
    parser.add_argument("--data", default=None, help="corpora directory [default: ../shared/data]")
    parser.add_argument("--table", action="store_true",
                        help="only rewrite results/ablation.md and the README's summary of it")
    parser.add_argument("--probes-only", action="store_true",
                        help="keep each variant's saved leave-one-corpus-out results, measure the rest again")
    args = parser.parse_args(argv)
    out_dir = RESULTS / "ablation"
    out_dir.mkdir(parents=True, exist_ok=True)
    known = variants()
    root = find_data_root(args.data)
    if not args.table:
        if root is None:
            print("error: corpora not found (--data DIR or MODERATION_DATA)", file=sys.stderr)
            return 2
        unknown = [n for n in args.names if n not in known]
        if unknown:
            print(f"error: unknown variant(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        names = args.names or [n for n in known if not (out_dir / f"{n}.json").exists()]
        probes = load_probes()
        for name in names:
            print(f"{name} ...", file=sys.stderr, flush=True)
            saved = out_dir / f"{name}.json"
            loco = json.loads(saved.read_text())["loco"] if args.probes_only and saved.exists() else None
            result = run_variant(name, known[name], root, probes, loco)
            (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(f"{name}: LOCO mean {result['loco_mean']:.4f} ({result['seconds']})", file=sys.stderr, flush=True)
        baseline_path = out_dir / "_alt_profanity_check.json"
        if not baseline_path.exists():
            baseline_path.write_text(json.dumps(baseline_loco(root), indent=1) + "\n")
    baseline = json.loads((out_dir / "_alt_profanity_check.json").read_text()) \
        if (out_dir / "_alt_profanity_check.json").exists() else {}
    results = [json.loads((out_dir / f"{n}.json").read_text()) for n in known if (out_dir / f"{n}.json").exists()]
    notes = stale(results, known)
    text = table(results, baseline) + ("\nMeasured on earlier settings than the variant's definition now:\n\n"
                                       + "\n".join(notes) + "\n" if notes else "")
    (RESULTS / "ablation.md").write_text("# Recipe ablation\n\n" + text)
    update_readme(readme_table(results, baseline))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
