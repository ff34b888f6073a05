"""Every input row is scored or rejected with its line and reason: read = scored + rejected."""

import gzip

import pandas as pd
import pytest
from typer.testing import CliRunner

from moderation.cli import app

runner = CliRunner()


def score(*args):
    return runner.invoke(app, ["score", *map(str, args)])


def run(model_dir, path, tmp_path, *extra):
    out = tmp_path / "out.csv"
    result = score(path, "--model", model_dir, "--out", out, "--jobs", "1", *extra)
    return result, out, tmp_path / "out.csv.rejects.csv"


def test_malformed_quoting_and_ragged_rows_are_rejected_with_line_numbers(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,text\n1,hello there\n2,"bad "quote" here"\n3,too,many,fields\n4,you moron\n'
                    '5,"a ""quoted"" word, fine"\n6,"multi\nline comment"\n7,last\n')
    result, out, rejects = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["id"].tolist() == [1, 4, 5, 6, 7]
    bad = pd.read_csv(rejects)
    assert bad["line"].tolist() == [3, 4]
    assert bad["reason"].tolist() == ["malformed CSV: ',' expected after '\"'", "expected 2 fields, found 4"]
    assert bad["raw"].tolist() == ['2,"bad "quote" here"\n', "3,too,many,fields\n"]
    assert result.stderr.startswith("read 7 = scored 5 + rejected 2;")
    assert f"rejects in {rejects}" in result.stderr


def test_strict_exits_1_when_rows_are_rejected(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,fine\n2,a,b\n")
    result, _, _ = run(small_model_dir, path, tmp_path, "--strict")
    assert result.exit_code == 1
    path.write_text("id,text\n1,fine\n2,also fine\n")
    result, _, _ = run(small_model_dir, path, tmp_path, "--strict")
    assert result.exit_code == 0


def test_rejects_path_option(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,fine\n2,a,b\n")
    result, _, _ = run(small_model_dir, path, tmp_path, "--rejects", tmp_path / "bad.csv")
    assert result.exit_code == 0
    assert pd.read_csv(tmp_path / "bad.csv")["line"].tolist() == [3]


def test_nul_bytes_and_invalid_utf8_are_scored_and_noted(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text\n1,nul\x00byte inside\n2,broken \xff\xfe utf8\n3,plain\n")
    result, out, rejects = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, keep_default_na=False)
    assert df["id"].tolist() == [1, 2, 3]
    assert df["note"].tolist() == ["", "invalid UTF-8 replaced", ""]
    assert not rejects.exists()


def test_a_10_mb_comment_is_scored_on_its_start(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    big = "you moron " * 1_000_000
    pd.DataFrame({"id": [1, 2], "text": [big, "short"]}).to_csv(path, index=False)
    result, out, _ = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, keep_default_na=False)
    assert df["note"].tolist() == ["scored on the first 100,000 characters", ""]
    assert df["flag"].tolist()[0]


def test_duplicate_ids_are_all_kept(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n7,one\n7,two\n7,three\n")
    result, out, _ = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 0
    assert pd.read_csv(out)["id"].tolist() == [7, 7, 7]


def test_jsonl_numbers_nulls_and_broken_lines(small_model_dir, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": 12345}\n{"id": 2, "text": null}\n{broken\n\n[1, 2]\n'
                    '{"id": 5, "text": "you moron"}\n{"id": 6}\n')
    result, out, rejects = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, keep_default_na=False)
    assert df["id"].tolist() == [1, 2, 5, 6]
    assert df["score"].tolist()[1] == 0.0 and df["score"].tolist()[3] == 0.0
    bad = pd.read_csv(rejects)
    assert bad["line"].tolist() == [3, 5]
    assert bad["reason"].tolist()[1] == "not a JSON object: list"
    assert result.stderr.startswith("read 6 = scored 4 + rejected 2; ")
    assert "; 2 empty;" in result.stderr


def test_truncated_gzip_keeps_what_was_read_and_rejects_the_rest(small_model_dir, tmp_path):
    data = "id,text\n" + "".join(f"{i},comment number {i}\n" for i in range(1, 5001))
    packed = gzip.compress(data.encode())
    path = tmp_path / "in.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    result, out, rejects = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 0, result.output
    ids = pd.read_csv(out)["id"].tolist()
    assert 0 < len(ids) < 5000 and ids == list(range(1, len(ids) + 1))
    bad = pd.read_csv(rejects, keep_default_na=False)
    assert len(bad) == 1 and bad["reason"][0].startswith("input ends early: ")
    assert result.stderr.startswith(f"read {len(ids) + 1} = scored {len(ids)} + rejected 1;")


def test_binary_junk_named_csv_is_a_one_line_error(small_model_dir, tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(range(256)) * 40)
    result, out, _ = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: no column text (columns: ")
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_missing_text_column_is_a_one_line_error(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,hello\n")
    result, out, _ = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: no column text (columns: id, body); did you mean --text-col body?\n"


@pytest.mark.parametrize("content", ["", "id,text\n"])
def test_empty_and_header_only(small_model_dir, tmp_path, content):
    path = tmp_path / "in.csv"
    path.write_text(content)
    result, out, _ = run(small_model_dir, path, tmp_path)
    assert result.exit_code == 0
    assert out.read_text() == "id,score,flag,reasons,note\n"
    assert result.stderr.startswith("read 0 = scored 0 + rejected 0;")


def test_failed_run_leaves_no_output(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,hello\n")
    out = tmp_path / "out.csv"
    result = score(path, "--model", small_model_dir, "--out", out, "--text-col", "nope")
    assert result.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
