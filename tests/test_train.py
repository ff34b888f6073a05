"""Training: label parsing, refusal of bad labels, thresholds and the card."""

import warnings

import numpy as np
import pandas as pd
import pytest

import moderation
from moderation import ModerationError
from moderation.labels import parse_labels
from moderation.metrics import choose_threshold, metrics, threshold_table
from moderation.recipe import source_weights


def test_parse_labels_accepts_binary_spellings():
    assert parse_labels(["1", "0", "true", "False", "yes", "no", 1, 0]).tolist() == [1, 0, 1, 0, 1, 0, 1, 0]


def test_parse_labels_with_positive_value():
    assert parse_labels(["toxic", "ok", "toxic"], positive="toxic").tolist() == [1, 0, 1]


def test_parse_labels_lists_offending_values_and_rows():
    with pytest.raises(ModerationError) as e:
        parse_labels(["0", "1", "maybe", "2", "maybe"])
    message = str(e.value)
    assert "'maybe' (rows 3, 5)" in message and "'2' (rows 4)" in message
    assert "\n" not in message


def test_single_class_is_refused(sample_labelled):
    with pytest.raises(ModerationError, match="single class"):
        moderation.train(sample_labelled["text"], np.zeros(len(sample_labelled), dtype=int))


def test_too_few_rows_per_class_is_refused():
    texts = ["you idiot", "nice day", "lovely", "great point", "thanks", "good", "agreed", "fine"]
    with pytest.raises(ModerationError, match="too few rows of one class"):
        moderation.train(texts, [1, 0, 0, 0, 0, 0, 0, 0])


def test_threshold_meets_target_precision(sample_labelled):
    model = moderation.train(sample_labelled["text"], sample_labelled["label"], target_precision=0.9)
    held = model.card.evaluation.held_out
    assert model.card.threshold_rule.met is True
    assert held["precision"] >= 0.9
    assert held["threshold"] == pytest.approx(model.threshold, abs=1e-4)


def test_threshold_meets_target_recall(sample_labelled):
    model = moderation.train(sample_labelled["text"], sample_labelled["label"], target_recall=0.95)
    assert model.card.evaluation.held_out["recall"] >= 0.95
    assert model.card.threshold_rule.to_dict() == {"target_precision": None, "target_recall": 0.95, "met": True}


def test_eval_data_replaces_split(sample_labelled):
    half = len(sample_labelled) // 2
    a, b = sample_labelled.iloc[:half], sample_labelled.iloc[half:]
    model = moderation.train(a["text"], a["label"], eval_texts=b["text"], eval_labels=b["label"])
    assert model.card.evaluation.method == ("evaluation file (a stratified 20% hold-out calibrates), "
                                            "then refit on all rows")
    assert model.card.evaluation.held_out["rows"] == len(b)


def test_choose_threshold_precision_and_recall():
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    assert choose_threshold(y, s, target_precision=1.0) == (0.6, True)
    assert choose_threshold(y, s, target_precision=0.8) == (0.4, True)
    assert choose_threshold(y, s, target_precision=None, target_recall=1.0) == (0.4, True)
    assert choose_threshold(y, s, target_precision=None, target_recall=0.5) == (0.7, True)
    assert choose_threshold(y, s, target_recall=0.5) == (0.7, True)  # a recall target alone
    assert choose_threshold(y, s) == choose_threshold(y, s, target_precision=0.6)


def test_metrics_at_threshold():
    m = metrics([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.6], 0.5)
    assert (m["precision"], m["recall"], m["flag_rate"]) == (0.5, 0.5, 0.5)
    assert m["roc_auc"] == 0.75
    table = threshold_table([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.6], thresholds=(0.3, 0.95))
    assert table["recall"].tolist() == [1.0, 0.0]
    assert table["flag_rate"].tolist() == [0.75, 0.0]


def test_source_weights_equalise_sources():
    w = source_weights(["a", "a", "a", "b"])
    assert w[:3].sum() == pytest.approx(w[3])
    assert w.mean() == pytest.approx(1.0)


def test_prevalence_weights_give_each_source_the_stated_share():
    from moderation.recipe import prevalence_weights

    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    sources = ["a", "a", "a", "b", "b", "b", "b", "b"]
    w = prevalence_weights(y, sources, 0.1)
    assert w.sum() == pytest.approx(len(y))
    for source in ("a", "b"):
        mask = np.array(sources) == source
        assert w[mask & (y == 1)].sum() / w[mask].sum() == pytest.approx(0.1)
        assert w[mask].sum() == pytest.approx(len(y) / 2)


def test_scores_are_calibrated_to_the_stated_prevalence(sample_labelled):
    model = moderation.train(sample_labelled["text"], sample_labelled["label"], recipe=moderation.Recipe(prevalence=0.1))
    card = model.card.calibration
    assert card.prevalence == 0.1 and card.sentences is False
    assert card.held_out["flagged_per_10000"] == round(10_000 * card.held_out["flag_rate"])
    assert model.card.to_dict()["calibration"]["prevalence"] == 0.1
    # a rarer share of abuse makes the same texts score lower
    rarer = moderation.train(sample_labelled["text"], sample_labelled["label"], recipe=moderation.Recipe(prevalence=0.02))
    texts = sample_labelled["text"].tolist()[:50]
    assert (rarer.score(texts) < model.score(texts)).all()


def test_recipe_is_recorded_in_the_card(sample_labelled):
    recipe = moderation.Recipe(C=1.0, sentences=True)
    model = moderation.train(sample_labelled["text"], sample_labelled["label"], recipe=recipe)
    assert model.card.recipe["settings"]["C"] == 1.0 and model.card.recipe["settings"]["sentences"] is True
    assert model.sentences is True


def test_leave_one_corpus_out_trains_without_the_corpus_it_tests(sample_labelled):
    from moderation.recipe import Recipe
    from moderation.training import leave_one_corpus_out

    pool = pd.DataFrame({"text": sample_labelled["text"], "label": sample_labelled["label"],
                         "source": np.where(np.arange(len(sample_labelled)) % 2, "odd", "even")})
    for recipe in (Recipe(), Recipe(sentences=True)):
        rows = leave_one_corpus_out(pool, recipe, held_out=["odd", "even"])
        assert [(r["held_out"], r["rows"]) for r in rows] == [("odd", 151), ("even", 152)]
        assert all(0.85 < r["roc_auc"] <= 1.0 for r in rows)


def test_obscenities_label_obscene_where_the_source_does_not_say():
    from moderation.recipe import Recipe, trainable

    pool = pd.DataFrame({"text": ["you fucking idiot", "hello there", "sh1t happens", "nice"], "label": [1, 0, 0, 1],
                         "source": "a", "obscene": pd.array([pd.NA, pd.NA, pd.NA, 0.0], dtype="Float64")})
    assert trainable(pool, Recipe(obscene_from_lexicon=True))["obscene"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert trainable(pool, Recipe())["obscene"].isna().tolist() == [True, True, True, False]


def test_training_jobs_fit_the_same_model(sample_labelled, tmp_path):
    from moderation.persist import MODEL_FILE

    labels = sample_labelled["label"].astype(int)
    cats = pd.DataFrame({"insult": labels,
                         "obscene": labels.astype("Int64").where(sample_labelled.index % 2 == 0)})
    saved = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for jobs in (1, 2):
            model = moderation.train(sample_labelled["text"], labels, categories=cats, jobs=jobs)
            assert model.category_names == ["insult", "obscene"]
            saved.append((model.save(tmp_path / str(jobs)) / MODEL_FILE).read_bytes())
    assert saved[0] == saved[1]


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_training_jobs_below_one_are_refused(sample_labelled, jobs):
    with pytest.raises(moderation.ModerationError, match="must be at least 1"):
        moderation.train(sample_labelled["text"], sample_labelled["label"], jobs=jobs)
