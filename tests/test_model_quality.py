"""The default model against the model-quality targets, on the probe sets we wrote (``tests/data``).

Each target that is met is held by a test; each that is missed is a strict xfail whose reason gives the
figure measured on the shipped model, so that meeting it later turns the xfail into a failure to update.
The held-out span F1 needs the corpora and a training run: it is read from ``benchmarks/results/quality.json``,
written by ``python benchmarks/quality.py`` for the model file it names.
"""

import json

import numpy as np
import pandas as pd
import pytest

from moderation.probes import category_report, embedding_report, functional_report, span_report

from conftest import ROOT, TEST_DATA

QUALITY = ROOT / "benchmarks" / "results" / "quality.json"
# the phenomena below 0.8 on the shipped model, with the accuracy measured on it
FUNCTIONAL_MISSES = {
    "threat_no_abusive_word": 0.0, "dehumanising_comparison": 0.179, "hate_statement": 0.036,
    "negated_praise": 0.107, "slur": 0.069, "obscene_insult": 0.643, "hateful_question_or_opinion": 0.286,
    "obfuscated_abuse": 0.429,
}
SUITE = pd.read_csv(TEST_DATA / "functional_suite.csv")


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(TEST_DATA / name)


@pytest.fixture(scope="module")
def functional(default_model) -> pd.DataFrame:
    return functional_report(default_model, SUITE).set_index("phenomenon")


@pytest.fixture(scope="module")
def embedding(default_model) -> dict:
    return embedding_report(default_model, read("abusive_sentences.csv"), read("civil_sentences.csv"))


def test_the_functional_suite_has_20_cases_of_every_phenomenon():
    counts = SUITE["phenomenon"].value_counts()
    assert len(counts) == 16
    assert counts.min() >= 20


@pytest.mark.parametrize("phenomenon", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=f"target 0.8 missed: {FUNCTIONAL_MISSES[p]:.3f}"))
    if p in FUNCTIONAL_MISSES else p
    for p in SUITE["phenomenon"].drop_duplicates()])
def test_functional_suite_accuracy_per_phenomenon(functional, phenomenon):
    assert functional.loc[phenomenon, "accuracy"] >= 0.8


def test_civil_sentences_score_low(default_model):
    assert np.median(default_model.score(read("civil_sentences.csv")["text"])) < 0.1


@pytest.mark.parametrize("text", ["", " ", "a", "ok", "?!", "no", "lol", "..."])
def test_short_text_is_never_flagged(default_model, text):
    assert default_model.score([text])[0] < default_model.threshold


def test_civil_comments_joined_are_not_flagged_more_than_alone(embedding):
    for k, share in embedding["civil_joined"].items():
        assert share <= embedding["civil_alone"], k


def test_long_civil_comments_are_not_flagged(default_model):
    assert default_model.flag(read("long_civil_comments.csv")["text"]).mean() <= 0.02


@pytest.mark.xfail(strict=True, reason="target 0.95 missed: of the abusive sentences flagged alone, 0.143 stay "
                                       "flagged with 3 civil sentences on each side (0.429 with 1)")
def test_abuse_inside_civil_text_stays_flagged(embedding):
    assert embedding["retained"][3] >= 0.95


@pytest.mark.xfail(strict=True, reason="target 0.9 missed: every marked word highlighted in 0.263 of the "
                                       "flagged span probes")
def test_every_marked_word_of_a_flagged_comment_is_highlighted(default_model):
    assert span_report(default_model, read("span_probes.csv"))["every_marked_word_highlighted"] >= 0.9


@pytest.mark.xfail(strict=True, reason="target 0.85 missed: top category right on 0.768 of the category probes")
def test_top_category_is_right(default_model):
    accuracy, _ = category_report(default_model, read("category_probes.csv"))
    assert accuracy >= 0.85


def test_calibrated_threshold_meets_its_precision_at_the_stated_share(default_model):
    calibration = default_model.card.calibration
    assert calibration.prevalence == 0.1
    assert calibration.held_out["threshold"] == round(default_model.threshold, 4)
    assert calibration.held_out["precision"] >= default_model.card.threshold_rule.target_precision


def quality_of(default_model) -> dict:
    results = json.loads(QUALITY.read_text())
    assert results["model_sha256"] == default_model.card.sha256, "quality.json measured another model file"
    return results


def test_quality_results_are_of_the_shipped_model(default_model):
    results = quality_of(default_model)
    assert len(results["cross_corpus"]) == 13


@pytest.mark.xfail(strict=True, reason="target 0.65 missed: span F1 0.589 on the held-out toxic spans (0.708 on "
                                       "those with annotated spans)")
def test_highlighted_spans_match_the_annotated_ones(default_model):
    assert quality_of(default_model)["spans"]["span_f1"] >= 0.65


def test_better_than_alt_profanity_check_across_corpora(default_model):
    cross = quality_of(default_model)["cross_corpus"]
    assert np.mean([r["roc_auc"] for r in cross]) > np.mean([r["baseline_roc_auc"] for r in cross])
