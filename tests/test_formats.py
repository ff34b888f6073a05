"""Files as users have them, read through the one format registry: byte-order marks, other delimiters and
encodings, standard input in any format, column names, JSONL records without the text field, empty files."""

import gzip
import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from moderation import ModerationError
from moderation.cli import app
from moderation.io import iter_records, iter_table, read_table
from moderation.labels import read_labelled_set

runner = CliRunner()
BOM = b"\xef\xbb\xbf"


def score(*args, input=None):
    return runner.invoke(app, ["score", *map(str, args)], input=input)


def refusal(model_dir, path, content: str | bytes, *options) -> str:
    """What ``moderation score`` says, exiting 2, about a file holding ``content``."""
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = score(path, "--model", model_dir, *options)
    assert result.exit_code == 2
    return result.stderr


def scored(result) -> pd.DataFrame:
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout), keep_default_na=False, dtype=str)


def test_every_format_declares_its_readers_writer_and_resumability():
    from moderation.io import FORMATS

    assert {name: (f.suffixes, f.gzip, f.resumable) for name, f in FORMATS.items()} == {
        "csv": ((".csv",), True, True), "tsv": ((".tsv",), True, True),
        "jsonl": ((".jsonl", ".ndjson", ".json"), True, True), "parquet": ((".parquet", ".pq"), False, False)}


# -- byte-order marks ------------------------------------------------------------------------------

def test_excel_bom_keeps_the_id_column(small_model_dir, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(BOM + b"id,text\r\nc1,you moron\r\nc2,nice article\r\n")
    assert scored(score(path, "--model", small_model_dir))["id"].tolist() == ["c1", "c2"]


def test_excel_bom_before_the_text_column(small_model_dir, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(BOM + b"text,label\r\nyou moron,1\r\n")
    assert scored(score(path, "--model", small_model_dir))["id"].tolist() == ["2"]


def test_bom_before_the_first_json_line(small_model_dir, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(BOM + b'{"id": "j1", "text": "you moron"}\n{"id": "j2", "text": "hello"}\n')
    result = score(path, "--model", small_model_dir)
    assert scored(result)["id"].tolist() == ["j1", "j2"]
    assert result.stderr.startswith("read 2 = scored 2 + rejected 0;")


def test_bom_on_standard_input(small_model_dir):
    result = score("-", "--model", small_model_dir, input=BOM + b"id,text\nz9,hello\n")
    assert scored(result)["id"].tolist() == ["z9"]


# -- delimiters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sep", [";", "|", "\t"])
def test_delimiter_is_detected_from_the_header(small_model_dir, tmp_path, sep):
    path = tmp_path / "in.csv"
    path.write_text(f"id{sep}text\n1{sep}you moron, really\n2{sep}a calm reply\n")
    out = scored(score(path, "--model", small_model_dir, "--keep", "text"))
    assert out["id"].tolist() == ["1", "2"]
    assert out["text"].tolist() == ["you moron, really", "a calm reply"]


def test_sep_option_overrides_detection(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id;text,more\n1;hello, there\n")
    out = scored(score(path, "--model", small_model_dir, "--sep", ";", "--text-col", "text,more", "--keep", "id"))
    assert out[["id", "reasons"]].values.tolist() == [["1", ""]]
    assert score(path, "--model", small_model_dir, "--text-col", "text,more").exit_code == 2  # read as comma-separated


def test_sep_tab_by_name(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id\ttext, more\nt1\thi, there\n")
    out = scored(score(path, "--model", small_model_dir, "--sep", "tab", "--text-col", "text, more"))
    assert out["id"].tolist() == ["t1"]


def test_a_missing_column_names_the_delimiter_the_header_seems_to_use(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    assert refusal(small_model_dir, path, "id;text\n1;hello\n", "--sep", ",") == (
        f"Error: {path}: no column text (columns: id;text); the header looks "
                             "semicolon-separated: try --sep ';'\n")


def test_train_and_evaluate_read_semicolon_files(small_model_dir, tmp_path, sample_labelled):
    path = tmp_path / "europe.csv"
    sample_labelled[["text", "label"]].to_csv(path, sep=";", index=False)
    result = runner.invoke(app, ["train", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate", str(path), "--model", str(small_model_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"== {path} (303 rows, 124 remove)")


def test_bad_sep_is_one_line(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    assert refusal(small_model_dir, path, "id,text\n1,hi\n", "--sep", ";;") == (
        "Error: --sep must be one character other than a quote or a newline, not ';;'\n")


# -- encodings -------------------------------------------------------------------------------------

def test_windows_1252_is_replaced_and_counted_unless_encoding_is_given(small_model_dir, tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("id,text\n1,naïve café\n2,plain\n3,déjà vu\n".encode("cp1252"))
    result = score(path, "--model", small_model_dir, "--keep", "text")
    out = scored(result)
    assert out["note"].tolist() == ["invalid UTF-8 replaced", "", "invalid UTF-8 replaced"]
    assert out["text"].tolist()[0] == "na\ufffdve caf\ufffd"
    summary, hint = result.stderr.splitlines()
    assert summary.endswith("; invalid UTF-8 replaced in 2 rows")
    assert hint == "Hint: if the input is not UTF-8, give its encoding, e.g. --encoding cp1252"
    result = score(path, "--model", small_model_dir, "--keep", "text", "--encoding", "cp1252")
    out = scored(result)
    assert out["text"].tolist() == ["naïve café", "plain", "déjà vu"]
    assert out["note"].tolist() == ["", "", ""]
    assert len(result.stderr.splitlines()) == 1 and "replaced" not in result.stderr


def test_encoding_for_training_files(tmp_path):
    from moderation.io import ReadOptions

    path = tmp_path / "win.csv"
    path.write_bytes("text,label\ncafé idiot,1\n".encode("cp1252"))
    assert read_labelled_set(path, read=ReadOptions(encoding="cp1252")).texts == ["café idiot"]
    assert read_labelled_set(path).texts == ["caf\ufffd idiot"]


def test_unknown_encoding_is_one_line(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    assert refusal(small_model_dir, path, "id,text\n1,hi\n", "--encoding", "klingon") == (
        "Error: --encoding klingon is not an encoding Python knows "
                             "(e.g. utf-8, cp1252, latin-1, utf-16)\n")


# -- standard input --------------------------------------------------------------------------------

def test_gzipped_json_lines_on_standard_input_are_sniffed(small_model_dir):
    data = gzip.compress(b'{"id": "g1", "text": "you moron"}\n{"id": "g2", "text": "hello"}\n')
    assert scored(score("-", "--model", small_model_dir, input=data))["id"].tolist() == ["g1", "g2"]


def test_json_lines_on_standard_input_are_sniffed(small_model_dir):
    result = score("-", "--model", small_model_dir, input=b'\n  {"id": "s1", "text": "hello"}\n')
    assert scored(result)["id"].tolist() == ["s1"]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_format_option_on_standard_input(small_model_dir, tmp_path, fmt):
    df = pd.DataFrame({"id": ["f1", "f2"], "text": ["you moron", "hello"]})
    buffer = io.BytesIO()
    if fmt == "parquet":
        df.to_parquet(buffer)
    elif fmt == "jsonl":
        buffer.write(df.to_json(orient="records", lines=True).encode())
    else:
        buffer.write(df.to_csv(index=False, sep="\t" if fmt == "tsv" else ",").encode())
    result = score("-", "--model", small_model_dir, "--format", fmt, input=buffer.getvalue())
    assert scored(result)["id"].tolist() == ["f1", "f2"]


def test_unknown_format_is_one_line(small_model_dir):
    result = score("-", "--model", small_model_dir, "--format", "xlsx", input=b"id,text\n")
    assert result.exit_code == 2
    assert result.stderr == "Error: --format must be one of csv, tsv, jsonl, parquet, not xlsx\n"


# -- column names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("header,hint", [
    ("id,comment", "; did you mean --text-col comment?"),  # the likely column
    ("id,Text,TEXT", "; Text, TEXT differ only in case"),  # no unambiguous match in another case
])
def test_a_missing_column_says_what_would_fix_it(small_model_dir, tmp_path, header, hint):
    path = tmp_path / "in.csv"
    assert refusal(small_model_dir, path, f"{header}\n1,hello,x\n") == (
        f"Error: {path}: no column text (columns: {header.replace(',', ', ')}){hint}\n")


def test_column_names_match_case_insensitively(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("ID,Text\nk1,you moron\n")
    out = scored(score(path, "--model", small_model_dir, "--keep", "text"))
    assert out[["id", "text"]].values.tolist() == [["k1", "you moron"]]
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("Text,LABEL\nyou moron,1\nhello,0\n")
    assert read_labelled_set(labelled).labels.tolist() == [1, 0]


def test_input_text_in_an_error_is_escaped(small_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    error = refusal(small_model_dir, path, b"id,\x1b]2:owned\x07\x1b[31mbody\n1,hello\n")
    assert error == f"Error: {path}: no column text (columns: id, \\x1b]2:owned\\x07\\x1b[31mbody)\n"
    assert "\x1b" not in error and "\x07" not in error


# -- JSONL records without the text field ------------------------------------------------------------

def test_a_record_without_the_text_field_is_scored_as_empty_whatever_the_chunk_size(small_model_dir, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "you moron"}\n{"id": 2, "body": "x"}\n{"id": 3}\n{"id": 4, "text": "hi"}\n'
                    '{"id": 5}\n{broken\n{"id": 7, "text": null}\n')
    outputs = []
    for rows in ("1", "2", "3", "5000"):
        result = score(path, "--model", small_model_dir, "--chunk-rows", rows, "--rejects", tmp_path / "r.csv")
        assert result.stderr.startswith("read 7 = scored 6 + rejected 1; "), rows
        outputs.append(scored(result))
    assert all(o.equals(outputs[0]) for o in outputs)
    assert outputs[0]["id"].tolist() == ["1", "2", "3", "4", "5", "7"]
    assert outputs[0]["note"].tolist() == ["", "no text field", "no text field", "", "no text field", ""]
    assert outputs[0]["score"].tolist()[1:3] == ["0.0", "0.0"]


def test_json_lines_without_any_text_field_are_one_line(small_model_dir, tmp_path):
    path = tmp_path / "in.jsonl"
    content = '{"id": 1, "body": "hello"}\n{"id": 2, "body": "you moron"}\n'
    assert refusal(small_model_dir, path, content, "--chunk-rows", "1") == (
        f"Error: {path}: no column text (columns: id, body); did you mean --text-col body?\n")


# -- empty files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,content", [("empty.csv", b""), ("bom.csv", BOM), ("blank.jsonl", b"\n\n")])
def test_an_empty_file_is_named_as_such(small_model_dir, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    result = score(path, "--model", small_model_dir, "--out", tmp_path / "o.csv")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0].endswith("; the file is empty")
    result = runner.invoke(app, ["train", str(path), "--out", str(tmp_path / "m")])
    assert (result.exit_code, result.stderr) == (2, f"Error: {path}: the file is empty\n")
    result = runner.invoke(app, ["evaluate", str(path), "--model", str(small_model_dir)])
    assert (result.exit_code, result.stderr) == (2, f"Error: {path}: the file is empty\n")


def test_a_header_only_file_is_not_called_empty(small_model_dir, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("id,text\n")
    result = score(path, "--model", small_model_dir)
    assert "empty" not in result.stderr.split("; 0 empty;")[1]


# -- whole tables ----------------------------------------------------------------------------------

def test_training_refuses_a_file_with_unreadable_records(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("label,text\n1,you moron\n0\n0,hello there\n")
    result = runner.invoke(app, ["train", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: cannot read {path}: line 3: expected 2 fields, found 1 (every record must be "
                             "readable to train or evaluate on a file)\n")


def test_whole_table_and_record_readers_agree(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,text\n1,"multi\nline"\n2,NA\n3,\n')
    whole = read_table(path)
    chunks = list(iter_records(path, chunk_rows=2))
    assert whole.values.tolist() == [["1", "multi\nline"], ["2", "NA"], ["3", ""]]
    assert pd.concat([c.frame for c in chunks], ignore_index=True).equals(whole)
    assert [n for c in chunks for n in c.lines] == [2, 4, 5]


def test_whole_table_read_of_json_lines_and_parquet(tmp_path):
    rows = [{"text": "a", "label": 1}, {"text": "b", "label": 0}]
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pd.DataFrame(rows).to_parquet(tmp_path / "t.parquet")
    for name in ("t.jsonl", "t.parquet"):
        assert read_table(tmp_path / name).to_dict(orient="records") == rows
    with pytest.raises(ModerationError, match=r"t\.jsonl\.gz"):
        read_table(tmp_path / "t.jsonl.gz")


def test_iter_table_yields_no_empty_chunk_after_rows(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,a\n2,b\n")
    assert [len(f) for f in iter_table(path, chunksize=1)] == [1, 1]
    path.write_text("id,text\n")
    assert [list(f.columns) for f in iter_table(path, chunksize=1)] == [["id", "text"]]
