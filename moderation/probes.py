"""Metrics on the probe sets written for this project (``tests/data``): what the corpora cannot measure.

* ``fairness_report``: the identity template probes (``identities.identity_probes``);
* ``functional_report``: accuracy per phenomenon of the functional suite (threats
  without an abusive word, counter-speech, idioms, ...);
* ``embedding_report``: whether abuse stays flagged inside civil sentences, and
  whether civil sentences become flagged when joined into a long comment;
* ``span_report``: whether the words a moderator must see are the ones highlighted;
* ``category_report``: whether the top category is the right one.

The probe sets are yardsticks: nothing here is trained on, and their texts are
never used to choose a threshold.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .metrics import bias_metrics, span_f1

__all__ = ["fairness_report", "functional_report", "embedding_report", "span_report", "category_report",
           "marked_spans", "EMBED_SENTENCES"]

EMBED_SENTENCES = (1, 2, 3)  # civil sentences put on each side of an abusive one
_MARK = re.compile(r"\[\[(.+?)\]\]")


def fairness_report(probes: pd.DataFrame, scores, threshold: float) -> tuple[dict, pd.DataFrame]:
    """Overall false-positive rate and recall at ``threshold``, and per identity the
    false-positive rate, recall, subgroup AUC, BPSN AUC and BNSP AUC."""
    s = np.asarray(scores, dtype=float)
    y = probes["label"].to_numpy(dtype=int)
    flagged = s >= threshold
    overall = {"probes": int(len(y)), "identities": int(probes["identity"].nunique()),
               "false_positive_rate": float(flagged[y == 0].mean()), "recall": float(flagged[y == 1].mean())}
    rows = []
    for identity, group in probes.groupby("identity", sort=False)["group"].first().items():
        mask = (probes["identity"] == identity).to_numpy()
        rows.append({"identity": identity, "group": group,
                     "false_positive_rate": float(flagged[mask & (y == 0)].mean()),
                     "recall": float(flagged[mask & (y == 1)].mean()),
                     **bias_metrics(y, s, mask)})
    table = pd.DataFrame(rows)
    overall["worst_identity_fpr"] = float(table["false_positive_rate"].max())
    overall["min_subgroup_auc"] = float(table["subgroup_auc"].min())
    overall["min_bpsn_auc"] = float(table["bpsn_auc"].min())
    overall["min_bnsp_auc"] = float(table["bnsp_auc"].min())
    return overall, table


def functional_report(model, suite: pd.DataFrame) -> pd.DataFrame:
    """Per phenomenon of the functional suite: its expected label, cases, accuracy at the model's threshold."""
    flagged = model.flag(suite["text"].tolist())
    right = flagged == suite["label"].to_numpy(dtype=bool)
    table = (pd.DataFrame({"phenomenon": suite["phenomenon"], "label": suite["label"], "right": right})
             .groupby("phenomenon", sort=False).agg(label=("label", "first"), cases=("right", "size"),
                                                    accuracy=("right", "mean")).reset_index())
    return table


def _joined(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts)


def embedding_report(model, abusive: pd.DataFrame, civil: pd.DataFrame, *, sentences=EMBED_SENTENCES,
                     seed: int = 0) -> dict:
    """Abuse inside civil text, and civil text joined.

    ``retained[k]``: of the abusive sentences flagged alone, the share still flagged
    with ``k`` civil sentences before and ``k`` after (drawn at random, seeded).
    ``civil_alone``: the share of civil sentences flagged alone; ``civil_joined[k]``:
    the share of comments of ``2k + 1`` civil sentences flagged.
    """
    rng = np.random.default_rng(seed)
    civil_texts = civil["text"].tolist()
    abusive_texts = abusive["text"].tolist()
    alone = model.flag(abusive_texts)
    kept = [t for t, f in zip(abusive_texts, alone) if f]
    out = {"abusive": len(abusive_texts), "flagged_alone": int(alone.sum()), "retained": {}, "civil_joined": {}}
    out["civil_alone"] = float(model.flag(civil_texts).mean())
    for k in sentences:
        embedded = []
        for text in kept:
            around = rng.choice(len(civil_texts), size=2 * k, replace=False)
            embedded.append(_joined([civil_texts[i] for i in around[:k]] + [text]
                                    + [civil_texts[i] for i in around[k:]]))
        out["retained"][k] = float(model.flag(embedded).mean()) if embedded else float("nan")
        joined = [_joined([civil_texts[i] for i in rng.choice(len(civil_texts), size=2 * k + 1, replace=False)])
                  for _ in range(len(civil_texts))]
        out["civil_joined"][k] = float(model.flag(joined).mean())
    return out


def marked_spans(text_marked: str) -> tuple[str, list[tuple[int, int]]]:
    """The text without its ``[[...]]`` marks, and the character ranges that were marked."""
    text, spans, pos = [], [], 0
    length = 0
    for m in _MARK.finditer(text_marked):
        before = text_marked[pos:m.start()]
        text.append(before)
        length += len(before)
        spans.append((length, length + len(m.group(1))))
        text.append(m.group(1))
        length += len(m.group(1))
        pos = m.end()
    text.append(text_marked[pos:])
    return "".join(text), spans


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\w[\w'*@$.!-]*", text[start:end])]


def span_report(model, probes: pd.DataFrame) -> dict:
    """On probes with the offending words marked: of the flagged comments, the share whose every marked word is
    highlighted (at least half of its characters), and the character F1 of the highlights against the marks."""
    rows = [marked_spans(t) for t in probes["text_marked"]]
    texts = [t for t, _ in rows]
    flagged = model.flag(texts)
    complete, f1 = [], []
    for (text, gold), is_flagged, found in zip(rows, flagged, model.explain_many(texts, every_text=True)):
        predicted = [(s.start, s.end) for s in found]
        f1.append(span_f1(predicted, gold))
        if not is_flagged:
            continue
        lit = np.zeros(len(text), dtype=bool)
        for s, e in predicted:
            lit[s:e] = True
        words = [w for s, e in gold for w in _words(text, s, e)]
        complete.append(all(lit[s:e].mean() >= 0.5 for s, e in words))
    return {"probes": len(texts), "flagged": int(flagged.sum()),
            "every_marked_word_highlighted": float(np.mean(complete)) if complete else float("nan"),
            "span_f1": float(np.mean(f1))}


def category_report(model, probes: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    """Top-1 accuracy of the model's top category on probes labelled with their main category, and the confusion
    table (rows: labelled category, columns: top category)."""
    top = model.top_categories(probes["text"].tolist())
    truth = probes["category"].tolist()
    accuracy = float(np.mean([t == p for t, p in zip(truth, top)]))
    confusion = pd.crosstab(pd.Series(truth, name="labelled"), pd.Series(top, name="top"))
    return accuracy, confusion
