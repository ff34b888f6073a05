"""``moderation evaluate``: metrics and threshold table per file."""

from typer.testing import CliRunner

from moderation.cli import app
from moderation.evaluate import THRESHOLDS

from conftest import DATA

runner = CliRunner()


def test_evaluate_prints_metrics_and_threshold_table(small_model_dir, sample_labelled, tmp_path):
    path = tmp_path / "eval.csv"
    sample_labelled.iloc[:100].to_csv(path, index=False)
    result = runner.invoke(app, ["evaluate", str(path), str(DATA / "sample_labelled.csv"),
                                 "--model", str(small_model_dir)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"== {path} (100 rows, {int(sample_labelled['label'].iloc[:100].sum())} remove)"
    assert lines[1].startswith("ROC-AUC ")
    assert lines[2].startswith("at threshold ")
    assert lines[3].split() == ["threshold", "precision", "recall", "f1", "flag_rate"]
    assert [float(line.split()[0]) for line in lines[4:4 + len(THRESHOLDS)]] == list(THRESHOLDS)
    assert f"== {DATA / 'sample_labelled.csv'} (303 rows" in result.stdout


def test_evaluate_non_binary_labels(small_model_dir, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text,label\nhello,yes\nbye,perhaps\n")
    result = runner.invoke(app, ["evaluate", str(path), "--model", str(small_model_dir)])
    assert result.exit_code == 2
    assert "'perhaps' (rows 2)" in result.stderr
