"""Model-quality benchmark: cross-corpus validation against alt-profanity-check, categories,
highlighted spans, calibration, obfuscation and fairness.

    python benchmarks/quality.py [--data ../shared/data] [--model models/default] [--update-card]

Trains the default recipe (``moderation train --corpus``) once per left-out corpus,
so it takes minutes. Writes ``benchmarks/results/quality.json`` and
``benchmarks/results/quality.md``; ``--update-card`` also merges the results into
the model's card (``card.json`` and ``MODEL_CARD.md``; the model file, and so its
sha256, is untouched) and the cross-corpus table into the README.
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


def cross_corpus(pool, baseline) -> list[dict]:
    from moderation.corpora import CORPORA
    from moderation.training import leave_one_corpus_out

    return leave_one_corpus_out(pool, held_out=list(CORPORA), baseline=baseline)


def spans(pool, seed: int = 0) -> dict:
    """Span F1 (SemEval-2021 Task 5) on 20% of the toxic Civil Comments held out from training."""
    from moderation.evaluate import span_f1
    from moderation.training import train_pool

    toxic = pool.index[(pool["source"] == "toxic_spans") & (pool["label"] == 1)]
    held = pd.Index(np.random.default_rng(seed).choice(toxic, size=len(toxic) // 5, replace=False))
    model = train_pool(pool.drop(index=held).reset_index(drop=True), refit=False)
    test = pool.loc[held]
    f1 = [span_f1([(s.start, s.end) for s in model.explain(text)], gold)
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
    from moderation.probes import fairness_report, identity_probes

    probes = identity_probes(TEST_DATA / "identity_templates.csv", TEST_DATA / "identity_terms.csv")
    overall, table = fairness_report(probes, model.score(probes["text"]), model.threshold)
    return {**{k: round(v, 4) if isinstance(v, float) else v for k, v in overall.items()},
            "table": table.round(4).to_dict("records")}


def markdown(results: dict) -> str:
    from moderation.card import markdown_table

    cc = results["cross_corpus"]
    out = ["## Cross-corpus validation (leave one corpus out, ROC-AUC)\n\n", markdown_table(cc)]
    if cc and "baseline_roc_auc" in cc[0]:
        ours = np.mean([r["roc_auc"] for r in cc])
        theirs = np.mean([r["baseline_roc_auc"] for r in cc])
        out.append(f"\nMean: ours {ours:.3f}, alt-profanity-check {theirs:.3f}.\n")
    out += ["\n## Highlighted spans\n\n", markdown_table([results["spans"]])]
    out += ["\n## Obfuscation\n\n", markdown_table(results["obfuscation"]["table"])]
    f = results["fairness"]
    out += ["\n## Fairness to identities\n\n",
            markdown_table([{k: v for k, v in f.items() if k != "table"}]),
            "\nPer identity:\n\n", markdown_table(f["table"])]
    return "".join(out)


def update_card(model_dir: Path, results: dict) -> None:
    from moderation.card import markdown_table, render_model_card

    card_path = model_dir / "card.json"
    card = json.loads(card_path.read_text())
    card["cross_corpus"] = results["cross_corpus"]
    s, o, f = results["spans"], results["obfuscation"], results["fairness"]
    card["spans"] = {"summary": f"Character-offset F1 (SemEval-2021 Task 5) of `explain` on {s['texts']} toxic "
                                f"Civil Comments held out from training: {s['span_f1']:.3f} "
                                f"({s['span_f1_texts_with_spans']:.3f} on those with annotated spans)."}
    card["obfuscation"] = {"summary": f"{o['pairs']} (plain, obfuscated) pairs written by us: plain flagged "
                                      f"{o['plain_flagged']:.1%}; obfuscated variants of flagged ones flagged "
                                      f"{o['obfuscated_flagged_when_plain_flagged']:.1%}, largest score gap "
                                      f"{o['max_score_gap_when_plain_flagged']:.3f}; civil look-alikes flagged "
                                      f"{o['clean_lookalikes_flagged']} of {o['clean_lookalikes']}.",
                           "table": o["table"]}
    card["fairness"] = {"summary": f"{f['probes']} template probes over {f['identities']} identities: benign "
                                   f"false-positive rate {f['false_positive_rate']:.1%} (worst identity "
                                   f"{f['worst_identity_fpr']:.1%}), abusive recall {f['recall']:.1%}; lowest "
                                   f"subgroup AUC {f['min_subgroup_auc']:.3f}, BPSN {f['min_bpsn_auc']:.3f}, "
                                   f"BNSP {f['min_bnsp_auc']:.3f}."}
    cat_cols = sorted({k for r in results["cross_corpus"] for k in r if k.endswith("_roc_auc")
                       and k not in ("baseline_roc_auc",)})
    if cat_cols:
        card["categories"] = {**card.get("categories", {}),
                              "summary": "Category ROC-AUC on each left-out corpus where it labels the category.",
                              "table": [{"held_out": r["held_out"], **{c: r.get(c) for c in cat_cols}}
                                        for r in results["cross_corpus"]]}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    (model_dir / "MODEL_CARD.md").write_text(render_model_card(card))
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
    from moderation.training import training_pool

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
    pool, _ = training_pool(corpus=root)
    model = moderation.load_model(args.model)
    results = {"model": args.model, "model_sha256": model.card["file"]["sha256"],
               "obfuscation": obfuscation(model), "fairness": fairness(model)}
    print(f"obfuscation and fairness done ({time.time() - started:.0f} s)", file=sys.stderr)
    results["spans"] = spans(pool)
    print(f"spans done ({time.time() - started:.0f} s)", file=sys.stderr)
    results["cross_corpus"] = cross_corpus(pool, alt_profanity_check())
    results["seconds"] = round(time.time() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "quality.md").write_text(markdown(results))
    print(markdown(results))
    if args.update_card:
        update_card(Path(args.model), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
