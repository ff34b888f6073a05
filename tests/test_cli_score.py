"""``moderation score``: every row out in order, formats, summary, and one-line errors."""

import gzip
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from moderation.cli import app

runner = CliRunner()


@pytest.fixture
def comments(tmp_path):
    path = tmp_path / "comments.csv"
    pd.DataFrame({"id": ["a1", "a2", "a3", "a4"],
                  "text": ["you are a pathetic moron", "thanks for the thoughtful article", "", "f*ck off idiot"]}
                 ).to_csv(path, index=False)
    return path


def score(*args):
    return runner.invoke(app, ["score", *map(str, args)])


def test_score_csv_to_csv(small_model_dir, comments, tmp_path):
    out = tmp_path / "out.csv"
    result = score(comments, "--model", small_model_dir, "--out", out)
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns) == ["id", "score", "flag", "reasons", "note"]
    assert df["id"].tolist() == ["a1", "a2", "a3", "a4"]
    assert df["flag"].tolist() == [True, False, False, True]
    assert df.loc[2, "score"] == 0.0
    assert "moron" in df.loc[0, "reasons"]
    assert result.stderr.startswith("read 4 = scored 4 + rejected 0; 2 flagged (50.0%) at threshold ")
    assert "; 1 empty;" in result.stderr
    assert not (tmp_path / "out.csv.rejects.csv").exists()
    assert not (tmp_path / "out.csv.checkpoint.json").exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv.gz", ".tsv"])
def test_output_format_follows_extension(small_model_dir, comments, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    assert score(comments, "--model", small_model_dir, "--out", out).exit_code == 0
    if suffix == ".parquet":
        df = pd.read_parquet(out)
    elif suffix == ".jsonl":
        df = pd.read_json(out, lines=True, dtype=False)
    else:
        df = pd.read_csv(out, sep="\t" if suffix == ".tsv" else ",")
    assert df["id"].tolist() == ["a1", "a2", "a3", "a4"]
    assert df["flag"].tolist() == [True, False, False, True]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv.gz", ".tsv", ".jsonl.gz"])
def test_input_formats(small_model_dir, tmp_path, suffix):
    df = pd.DataFrame({"id": [1, 2], "text": ["you moron", "nice article"]})
    path = tmp_path / f"in{suffix}"
    if suffix == ".parquet":
        df.to_parquet(path)
    elif suffix.startswith(".jsonl"):
        data = df.to_json(orient="records", lines=True).encode()
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    else:
        df.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    out = tmp_path / "out.csv"
    result = score(path, "--model", small_model_dir, "--out", out)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["id"].tolist() == [1, 2]


def test_stdin_to_stdout(small_model_dir):
    result = runner.invoke(app, ["score", "-", "--model", str(small_model_dir)],
                           input="text\nyou moron\nlovely day\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "id,score,flag,reasons,note"
    assert [line.split(",")[0] for line in lines[1:]] == ["2", "3"]


def test_line_numbers_when_no_id_column(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    pd.DataFrame({"body": ["one", "two", "three"]}).to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert score(path, "--model", small_model_dir, "--out", out, "--text-col", "body").exit_code == 0
    assert pd.read_csv(out)["id"].tolist() == [2, 3, 4]  # the input line of each row (line 1 is the header)


def test_chunks_keep_order(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    texts = [f"comment number {i} you moron" if i % 3 == 0 else f"comment number {i}" for i in range(1, 26)]
    pd.DataFrame({"id": range(1, 26), "text": texts}).to_csv(path, index=False)
    out1, out2 = tmp_path / "a.csv", tmp_path / "b.csv"
    assert score(path, "--model", small_model_dir, "--out", out1, "--chunk-rows", "4").exit_code == 0
    assert score(path, "--model", small_model_dir, "--out", out2).exit_code == 0
    assert pd.read_csv(out1).equals(pd.read_csv(out2))
    assert pd.read_csv(out1)["id"].tolist() == list(range(1, 26))


def test_threshold_override(small_model_dir, comments, tmp_path):
    out = tmp_path / "out.csv"
    assert score(comments, "--model", small_model_dir, "--out", out, "--threshold", "0").exit_code == 0
    assert pd.read_csv(out)["flag"].tolist() == [True, True, True, True]


def test_missing_text_column_lists_columns(small_model_dir, comments):
    result = score(comments, "--model", small_model_dir, "--text-col", "body")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {comments}: no column body (columns: id, text); did you mean --text-col text?\n"


@pytest.mark.parametrize("name,content,message", [
    ("x.xlsx", b"whatever", "unknown table format"),
    ("missing.csv", None, "no such file"),
    ("bad.parquet", b"not parquet at all", "cannot read"),
])
def test_unreadable_inputs_are_one_line_errors(small_model_dir, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = score(path, "--model", small_model_dir, "--out", tmp_path / "o.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "o.csv").exists()


def test_empty_and_header_only_files(small_model_dir, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header = tmp_path / "header.csv"
    header.write_text("id,text\n")
    for path in (empty, header):
        out = tmp_path / "o.csv"
        result = score(path, "--model", small_model_dir, "--out", out)
        assert result.exit_code == 0, result.output
        assert out.read_text() == "id,score,flag,reasons,note\n"
        assert result.stderr.startswith("read 0 = scored 0 + rejected 0;")


def test_bad_model_dir_is_one_line_error(tmp_path, comments):
    result = score(comments, "--model", tmp_path / "nope")
    assert result.exit_code == 2
    assert result.stderr == f"Error: model directory not found: {tmp_path / 'nope'}\n"


def test_jsonl_output_is_valid_json_lines(small_model_dir, comments, tmp_path):
    out = tmp_path / "o.jsonl"
    assert score(comments, "--model", small_model_dir, "--out", out).exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4"]
    assert set(rows[0]) == {"id", "score", "flag", "reasons", "note"}


def test_jobs_give_identical_output(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    texts = [f"comment {i}: you moron" if i % 4 == 0 else f"comment {i} about the budget" for i in range(1, 120)]
    pd.DataFrame({"id": range(1, 120), "text": texts}).to_csv(path, index=False)
    outs = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"o{jobs}.csv"
        result = score(path, "--model", small_model_dir, "--out", out, "--jobs", jobs, "--chunk-rows", "10")
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_keep_carries_input_columns(small_model_dir, comments, tmp_path):
    out = tmp_path / "o.csv"
    result = score(comments, "--model", small_model_dir, "--out", out, "--keep", "text")
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns) == ["id", "score", "flag", "reasons", "note", "text"]
    assert df["text"].tolist()[1] == "thanks for the thoughtful article"


def test_keep_unknown_column_is_an_error(small_model_dir, comments):
    result = score(comments, "--model", small_model_dir, "--keep", "nope")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {comments}: no column nope (columns: id, text)\n"


def test_categories_need_a_model_with_categories(small_model_dir, comments):
    result = score(comments, "--model", small_model_dir, "--categories")
    assert result.exit_code == 2
    assert result.stderr == "Error: this model has no categories (train it on data with category labels)\n"


@pytest.mark.parametrize("jobs", [1, 2])
def test_scoring_leaves_the_garbage_collector_as_it_found_it(small_model, tmp_path, jobs):
    # scoring freezes what exists when it starts out of garbage collection, and undoes it however it ends
    import gc

    from moderation.batch import score_file

    path = tmp_path / "in.csv"
    pd.DataFrame({"id": range(60), "text": [f"comment {i} on the budget" for i in range(60)]}).to_csv(path, index=False)
    seen = []

    def watch(rows, *fraction):
        seen.append(gc.get_freeze_count())

    score_file(small_model, path, tmp_path / "out.csv", chunk_rows=10, jobs=jobs, progress=watch)
    assert len(seen) >= 6 and min(seen) > 0, seen
    assert gc.get_freeze_count() == 0

    def stop(rows, *fraction):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_file(small_model, path, tmp_path / "out2.csv", chunk_rows=10, jobs=jobs, progress=stop)
    assert gc.get_freeze_count() == 0
