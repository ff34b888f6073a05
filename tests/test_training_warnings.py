"""Training data too small or too one-sided for the model's figures to mean much: a warning at train time, kept
in the card, and repeated whenever the model scores."""

import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

from moderation.card import ModelCard, render_model_card
from moderation.cli import app
from moderation.training import QUEUE_ONLY_WARNING, data_warnings, train_sources

from conftest import LABELLED

SMALL = ("trained on 303 rows ({remove} remove, {keep} keep): too few for the held-out figures to mean much; "
         "label at least 500 rows with 100 of each class")


def small_warning() -> str:
    labels = pd.read_csv(LABELLED)["label"]
    return SMALL.format(remove=int(labels.sum()), keep=int((labels == 0).sum()))


def test_enough_rows_of_each_class_give_no_warning():
    assert data_warnings(pd.Series([0] * 400 + [1] * 100).to_numpy()) == []


@pytest.mark.parametrize("counts", [(300, 99), (250, 240)])
def test_few_rows_or_few_of_a_class_give_a_warning(counts):
    keep, remove = counts
    (warning,) = data_warnings(pd.Series([0] * keep + [1] * remove).to_numpy())
    assert warning.startswith(f"trained on {keep + remove} rows ({remove} remove, {keep} keep): too few")


def test_the_warning_is_issued_kept_in_the_card_and_rendered(tmp_path):
    with pytest.warns(UserWarning) as caught:
        model = train_sources([LABELLED], out=tmp_path / "m")
    assert [str(w.message) for w in caught if "too few" in str(w.message)] == [small_warning()]
    assert model.card.warnings == [small_warning()]
    card = ModelCard.from_dict(model.card.to_dict())
    assert card.warnings == [small_warning()]
    assert f"**Warning:** {small_warning()}" in render_model_card(card)


def test_the_cli_prints_it_at_training_and_at_scoring(tmp_path):
    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(LABELLED), "--out", str(tmp_path / "m")])
    assert trained.exit_code == 0, trained.output
    assert f"Warning: {small_warning()}" in trained.output
    scored = runner.invoke(app, ["score", str(LABELLED), "--model", str(tmp_path / "m"), "--out",
                                 str(tmp_path / "s.csv")])
    assert scored.exit_code == 0, scored.output
    assert f"Warning: the model was trained with a warning: {small_warning()}" in scored.output


def test_a_queue_export_alone_is_one_sided(tmp_path):
    rows = pd.read_csv(LABELLED).assign(action=lambda f: f["label"].map({1: "remove", 0: "keep"}),
                                        moderator="alice", decided_at="2026-11-30T10:00:00")
    export = tmp_path / "decisions.csv"
    rows.to_csv(export, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = train_sources([export])
    assert QUEUE_ONLY_WARNING in model.card.warnings
    assert QUEUE_ONLY_WARNING in [str(w.message) for w in caught]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        mixed = train_sources([export, LABELLED])
    assert QUEUE_ONLY_WARNING not in mixed.card.warnings
