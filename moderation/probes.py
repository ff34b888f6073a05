"""Template-generated probe sets for fairness to identities, and their metrics.

A probe set crosses templates (benign or abusive, with an ``{identity}`` slot) with
identity terms, so every identity is mentioned in exactly the same benign and
abusive sentences: any difference in scores between identities is the model's bias.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .evaluate import bias_metrics

__all__ = ["identity_probes", "fairness_report"]


def identity_probes(templates: str | Path | pd.DataFrame, terms: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Every template × every term: columns text, label, identity, group, template."""
    t = templates if isinstance(templates, pd.DataFrame) else pd.read_csv(templates)
    i = terms if isinstance(terms, pd.DataFrame) else pd.read_csv(terms)
    rows = [{"text": tpl.replace("{identity}", term), "label": int(label), "identity": term, "group": group,
             "template": tpl}
            for tpl, label in zip(t["template"], t["label"]) for term, group in zip(i["term"], i["group"])]
    return pd.DataFrame(rows)


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
