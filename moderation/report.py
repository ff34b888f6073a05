"""The HTML evaluation report: one self-contained file of plots and tables for choosing a threshold.

``render_report`` takes ``Evaluation``s (one model on one labelled set each, from
``evaluate.detailed_evaluation``) and lays them out side by side, one column each:
several data files, or two models on the same data with their difference. Plots
are drawn with matplotlib (without pyplot's global state) and embedded as PNG
data URIs; every text from the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
from html import escape
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import ModerationError
from .evaluate import Evaluation

__all__ = ["render_report", "write_report"]

BIAS_COLUMNS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")
CATEGORY_HEADINGS = {"labelled_rows": "labelled", "roc_auc": "AUC", "roc_auc_vs_remove": "AUC vs remove",
                     "mean_score_remove": "mean on remove", "mean_score_keep": "mean on keep"}
HEATMAP_ROWS = 30  # identities drawn in the heat map, worst first; the table below it has them all
# the metrics of the summary table, in the order and with the labels of `moderation evaluate`
SUMMARY = (("rows", "rows"), ("positives", "remove"), ("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"),
           ("brier", "Brier"), ("threshold", "threshold"), ("precision", "precision"), ("recall", "recall"),
           ("f1", "F1"), ("flag_rate", "flag rate"))


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ModerationError('the HTML report needs matplotlib: pip install ".[report]"') from None
    return Figure


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return "–" if v != v else f"{v:.3f}"
    return "–" if v is None or v is pd.NA else str(v)


def _signed(v: float) -> str:
    return "–" if v != v else f"{v:+.3f}"


def _table(df: pd.DataFrame, cls: str, caption: str | None = None) -> str:
    if df.empty:
        return '<p class="none">(none)</p>'
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table class="{cls}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig, alt: str, cls: str) -> str:
    return f'<img class="{cls}" alt="{escape(alt)}" src="{_png(fig)}">'


def _label(e: Evaluation, by_model: bool) -> str:
    return e.model if by_model else Path(e.data).name


# -- plots ------------------------------------------------------------------------------------

def _curves_plot(evals: list[Evaluation], by_model: bool) -> str:
    """ROC and precision-recall curves of one data file, a line per model, the operating point marked."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    Figure = _figure_class()
    fig = Figure(figsize=(9, 3.8))
    roc, pr = fig.subplots(1, 2)
    for i, e in enumerate(evals):
        colour = f"C{i}"
        name = _label(e, by_model)
        if len(set(e.labels.tolist())) < 2:
            continue
        fpr, tpr, _ = roc_curve(e.labels, e.scores)
        roc.plot(fpr, tpr, color=colour, label=f"{name} (AUC {e.metrics['roc_auc']:.3f})")
        precision, recall, _ = precision_recall_curve(e.labels, e.scores)
        pr.plot(recall, precision, color=colour, label=f"{name} (AP {e.metrics['pr_auc']:.3f})")
        c = e.confusion
        op_fpr = c["false_positive"] / max(c["false_positive"] + c["true_negative"], 1)
        roc.plot([op_fpr], [e.metrics["recall"]], "o", color=colour, markersize=7)
        pr.plot([e.metrics["recall"]], [e.metrics["precision"]], "o", color=colour, markersize=7,
                label=f"threshold {e.threshold:.3f}")
    roc.plot([0, 1], [0, 1], ":", color="grey", linewidth=1)
    roc.set(xlabel="false-positive rate (keep comments flagged)", ylabel="recall (remove comments flagged)",
            title="ROC curve", xlim=(0, 1), ylim=(0, 1.01))
    pr.set(xlabel="recall", ylabel="precision", title="Precision-recall curve", xlim=(0, 1), ylim=(0, 1.01))
    for ax in (roc, pr):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    return _img(fig, f"ROC and precision-recall curves for {Path(evals[0].data).name}", "curves")


def _threshold_plot(e: Evaluation) -> str:
    """Precision, recall and flag rate against the threshold, the operating threshold marked."""
    Figure = _figure_class()
    c = e.curve
    fig = Figure(figsize=(4.6, 3.4))
    ax = fig.subplots()
    ax.plot(c["threshold"], c["precision"], label="precision")
    ax.plot(c["threshold"], c["recall"], label="recall")
    ax.plot(c["threshold"], c["flag_rate"], "--", label="flag rate (workload)")
    ax.axvline(e.threshold, color="black", linewidth=1)
    ax.text(e.threshold, 0.02, f" {e.threshold:.3f}", fontsize=8)
    ax.set(xlabel="threshold", ylim=(0, 1.02), xlim=(0, 1), title="What each threshold costs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return _img(fig, f"precision, recall and flag rate by threshold: {e.model} on {Path(e.data).name}", "thresholds")


def _picker(e: Evaluation) -> str:
    """A threshold slider that shows precision, recall and workload at every threshold of the curve."""
    rows = [[round(float(t), 2), None if p != p else round(float(p), 4), round(float(r), 4), round(float(f), 4), int(n)]
            for t, p, r, f, n in e.curve[["threshold", "precision", "recall", "flag_rate", "flagged"]]
            .itertuples(index=False)]
    start = min(max(round(e.threshold, 2), 0.01), 0.99)
    return (f'<div class="picker" data-curve="{escape(json.dumps(rows))}" data-rows="{len(e.labels)}">'
            f'<label>Try a threshold: <input type="range" min="0.01" max="0.99" step="0.01" value="{start:.2f}"> '
            f'<output class="threshold">{start:.2f}</output></label>'
            '<p>precision <output class="precision">–</output> · recall <output class="recall">–</output> · '
            'flag rate <output class="flag_rate">–</output> (<output class="flagged">–</output> comments, '
            '<output class="per10k">–</output> per 10,000)</p></div>')


PICKER_JS = """
document.querySelectorAll('.picker').forEach(function (picker) {
  var curve = JSON.parse(picker.dataset.curve), input = picker.querySelector('input');
  function show() {
    var t = Number(input.value).toFixed(2), row = curve.find(function (r) { return r[0].toFixed(2) === t; });
    function put(cls, text) { picker.querySelector('.' + cls).textContent = text; }
    put('threshold', t);
    if (!row) return;
    put('precision', row[1] === null ? '–' : row[1].toFixed(3));
    put('recall', row[2].toFixed(3));
    put('flag_rate', row[3].toFixed(3));
    put('flagged', String(row[4]));
    put('per10k', String(Math.round(row[3] * 10000)));
  }
  input.addEventListener('input', show);
  show();
});
"""


def _calibration_plot(evals: list[Evaluation], by_model: bool) -> str:
    """The reliability curve of one data file, a line per model."""
    Figure = _figure_class()
    fig = Figure(figsize=(4.6, 3.8))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=1, label="perfectly calibrated")
    for i, e in enumerate(evals):
        c = e.calibration
        if c.empty:
            continue
        ax.plot(c["mean_score"], c["observed_rate"], "o-", color=f"C{i}",
                label=f"{_label(e, by_model)} (Brier {e.metrics['brier']:.3f})")
    ax.set(xlabel="mean score in the bin", ylabel="share labelled remove", xlim=(0, 1), ylim=(0, 1.02),
           title="Calibration")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _img(fig, f"calibration curve for {Path(evals[0].data).name}", "calibration")


def _bias_heatmap(e: Evaluation) -> str:
    """Subgroup, BPSN and BNSP AUC per identity as a heat map (red below 0.8, green near 1)."""
    Figure = _figure_class()
    t = _worst_identities(e.identities).head(HEATMAP_ROWS)
    values = t[list(BIAS_COLUMNS)].to_numpy(dtype=float)
    fig = Figure(figsize=(4.2, 0.9 + 0.26 * len(t)))
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=0.5, vmax=1.0, aspect="auto")
    ax.set_xticks(range(3), ["subgroup", "BPSN", "BNSP"])
    ax.set_yticks(range(len(t)), t["identity"].tolist(), fontsize=8)
    for (r, c), v in np.ndenumerate(values):
        ax.text(c, r, "–" if v != v else f"{v:.2f}", ha="center", va="center", fontsize=7)
    ax.set_title("Bias AUCs per identity", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.08)
    return _img(fig, f"identity-bias heat map: {e.model} on {Path(e.data).name}", "bias")


def _worst_identities(table: pd.DataFrame) -> pd.DataFrame:
    """Identities ordered by their lowest bias AUC, worst first (unmeasurable AUCs last)."""
    worst = table[list(BIAS_COLUMNS)].min(axis=1, skipna=True).fillna(np.inf)
    return table.assign(_worst=worst).sort_values(["_worst", "identity"], kind="stable").drop(columns="_worst")


# -- sections ---------------------------------------------------------------------------------

def _columns(cells: Sequence[str], headings: Sequence[str]) -> str:
    inner = "".join(f'<div class="column"><h3>{escape(h)}</h3>{c}</div>' for h, c in zip(headings, cells))
    return f'<div class="columns" style="--n:{len(cells)}">{inner}</div>'


def _summary_table(evals: list[Evaluation], headings: list[str], compare: bool) -> str:
    """Metrics (rows) by evaluation (columns); with two models, the difference per data file."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    pairs = []
    if compare:
        pairs = [(a, b) for a, b in zip(evals[0::2], evals[1::2])]
        head += "".join(f"<th>difference ({escape(b.model)} − {escape(a.model)}), {escape(Path(a.data).name)}</th>"
                        for a, b in pairs)
    body = []
    for key, label in SUMMARY:
        cells = "".join(f'<td data-metric="{key}">{escape(_fmt(e.metrics[key]))}</td>' for e in evals)
        cells += "".join(f'<td class="difference">{escape(_signed(float(b.metrics[key]) - float(a.metrics[key])))}</td>'
                         for a, b in pairs)
        body.append(f"<tr><th>{escape(label)}</th>{cells}</tr>")
    return f'<table class="summary"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _confusion(e: Evaluation) -> str:
    c = e.confusion
    total = max(sum(c.values()), 1)

    def cell(key: str, cls: str) -> str:
        return f'<td class="{cls}" data-cell="{key}">{c[key]}<small>{100 * c[key] / total:.1f}%</small></td>'

    return ('<table class="confusion"><thead><tr><th></th><th>flagged</th><th>not flagged</th></tr></thead><tbody>'
            f'<tr><th>labelled remove</th>{cell("true_positive", "good")}{cell("false_negative", "bad")}</tr>'
            f'<tr><th>labelled keep</th>{cell("false_positive", "bad")}{cell("true_negative", "good")}</tr>'
            f"</tbody></table><p class=\"note\">at threshold {e.threshold:.3f}</p>")


def _identities(e: Evaluation) -> str:
    if e.identities.empty:
        return '<p class="none">No identity word is mentioned often enough in this data.</p>'
    shown = min(len(e.identities), HEATMAP_ROWS)
    note = (f'<p class="note">The {shown} identities with the lowest AUCs of {len(e.identities)}.</p>'
            if shown < len(e.identities) else "")
    return (_bias_heatmap(e) + note + f"<details><summary>All {len(e.identities)} identities</summary>"
            + _table(_worst_identities(e.identities), "identities") + "</details>")


def _categories(e: Evaluation) -> str:
    return _table(e.categories.rename(columns=CATEGORY_HEADINGS), "categories")


def _highlight(text: str, spans, limit: int = 1200) -> str:
    """``text`` escaped, with the spans in ``<mark>``; cut at ``limit`` characters."""
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start >= limit:
            break
        out.append(escape(text[at:span.start]))
        out.append(f'<mark title="weight {span.weight:.2f}">{escape(text[span.start:min(span.end, limit)])}</mark>')
        at = min(span.end, limit)
    out.append(escape(text[at:limit]))
    if len(text) > limit:
        out.append("…")
    return "".join(out)


def _example_list(items: list[dict], kind: str) -> str:
    if not items:
        return f'<p class="none">No {kind}.</p>'
    rows = "".join(f'<li><span class="score">{x["score"]:.3f}</span> <span class="row">row {x["row"]}</span> '
                   f'<q>{_highlight(x["text"], x["spans"])}</q></li>' for x in items)
    return f'<ol class="examples {kind.replace(" ", "-")}">{rows}</ol>'


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#23303f;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#c9d3de}main{padding:8px 28px 40px}
section{background:#fff;border:1px solid #dde2e8;border-radius:8px;margin:18px 0;padding:6px 20px 16px}
h2{font-size:18px;margin:14px 0 6px}h3{font-size:14px;margin:10px 0 6px;color:#38495c}
.lead{color:#4a5866;max-width:80ch}
.columns{display:grid;grid-template-columns:repeat(var(--n),minmax(320px,1fr));gap:18px;overflow-x:auto}
.column{min-width:0}img{max-width:100%;height:auto}.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e3e7ec;padding:3px 9px;text-align:right}th{background:#f0f3f6}
tbody th{text-align:left}td:first-child{text-align:left}caption{text-align:left;color:#4a5866;padding:2px 0}
td.difference{font-weight:600}
.confusion td{width:110px;text-align:center;font-size:16px}.confusion small{display:block;color:#5b6875;font-size:11px}
.confusion td.good{background:#e3f4e6}.confusion td.bad{background:#fbe4e1}
mark{background:#ffd35c;border-radius:2px;padding:0 1px}
.examples li{margin:6px 0}.examples q{quotes:none}.score{font-weight:600}.row{color:#7a8694;font-size:12px}
.none,.note{color:#6a7785}.picker{margin:8px 0;padding:6px 10px;background:#f0f3f6;border-radius:6px}
.picker input{width:220px;vertical-align:middle}.picker output{font-weight:600}.picker p{margin:4px 0 0}summary{cursor:pointer;color:#38495c;margin:6px 0}
"""


def render_report(evaluations: Sequence[Evaluation], *, compare: bool = False, title: str = "Moderation model evaluation",
                  created: str | None = None) -> str:
    """The report as one HTML document.

    One column per evaluation. With ``compare``, the evaluations come in pairs (the
    model, then the other model, on each data file) and the summary gets a
    difference column per pair.
    """
    evals = list(evaluations)
    if not evals:
        raise ModerationError("nothing to report: give at least one labelled data file")
    if compare and (len(evals) % 2 or any(a.data != b.data for a, b in zip(evals[0::2], evals[1::2]))):
        raise ModerationError("compare needs the evaluations in pairs of two models on the same data")
    many_data = len({e.data for e in evals}) > 1
    headings = [(f"{Path(e.data).name} · {e.model}" if many_data else e.model) if compare else Path(e.data).name
                for e in evals]
    by_data: dict[str, list[Evaluation]] = {}
    for e in evals:
        by_data.setdefault(e.data, []).append(e)
    created = created or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    models = sorted({e.model for e in evals})
    data_line = "; ".join(f"{escape(d)} ({len(es[0].labels)} rows, {int(es[0].labels.sum())} labelled remove)"
                          for d, es in by_data.items())
    parts = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p>Model{'s' if len(models) > 1 else ''}: {escape(', '.join(models))}</p>"
        f"<p>Data: {data_line}</p><p>Written {escape(created)}</p></header><main>",
        '<section id="summary"><h2>Summary at the operating threshold</h2>'
        '<p class="lead">Precision: the share of flagged comments that are labelled remove. Recall: the share of '
        "remove comments that are flagged. Flag rate: the share of all comments flagged, the moderators' workload. "
        "Brier: the mean squared error of the scores as probabilities (lower is better).</p>",
        _summary_table(evals, headings, compare), "</section>",
        '<section id="thresholds"><h2>Choosing a threshold</h2>'
        '<p class="lead">Raising the threshold flags fewer comments: precision rises, recall and the workload fall. '
        "The second table gives the threshold that reaches a target on this data.</p>",
        _columns([_threshold_plot(e) + _picker(e) + _table(e.thresholds, "thresholds", "at fixed thresholds")
                  + _table(e.operating_points, "operating-points", "to reach a target") for e in evals], headings),
        "</section>",
        '<section id="curves"><h2>ROC and precision-recall curves</h2>'
        '<p class="lead">The dot is the operating threshold.</p>',
        "".join(_curves_plot(es, compare) for es in by_data.values()), "</section>",
        '<section id="confusion"><h2>Confusion matrix</h2>',
        _columns([_confusion(e) for e in evals], headings), "</section>",
        '<section id="calibration"><h2>Calibration</h2>'
        '<p class="lead">Per score bin, the share of comments labelled remove. Points below the diagonal mean the '
        "scores overstate the chance of abuse on this data; the share of abuse in the data moves the curve.</p>",
        _columns([_calibration_plot(es, compare) for es in by_data.values()], [Path(d).name for d in by_data]),
        _columns([_table(e.calibration, "calibration") for e in evals], headings), "</section>",
    ]
    if any(not e.categories.empty for e in evals):
        parts += ['<section id="categories"><h2>Categories</h2>'
                  '<p class="lead">Each category score against the category\'s own labels where the data has a column '
                  "of that name (AUC), and against remove/keep (AUC vs remove).</p>",
                  _columns([_categories(e) for e in evals], headings), "</section>"]
    parts += ['<section id="identities"><h2>Fairness to identities</h2>'
              '<p class="lead">For each identity word mentioned in the data: subgroup AUC (only comments mentioning '
              "it), BPSN (benign comments mentioning it against abusive ones that do not: low means its mere mention "
              "raises scores) and BNSP (abusive comments mentioning it against benign ones that do not: low means "
              "abuse of the group is missed); Borkan et al., 2019.</p>",
              _columns([_identities(e) for e in evals], headings), "</section>",
              '<section id="errors"><h2>Worst errors</h2>'
              '<p class="lead">The highest-scoring comments labelled keep and the lowest-scoring labelled remove, '
              "with the words that pushed the score up highlighted.</p>",
              _columns(["<h4>False positives</h4>" + _example_list(e.false_positives, "false positives")
                        + "<h4>False negatives</h4>" + _example_list(e.false_negatives, "false negatives")
                        for e in evals], headings), "</section>",
              f"</main><script>{PICKER_JS}</script></body></html>\n"]
    return "".join(parts)


def write_report(path: str | Path, evaluations: Sequence[Evaluation], *, compare: bool = False) -> Path:
    """Render the report and write it to ``path`` atomically."""
    path = Path(path)
    html = render_report(evaluations, compare=compare)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ModerationError(f"cannot write the report to {path}: {exc.strerror}") from None
    return path
