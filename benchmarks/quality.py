"""Model-quality benchmark of a model directory (the shipped default model unless told otherwise).

    python benchmarks/quality.py [--data ../shared/data] [--model models/default] [--update-card]

Measures, and writes to ``benchmarks/results/quality.json`` and ``quality.md``:

* cross-corpus validation: the model's recipe trained on all corpora but one and
  tested on the one left out, for each corpus, with alt-profanity-check beside it;
* highlighted spans: character F1 (SemEval-2021 Task 5) of ``explain`` on 20% of the
  toxic Civil Comments, held out from a model trained with the same recipe;
* on the probe sets written for this project (``tests/data``): obfuscation, the
  identity probes, the functional suite per phenomenon, abuse embedded in civil
  sentences and civil sentences joined, long comments, the marked words of the
  span probes, the top category.

``--update-card`` merges the results into the model's card (``card.json`` and
``MODEL_CARD.md``; the model file, and so its sha256, is untouched) and the
tables into the README. Trains the recipe once per corpus, so it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TEST_DATA = ROOT / "tests" / "data"


def alt_profanity_check():
    """alt-profanity-check's predict_prob, or None when it is not installed (pip install ".[bench]")."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return lambda texts: predict_prob(list(texts))


def recipe_of(model):
    """The recipe a model's card records (the default corpus recipe for cards without one)."""
    from moderation.recipe import CORPUS_RECIPE, Recipe

    described = model.card.recipe
    if not described or "settings" not in described:
        return CORPUS_RECIPE
    settings = dict(described["settings"])
    return Recipe(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})


def spans(pool, recipe, seed: int = 0) -> dict:
    """Span F1 (SemEval-2021 Task 5) on 20% of the toxic Civil Comments held out from training."""
    from moderation.metrics import span_f1
    from moderation.training import train_pool

    toxic = pool.index[(pool["source"] == "toxic_spans") & (pool["label"] == 1)]
    held = pd.Index(np.random.default_rng(seed).choice(toxic, size=len(toxic) // 5, replace=False))
    model = train_pool(pool.drop(index=held).reset_index(drop=True), recipe=recipe, refit=False)
    test = pool.loc[held]
    f1 = [span_f1([(s.start, s.end) for s in model.explain(text, every_text=True)], gold)
          for text, gold in zip(test["text"], test["spans"])]
    with_gold = [f for f, g in zip(f1, test["spans"]) if len(g)]
    return {"texts": int(len(f1)), "span_f1": round(float(np.mean(f1)), 4),
            "span_f1_texts_with_spans": round(float(np.mean(with_gold)), 4)}


def obfuscation(model) -> dict:
    pairs = pd.read_csv(TEST_DATA / "obfuscation_pairs.csv")
    plain, obf = model.score(pairs["plain"]), model.score(pairs["obfuscated"])
    flagged = plain >= model.threshold
    clean = pd.read_csv(TEST_DATA / "clean_lookalikes.csv")["text"]
    rows = []
    for kind, g in pairs.groupby("kind"):
        i = g.index.to_numpy()
        rows.append({"kind": kind, "pairs": len(i), "plain_flagged": round(float(flagged[i].mean()), 3),
                     "obfuscated_flagged": round(float((obf[i] >= model.threshold).mean()), 3),
                     "max_score_gap": round(float(np.abs(plain[i] - obf[i]).max()), 3)})
    return {"pairs": int(len(pairs)), "plain_flagged": round(float(flagged.mean()), 4),
            "obfuscated_flagged_when_plain_flagged": round(float((obf[flagged] >= model.threshold).mean()), 4),
            "max_score_gap_when_plain_flagged": round(float(np.abs(plain - obf)[flagged].max()), 4),
            "clean_lookalikes_flagged": int((model.score(clean) >= model.threshold).sum()),
            "clean_lookalikes": int(len(clean)), "table": rows}


def fairness(model) -> dict:
    from moderation.identities import identity_probes
    from moderation.probes import fairness_report

    probes = identity_probes(TEST_DATA / "identity_templates.csv")
    overall, table = fairness_report(probes, model.score(probes["text"]), model.threshold)
    return {**{k: round(v, 4) if isinstance(v, float) else v for k, v in overall.items()},
            "table": table.round(4).to_dict("records")}


def probe_suites(model) -> dict:
    """The functional suite, embedding, long comments, span probes and categories."""
    from moderation.probes import (category_report, embedding_report, functional_report, span_report)

    read = lambda name: pd.read_csv(TEST_DATA / name)  # noqa: E731
    civil = read("civil_sentences.csv")
    out = {"functional": functional_report(model, read("functional_suite.csv")).round(4).to_dict("records"),
           "embedding": embedding_report(model, read("abusive_sentences.csv"), civil),
           "long_civil_flagged": round(float(model.flag(read("long_civil_comments.csv")["text"]).mean()), 4),
           "long_abusive_flagged": round(float(model.flag(read("long_abusive_comments.csv")["text"]).mean()), 4),
           "span_probes": span_report(model, read("span_probes.csv")),
           "civil_median_score": round(float(np.median(model.score(civil["text"]))), 4)}
    if model.categories:
        accuracy, confusion = category_report(model, read("category_probes.csv"))
        out["categories"] = {"accuracy": round(accuracy, 4), "confusion": confusion.reset_index().to_dict("records")}
    return out


def markdown(results: dict) -> str:
    from moderation.card import markdown_table

    cc = results["cross_corpus"]
    out = ["## Cross-corpus validation (leave one corpus out, ROC-AUC)\n\n", markdown_table(cc)]
    if cc and "baseline_roc_auc" in cc[0]:
        out.append(f"\nMean: ours {np.mean([r['roc_auc'] for r in cc]):.3f}, alt-profanity-check "
                   f"{np.mean([r['baseline_roc_auc'] for r in cc]):.3f}.\n")
    p = results["probes"]
    out += ["\n## Functional suite (accuracy at the operating threshold)\n\n", markdown_table(p["functional"])]
    e = p["embedding"]
    out += ["\n## Abuse inside civil text\n\n",
            markdown_table([{"civil sentences on each side": k, "abusive still flagged": v,
                             "civil comment of 2k+1 sentences flagged": e["civil_joined"][k]}
                            for k, v in e["retained"].items()]),
            f"\nAbusive sentences flagged alone: {e['flagged_alone']} of {e['abusive']}; civil sentences flagged "
            f"alone: {e['civil_alone']:.3f}. Long civil comments flagged: {p['long_civil_flagged']:.3f}; long "
            f"comments with one abusive part flagged: {p['long_abusive_flagged']:.3f}.\n"]
    out += ["\n## Highlighted spans\n\n", markdown_table([{**results["spans"], **{
        f"probes: {k}": v for k, v in p["span_probes"].items()}}])]
    if "categories" in p:
        out += [f"\n## Top category\n\nAccuracy {p['categories']['accuracy']:.3f} on the category probes.\n\n",
                markdown_table(p["categories"]["confusion"])]
    out += ["\n## Obfuscation\n\n", markdown_table(results["obfuscation"]["table"])]
    f = results["fairness"]
    out += ["\n## Fairness to identities\n\n", markdown_table([{k: v for k, v in f.items() if k != "table"}]),
            "\nPer identity:\n\n", markdown_table(f["table"])]
    return "".join(out)


def update_card(model_dir: Path, results: dict) -> None:
    from moderation.card import Measured, ModelCard, markdown_table
    from moderation.persist import write_card

    card = ModelCard.from_dict(json.loads((model_dir / "card.json").read_text()))
    card.cross_corpus = results["cross_corpus"]
    s, o, f, p = results["spans"], results["obfuscation"], results["fairness"], results["probes"]
    card.measured["spans"] = Measured(
        f"Character-offset F1 (SemEval-2021 Task 5) of `explain` on {s['texts']} toxic Civil Comments held out "
        f"from training: {s['span_f1']:.3f} ({s['span_f1_texts_with_spans']:.3f} on those with annotated spans). "
        f"On our span probes, every marked word of a flagged comment is highlighted in "
        f"{p['span_probes']['every_marked_word_highlighted']:.1%} of them (character F1 "
        f"{p['span_probes']['span_f1']:.3f}).")
    card.measured["obfuscation"] = Measured(
        f"{o['pairs']} (plain, obfuscated) pairs written by us: plain flagged {o['plain_flagged']:.1%}; obfuscated "
        f"variants of flagged ones flagged {o['obfuscated_flagged_when_plain_flagged']:.1%}, largest score gap "
        f"{o['max_score_gap_when_plain_flagged']:.3f}; civil look-alikes flagged {o['clean_lookalikes_flagged']} of "
        f"{o['clean_lookalikes']}.", o["table"])
    card.measured["fairness"] = Measured(
        f"{f['probes']} template probes over {f['identities']} identities: benign false-positive rate "
        f"{f['false_positive_rate']:.1%} (worst identity {f['worst_identity_fpr']:.1%}), abusive recall "
        f"{f['recall']:.1%}; lowest subgroup AUC {f['min_subgroup_auc']:.3f}, BPSN {f['min_bpsn_auc']:.3f}, BNSP "
        f"{f['min_bnsp_auc']:.3f}.")
    card.measured["functional_suite"] = Measured(
        "Accuracy per phenomenon at the operating threshold on our functional suite (written by us, never "
        "trained on).", p["functional"])
    e = p["embedding"]
    card.measured["whole_comments"] = Measured(
        f"Of {e['flagged_alone']} abusive sentences flagged alone, the share still flagged with k civil sentences "
        f"on each side, and the share of comments of 2k+1 civil sentences flagged (civil sentences alone: "
        f"{e['civil_alone']:.3f}). Long civil comments flagged: {p['long_civil_flagged']:.3f}; long comments with "
        f"one abusive part: {p['long_abusive_flagged']:.3f}.",
        [{"k": k, "abuse_still_flagged": v, "civil_joined_flagged": e["civil_joined"][k]}
         for k, v in e["retained"].items()])
    cat_cols = sorted({k for r in results["cross_corpus"] for k in r if k.endswith("_roc_auc")
                       and k != "baseline_roc_auc"})
    if cat_cols:
        card.categories.summary = (f"Top category right on {p['categories']['accuracy']:.1%} of our category "
                                   "probes. Category ROC-AUC on each left-out corpus where it labels the category:"
                                   if "categories" in p else
                                   "Category ROC-AUC on each left-out corpus where it labels the category.")
        card.categories.table = [{"held_out": r["held_out"], **{c: r.get(c) for c in cat_cols}}
                                 for r in results["cross_corpus"]]
    write_card(model_dir, card)
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- cross-corpus:start -->", "<!-- cross-corpus:end -->"
    if start in text and end in text:
        names = {"held_out": "left out", "rows": "rows", "positive_rate": "share to remove",
                 "roc_auc": "ours", "baseline_roc_auc": "alt-profanity-check"}
        rows = [{names[k]: v for k, v in r.items() if k in names} for r in results["cross_corpus"]]
        if "alt-profanity-check" in rows[0]:
            rows.append({"left out": "mean", "ours": float(np.mean([r["ours"] for r in rows])),
                         "alt-profanity-check": float(np.mean([r["alt-profanity-check"] for r in rows]))})
        table = markdown_table(rows, [c for c in names.values() if c in rows[0]])
        text = text[:text.index(start) + len(start)] + "\n" + table + text[text.index(end):]
        readme.write_text(text)


def main(argv=None) -> int:
    import moderation
    from moderation.corpora import find_data_root
    from moderation.recipe import training_pool
    from moderation.training import leave_one_corpus_out

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="corpora directory [default: ../shared/data]")
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--update-card", action="store_true")
    args = parser.parse_args(argv)
    root = find_data_root(args.data)
    if root is None:
        print("error: corpora not found (--data DIR or MODERATION_DATA)", file=sys.stderr)
        return 2
    started = time.time()
    model = moderation.load_model(args.model)
    recipe = recipe_of(model)
    corpora = recipe.corpus_names()
    results = {"model": args.model, "model_sha256": model.card.sha256, "recipe": recipe.name,
               "obfuscation": obfuscation(model), "fairness": fairness(model), "probes": probe_suites(model)}
    print(f"probe sets done ({time.time() - started:.0f} s)", file=sys.stderr)
    pool, _ = training_pool(corpus=root, augment=recipe.augment, corpora=corpora)
    results["spans"] = spans(pool, recipe)
    print(f"spans done ({time.time() - started:.0f} s)", file=sys.stderr)
    results["cross_corpus"] = leave_one_corpus_out(pool, recipe, held_out=corpora, baseline=alt_profanity_check())
    results["seconds"] = round(time.time() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "quality" if Path(args.model).resolve() == (ROOT / "models" / "default").resolve() else \
        f"quality-{Path(args.model).name}"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(results))
    print(markdown(results))
    if args.update_card:
        update_card(Path(args.model), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
