"""``moderation train``: files in any format, label options, targets, one-line errors."""

import json

import pandas as pd
from typer.testing import CliRunner

import moderation
from moderation.cli import app

from conftest import DATA

runner = CliRunner()


def train(*args):
    return runner.invoke(app, ["train", *map(str, args)])


def test_train_sample_data(tmp_path):
    out = tmp_path / "model"
    result = train(DATA / "sample_labelled.csv", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Saved model to {out} (303 rows; stratified 20% hold-out (half to calibrate, "
                                    "half to measure), then refit on all rows)")
    assert "ROC-AUC" in result.stdout and "precision" in result.stdout
    card = json.loads((out / "card.json").read_text())
    assert card["training_data"]["sources"][0]["name"] == "sample_labelled.csv"
    assert card["training_data"]["sources"][0]["rows"] == 303
    assert len(card["training_data"]["sources"][0]["sha256"]) == 64
    assert card["threshold_rule"]["target_precision"] == 0.6
    m = moderation.load_model(out)
    assert m.flag(["you pathetic moron"]).tolist() == [True]


def test_positive_value_and_columns(tmp_path, sample_labelled):
    path = tmp_path / "data.jsonl"
    pd.DataFrame({"body": sample_labelled["text"],
                  "verdict": sample_labelled["label"].map({1: "removed", 0: "approved"})}
                 ).to_json(path, orient="records", lines=True)
    result = train(path, "--out", tmp_path / "m", "--text-col", "body", "--label-col", "verdict",
                   "--positive", "removed", "--target-recall", "0.9")
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["threshold_rule"]["target_recall"] == 0.9
    assert card["evaluation"]["held_out"]["recall"] >= 0.9


def test_eval_file(tmp_path, sample_labelled):
    a, b = tmp_path / "a.csv", tmp_path / "b.parquet"
    sample_labelled.iloc[::2].to_csv(a, index=False)
    sample_labelled.iloc[1::2].to_parquet(b)
    result = train(a, "--out", tmp_path / "m", "--eval-file", b)
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["evaluation"]["method"] == ("evaluation file (a stratified 20% hold-out calibrates), "
                                            "then refit on all rows")
    assert card["evaluation"]["held_out"]["rows"] == len(sample_labelled.iloc[1::2])


def test_two_files_get_equal_weight_and_both_listed(tmp_path, sample_labelled):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    sample_labelled.iloc[:200].to_csv(a, index=False)
    sample_labelled.iloc[200:].to_csv(b, index=False)
    assert train(a, b, "--out", tmp_path / "m").exit_code == 0
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert [s["name"] for s in card["training_data"]["sources"]] == ["a.csv", "b.csv"]


def test_non_binary_labels_are_refused(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["a", "b", "c", "d"], "label": ["0", "1", "spam", "2"]}).to_csv(path, index=False)
    result = train(path, "--out", tmp_path / "m")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: column 'label' are not binary: 'spam' (rows 3); '2' (rows 4)")
    assert result.stderr.count("\n") == 1


def test_single_class_is_refused(tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame({"text": [f"comment {i}" for i in range(20)], "label": [0] * 20}).to_csv(path, index=False)
    result = train(path, "--out", tmp_path / "m")
    assert result.exit_code == 2
    assert result.stderr == "Error: the training data has a single class: every row is keep (0); training needs both\n"


def test_missing_label_column(tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame({"text": ["a"], "lbl": [1]}).to_csv(path, index=False)
    result = train(path, "--out", tmp_path / "m")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: no column label (columns: text, lbl); did you mean --label-col lbl?\n"


def test_both_targets_refused(tmp_path):
    result = train(DATA / "sample_labelled.csv", "--out", tmp_path / "m", "--target-precision", "0.9",
                   "--target-recall", "0.9")
    assert result.exit_code == 2
    assert result.stderr == "Error: give --target-precision or --target-recall, not both\n"


def test_nothing_to_train_on(tmp_path):
    result = train("--out", tmp_path / "m")
    assert result.exit_code == 2
    assert result.stderr == "Error: give DATA files to train on, --corpus DIR or --from-queue URL\n"


def test_python_dash_m_entry_point(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "moderation", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("train", "score", "evaluate"):
        assert command in proc.stdout


def test_positive_matches_in_any_case(tmp_path, sample_labelled):
    from moderation.labels import read_labelled_set

    path = tmp_path / "export.csv"
    pd.DataFrame({"text": sample_labelled["text"],
                  "verdict": sample_labelled["label"].map({1: "Removed", 0: "Approved"})}).to_csv(path, index=False)
    labelled = read_labelled_set(path, label_col="verdict", positive="removed")
    assert labelled.labels.tolist() == sample_labelled["label"].tolist()


def test_positive_matching_nothing_lists_the_values_seen(tmp_path, sample_labelled):
    path = tmp_path / "export.csv"
    pd.DataFrame({"text": sample_labelled["text"],
                  "verdict": sample_labelled["label"].map({1: "Removed", 0: "Approved"})}).to_csv(path, index=False)
    result = train(path, "--out", tmp_path / "m", "--label-col", "verdict", "--positive", "remvoed")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path}: column 'verdict' has no value 'remvoed' for --positive "
                             "(values: 'Approved' (179), 'Removed' (124))\n")


def test_targets_outside_0_1_are_refused(tmp_path):
    for option, value in (("--target-precision", "1.5"), ("--target-precision", "0"), ("--target-recall", "1")):
        result = train(DATA / "sample_labelled.csv", "--out", tmp_path / "m", option, value)
        assert result.exit_code == 2
        assert result.stderr == f"Error: {option} must be between 0 and 1 (exclusive), got {float(value)}\n"
    assert not (tmp_path / "m").exists()


def test_out_holding_a_model_is_refused_unless_force(tmp_path, small_model_dir):
    import shutil

    out = tmp_path / "m"
    shutil.copytree(small_model_dir, out)
    before = (out / "card.json").read_bytes()
    result = train(DATA / "sample_labelled.csv", "--out", out, "--target-recall", "0.8")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: --out {out} already holds a model (card.json, model.skops); give --force "
                             "to replace it\n")
    assert (out / "card.json").read_bytes() == before
    result = train(DATA / "sample_labelled.csv", "--out", out, "--target-recall", "0.8", "--force")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "card.json").read_text())["threshold_rule"]["target_recall"] == 0.8


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "m").write_text("not a directory")
    result = train(DATA / "sample_labelled.csv", "--out", tmp_path / "m")
    assert (result.exit_code, result.stderr) == (2, f"Error: --out {tmp_path / 'm'} is a file, not a model directory\n")


def test_jobs_below_one_is_one_line(tmp_path):
    result = train(DATA / "sample_labelled.csv", "--out", tmp_path / "m", "--jobs", "0")
    assert result.exit_code == 2
    assert result.stderr == "Error: --jobs must be at least 1, got 0\n"
    assert not (tmp_path / "m").exists()
