"""``moderation evaluate``: metrics and threshold table per file."""

from typer.testing import CliRunner

from moderation.cli import app
from moderation.metrics import THRESHOLDS

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


def _stdout_blocks(stdout: str) -> dict[str, list[list[str]]]:
    """Per '== ...' header, the lines after it split on white space."""
    blocks, current = {}, None
    for line in stdout.splitlines():
        if line.startswith("== "):
            current = blocks.setdefault(line, [])
        elif current is not None:
            current.append(line.split())
    return blocks


def test_evaluate_report_numbers_match_the_printed_table(small_model_dir, tmp_path):
    from test_report import parse

    report = tmp_path / "report.html"
    probes = DATA / "identity_probes.csv"
    result = runner.invoke(app, ["evaluate", str(DATA / "sample_labelled.csv"), str(probes),
                                 "--model", str(small_model_dir), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"report written to {report}\n"
    t = parse(report.read_text())
    blocks = list(_stdout_blocks(result.stdout).values())
    assert len(blocks) == 2
    summary = {row[0]: row[1:] for row in t.of_class("summary")[0]}
    assert summary[""] == ["sample_labelled.csv", "identity_probes.csv"]
    for column, lines in enumerate(blocks):
        # "ROC-AUC 0.975  PR-AUC 0.975  Brier 0.070"
        assert [summary["ROC-AUC"][column], summary["PR-AUC"][column], summary["Brier"][column]] == lines[0][1::2]
        # "at threshold 0.518: precision 0.948  recall 0.879  F1 0.912  flag rate 0.380"
        assert lines[1][2] == summary["threshold"][column] + ":"
        assert [summary[k][column] for k in ("precision", "recall", "F1", "flag rate")] == \
            [lines[1][4], lines[1][6], lines[1][8], lines[1][11]]
        # the threshold table, cell for cell
        assert t.of_class("thresholds")[column] == lines[2:]


def test_evaluate_compare_prints_both_models_and_the_difference(small_model_dir, tmp_path):
    from moderation.persist import default_model_path

    report = tmp_path / "report.html"
    result = runner.invoke(app, ["evaluate", str(DATA / "sample_labelled.csv"), "--model", str(small_model_dir),
                                 "--compare", str(default_model_path()), "--report", str(report)])
    assert result.exit_code == 0, result.output
    headers = [line for line in result.stdout.splitlines() if line.startswith("== ")]
    assert headers == [f"== {DATA / 'sample_labelled.csv'} (303 rows, 124 remove) [small]",
                       f"== {DATA / 'sample_labelled.csv'} (303 rows, 124 remove) [default]"]
    blocks = list(_stdout_blocks(result.stdout).values())
    small_auc, default_auc = float(blocks[0][0][1]), float(blocks[1][0][1])
    difference = [line for line in result.stdout.splitlines() if line.startswith("difference")]
    assert len(difference) == 1
    assert difference[0].startswith("difference (default − small): ROC-AUC ")
    assert abs(float(difference[0].split()[5]) - (default_auc - small_auc)) <= 0.0015
    assert "difference (default − small), sample_labelled.csv" in report.read_text()


def test_evaluate_compare_models_with_the_same_name(small_model_dir, tmp_path):
    result = runner.invoke(app, ["evaluate", str(DATA / "sample_labelled.csv"), "--model", str(small_model_dir),
                                 "--compare", str(small_model_dir)])
    assert result.exit_code == 0, result.output
    assert f"[{small_model_dir} (1)]" in result.stdout and f"[{small_model_dir} (2)]" in result.stdout
    assert "ROC-AUC +0.000  PR-AUC +0.000" in result.stdout


def test_evaluate_worst_sets_the_number_of_examples(small_model_dir, tmp_path):
    report = tmp_path / "report.html"
    # the small model was trained on sample_labelled.csv: it errs on the probes
    result = runner.invoke(app, ["evaluate", str(DATA / "identity_probes.csv"), "--model", str(small_model_dir),
                                 "--report", str(report), "--worst", "2"])
    assert result.exit_code == 0, result.output
    html = report.read_text()
    assert html.count('<li><span class="score">') == 4


def test_evaluate_report_to_a_missing_directory(small_model_dir, tmp_path):
    result = runner.invoke(app, ["evaluate", str(DATA / "sample_labelled.csv"), "--model", str(small_model_dir),
                                 "--report", str(tmp_path / "no" / "r.html")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot write the report to {tmp_path / 'no' / 'r.html'}: ")
    assert len(result.stderr.splitlines()) == 1


def test_evaluate_compare_missing_model(small_model_dir, tmp_path):
    result = runner.invoke(app, ["evaluate", str(DATA / "sample_labelled.csv"), "--model", str(small_model_dir),
                                 "--compare", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1


def test_evaluate_on_one_class_is_one_line_and_exit_2(small_model_dir, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\nyou moron,1\nidiot,1\n")
    result = runner.invoke(app, ["evaluate", str(path), "--model", str(small_model_dir)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path} has a single class: every row is remove (1); evaluation needs both\n")
    assert result.stdout == ""


def test_evaluating_on_the_training_file_warns(tmp_path, small_model_dir, sample_labelled):
    """The card lists each training file's sha256 (as ``moderation train FILE`` writes it)."""
    import json
    import shutil

    from moderation.persist import sha256_file

    model = tmp_path / "m"
    shutil.copytree(small_model_dir, model)
    card = json.loads((model / "card.json").read_text())
    card["training_data"]["sources"] = [{"name": "sample_labelled.csv", "rows": 303,
                                         "sha256": sha256_file(DATA / "sample_labelled.csv")}]
    (model / "card.json").write_text(json.dumps(card))
    result = runner.invoke(app, ["evaluate", str(DATA / "sample_labelled.csv"), "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"Warning: {DATA / 'sample_labelled.csv'} is a file the model m was trained on: "
                             "its metrics here flatter the model\n")
    other = tmp_path / "other.csv"
    sample_labelled.iloc[:50].to_csv(other, index=False)
    result = runner.invoke(app, ["evaluate", str(other), "--model", str(model)])
    assert result.exit_code == 0 and result.stderr == ""
