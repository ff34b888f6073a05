"""Metrics on probe sets written by us: fairness to identities on the template probes
(``identities.identity_probes``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import bias_metrics

__all__ = ["fairness_report"]


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
