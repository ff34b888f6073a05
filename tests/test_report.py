"""The detailed evaluation (moderation.evaluate) and the HTML report it feeds (moderation.report)."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from moderation import ModerationError
from moderation.evaluate import detailed_evaluation
from moderation.labels import LabelledSet, read_labelled_set
from moderation.metrics import category_metrics, identity_bias_table, metrics, operating_points, threshold_curve
from moderation.identities import identity_probes
from moderation.report import render_report, write_report

from conftest import DATA, TEST_DATA


class Tables(HTMLParser):
    """The text of every table cell, per table, and the src of every image."""

    def __init__(self):
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.images: list[str] = []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append((a.get("class", ""), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def of_class(self, cls: str) -> list[list[list[str]]]:
        return [rows for c, rows in self.tables if c == cls]


def parse(html: str) -> Tables:
    t = Tables()
    t.feed(html)
    return t


@pytest.fixture(scope="module")
def labelled() -> LabelledSet:
    return read_labelled_set(DATA / "sample_labelled.csv")


def test_detailed_evaluation_agrees_with_metrics(small_model, labelled):
    e = detailed_evaluation(small_model, labelled, model_name="small", worst=3)
    scores = small_model.score(labelled.texts)
    assert e.metrics == metrics(labelled.labels, scores, small_model.threshold)
    c = e.confusion
    assert c["true_positive"] + c["false_negative"] == e.metrics["positives"]
    assert sum(c.values()) == e.metrics["rows"] == 303
    assert c["true_positive"] / (c["true_positive"] + c["false_positive"]) == pytest.approx(e.metrics["precision"])
    assert len(e.false_positives) == min(3, c["false_positive"])
    assert len(e.false_negatives) == min(3, c["false_negative"])
    fp_scores = [x["score"] for x in e.false_positives]
    assert fp_scores == sorted(fp_scores, reverse=True) and all(s >= e.threshold for s in fp_scores)
    fn_scores = [x["score"] for x in e.false_negatives]
    assert fn_scores == sorted(fn_scores) and all(s < e.threshold for s in fn_scores)
    for x in e.false_positives + e.false_negatives:
        assert labelled.texts[x["row"] - 1] == x["text"]
        assert all(x["text"][s.start:s.end] == s.fragment for s in x["spans"])
    assert e.categories.empty  # the small model has no categories


def test_threshold_curve_agrees_with_metrics(small_model, labelled):
    scores = small_model.score(labelled.texts)
    curve = threshold_curve(labelled.labels, scores)
    assert curve["threshold"].tolist() == [round(t / 100, 2) for t in range(1, 100)]
    for t in (0.01, 0.3, 0.5, 0.77, 0.99):
        row = curve[curve["threshold"] == t].iloc[0]
        m = metrics(labelled.labels, scores, t)
        assert row["flagged"] == round(m["flag_rate"] * m["rows"])
        assert (row["precision"], row["recall"], row["flag_rate"]) == pytest.approx(
            (m["precision"], m["recall"], m["flag_rate"]))
    nothing = threshold_curve([0, 1], [0.2, 0.4], thresholds=[0.5])
    assert nothing["flagged"].tolist() == [0] and np.isnan(nothing["precision"].iloc[0])


def test_operating_points_meet_their_targets():
    y = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 1])
    s = np.linspace(0.05, 0.95, 10)
    table = operating_points(y, s, targets=(("precision", 0.8), ("recall", 1.0)))
    assert table["target"].tolist() == ["precision ≥ 0.8", "recall ≥ 1"]
    assert table["met"].tolist() == [True, True]
    # the lowest threshold with precision ≥ 0.8 flags rows 4..9 (5 of 6 remove)
    assert table.loc[0, "threshold"] == pytest.approx(s[4]) and table.loc[0, "precision"] == pytest.approx(5 / 6)
    assert table.loc[1, "threshold"] == pytest.approx(s[4]) and table.loc[1, "recall"] == 1.0
    assert table.loc[1, "flag_rate"] == pytest.approx(0.6)


def test_identity_bias_table_counts_mentions_and_measures_aucs():
    texts = ["The gay couple next door", "gay people are lovely", "Gay idiots", "you idiots", "nice day", "a day"]
    y = [0, 0, 1, 1, 0, 0]
    s = [0.1, 0.6, 0.9, 0.8, 0.2, 0.3]
    t = identity_bias_table(texts, y, s, 0.5, min_mentions=3, words=["gay", "day"])
    assert t["identity"].tolist() == ["gay"]  # "day" is mentioned twice only
    row = t.iloc[0]
    assert row["mentions"] == 3 and row["remove_rate"] == pytest.approx(1 / 3)
    assert row["false_positive_rate"] == 0.5  # "gay people are lovely" at 0.6
    assert row["subgroup_auc"] == 1.0
    # BPSN: benign gay (0.1, 0.6) against abusive others (0.8): both below
    assert row["bpsn_auc"] == 1.0
    # BNSP: abusive gay (0.9) against benign others (0.2, 0.3)
    assert row["bnsp_auc"] == 1.0


def test_category_metrics_use_the_category_labels_where_given():
    y = np.array([1, 1, 0, 0, 1])
    scores = pd.DataFrame({"insult": [0.9, 0.2, 0.1, 0.3, 0.8], "threat": [0.1, 0.9, 0.1, 0.2, 0.1]})
    labels = pd.DataFrame({"insult": pd.array([1, 0, 0, pd.NA, 1], dtype="Int64")})
    t = category_metrics(y, scores, labels).set_index("category")
    assert t.loc["insult", "labelled_rows"] == 4 and t.loc["insult", "positives"] == 2
    assert t.loc["insult", "roc_auc"] == 1.0
    assert t.loc["threat", "labelled_rows"] == 0 and np.isnan(t.loc["threat", "roc_auc"])
    assert t.loc["threat", "mean_score_keep"] == pytest.approx(0.15)
    assert category_metrics(y, None, None).empty


def test_read_labelled_set_reads_category_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("text,label,insult,threat\nyou idiot,1,1,\nhello,0,0,0\nI will hurt you,1,,yes\n")
    s = read_labelled_set(path, categories=["insult", "threat", "obscene"])
    assert list(s.categories.columns) == ["insult", "threat"]
    assert s.categories["insult"].tolist() == [1, 0, pd.NA]
    assert s.categories["threat"].tolist() == [pd.NA, 0, 1]
    path.write_text("text,label,insult\nyou idiot,1,maybe\n")
    with pytest.raises(ModerationError, match=r"column 'insult' are not binary: 'maybe'"):
        read_labelled_set(path, categories=["insult"])


def test_report_without_categories(small_model, labelled):
    e = detailed_evaluation(small_model, labelled, model_name="small")
    html = render_report([e], created="2026-01-01 00:00 UTC")
    t = parse(html)
    # threshold plot, ROC/PR curves, calibration; no identity is mentioned 10 times in our sample
    assert len(t.images) == 3 and all(src.startswith("data:image/png;base64,") for src in t.images)
    assert 'id="categories"' not in html
    assert "No identity word is mentioned often enough" in html
    summary = t.of_class("summary")[0]
    assert summary[0] == ["", "sample_labelled.csv"]
    assert dict((r[0], r[1]) for r in summary[1:])["ROC-AUC"] == f"{e.metrics['roc_auc']:.3f}"
    confusion = t.of_class("confusion")[0]
    assert confusion[1][1].startswith(str(e.confusion["true_positive"]))
    assert confusion[2][1].startswith(str(e.confusion["false_positive"]))
    assert "http://" not in html and "https://" not in html  # nothing fetched when it is opened


def test_report_with_categories_and_identities(default_model):
    probes = identity_probes(TEST_DATA / "identity_templates.csv")
    data = LabelledSet("probes.csv", probes["text"].tolist(), probes["label"].to_numpy())
    e = detailed_evaluation(default_model, data, model_name="default")
    html = render_report([e])
    t = parse(html)
    assert len(t.images) == 4  # + the bias heat map
    cats = t.of_class("categories")[0]
    assert [r[0] for r in cats[1:]] == list(default_model.categories)
    identities = t.of_class("identities")[0]
    assert identities[0] == ["identity", "mentions", "remove_rate", "false_positive_rate", "subgroup_auc",
                             "bpsn_auc", "bnsp_auc"]
    assert len(identities) - 1 == len(e.identities) > 30
    assert "The 30 identities with the lowest AUCs of" in html


def test_report_escapes_the_comments(small_model, tmp_path):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> lovely weather today'
    data = LabelledSet("h.csv", [hostile, "you stupid idiot", "what a nice day", "idiot moron"], np.array([1, 1, 0, 0]))
    e = detailed_evaluation(small_model, data, model_name="small")
    assert any(x["text"] == hostile for x in e.false_negatives)
    html = render_report([e])
    assert html.count("<script>") == 1  # the report's own threshold picker, at the end
    assert '<script>alert("x")' not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_report_compare_has_a_difference_column(small_model, default_model, labelled):
    a = detailed_evaluation(small_model, labelled, model_name="small")
    b = detailed_evaluation(default_model, labelled, model_name="default")
    t = parse(render_report([a, b], compare=True))
    summary = t.of_class("summary")[0]
    assert summary[0] == ["", "small", "default", "difference (default − small), sample_labelled.csv"]
    row = {r[0]: r[1:] for r in summary[1:]}
    assert row["recall"][2] == f"{b.metrics['recall'] - a.metrics['recall']:+.3f}"
    assert row["rows"][2] == "+0.000"
    with pytest.raises(ModerationError, match="pairs of two models on the same data"):
        render_report([a, b, a], compare=True)


def test_write_report_is_atomic_and_reports_unwritable_paths(small_model, labelled, tmp_path):
    e = detailed_evaluation(small_model, labelled, model_name="small", worst=0)
    out = write_report(tmp_path / "r.html", [e])
    assert out.read_text().startswith("<!doctype html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    with pytest.raises(ModerationError, match=r"^cannot write the report to .*/missing/r.html: No such file"):
        write_report(tmp_path / "missing" / "r.html", [e])
    with pytest.raises(ModerationError, match="nothing to report"):
        render_report([])


def test_missing_matplotlib_is_a_clear_error(small_model, labelled, monkeypatch):
    e = detailed_evaluation(small_model, labelled, model_name="small", worst=0)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ModerationError, match=re.escape('the HTML report needs matplotlib: pip install ".[report]"')):
        render_report([e])


def test_shipped_identity_probes_match_the_templates():
    """data/identity_probes.csv is every template × every identity term of tests/data, as generated."""
    probes = identity_probes(TEST_DATA / "identity_templates.csv")
    shipped = pd.read_csv(DATA / "identity_probes.csv")
    pd.testing.assert_frame_equal(shipped, probes[["text", "label", "identity", "group"]])
