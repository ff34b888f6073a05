"""The Dask engine on a real LocalCluster: the same rows, ids, scores, flags and reasons as the local engine."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.slow]

from conftest import require_modules  # noqa: E402

require_modules("distributed")

from moderation import ModerationError
from moderation.batch import score_file
from moderation.cli import app
from moderation.distributed import list_partitions, score_partitions

DATA = Path(__file__).resolve().parent.parent / "data"


COLUMNS = ["id", "score", "flag", "reasons", "note"]
# rows that make splitting hard: quoted newlines and commas, CRLF, "NA", empty text, a wrong field count
TRICKY = ['"multi\nline comment, you moron"', '"she said ""idiot"", twice"', "NA", "", '"a\r\nb idiot"']


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def comments() -> pd.DataFrame:
    df = pd.read_csv(DATA / "sample_labelled.csv", dtype=str, keep_default_na=False)[["id", "text"]]
    return pd.concat([df.assign(id=df["id"] + f"-{k}") for k in range(4)], ignore_index=True)  # ~1,200 rows


def local(model, path, tmp_path, **options) -> pd.DataFrame:
    out = tmp_path / f"local-{path.name}.parquet"
    score_file(model, path, out, jobs=1, **options)
    return pd.read_parquet(out)


def dask_out(out_dir) -> pd.DataFrame:
    parts = sorted(out_dir.glob("part.*.parquet"), key=lambda p: int(p.name.split(".")[1]))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert len(ours) == len(theirs)
    for c in COLUMNS:
        assert ours[c].tolist() == theirs[c].tolist(), c  # scores exactly, not approximately


def test_directory_of_csv_parts_with_ids(small_model, comments, cluster, tmp_path):
    src = tmp_path / "dir"
    src.mkdir()
    thirds = [comments.iloc[i::3] for i in range(3)]
    for i, part in enumerate(thirds):
        part.to_csv(src / f"comments-{i}.csv", index=False)
    out = tmp_path / "out"
    summary = score_partitions(small_model, src, out, text_col="text", id_col=None, threshold=None, keep=["text"],
                               categories=False, scheduler=cluster)
    assert sorted(p.name for p in out.glob("part.*")) == ["part.0.parquet", "part.1.parquet", "part.2.parquet"]
    expected = pd.concat([local(small_model, src / f"comments-{i}.csv", tmp_path, keep=["text"]) for i in range(3)],
                         ignore_index=True)
    got = dask_out(out)
    same(got, expected)
    assert got["text"].tolist() == expected["text"].tolist()
    assert summary.rows == len(comments) and summary.rejected == 0
    assert summary.flagged == int(expected["flag"].sum()) > 0


def test_glob_of_parquet_parts_split_by_row_groups(small_model, comments, cluster, tmp_path):
    for i in range(2):
        pq.write_table(pa.Table.from_pandas(comments.iloc[i::2].drop(columns="id"), preserve_index=False),
                       tmp_path / f"p{i}.parquet", row_group_size=100)
    out = tmp_path / "out"
    score_partitions(small_model, str(tmp_path / "p*.parquet"), out, text_col="text", id_col=None, threshold=0.3,
                     keep=None, categories=False, scheduler=cluster, blocksize=4000)
    assert len(list_partitions(str(tmp_path / "p*.parquet"), 4000)) > 2  # row groups of a file, not whole files
    expected = pd.concat([local(small_model, tmp_path / f"p{i}.parquet", tmp_path, threshold=0.3)
                          .assign(id=lambda df, i=i: [f"p{i}.parquet:{n}" for n in df["id"]]) for i in range(2)],
                         ignore_index=True)
    got = dask_out(out)
    same(got, expected)  # ids: the file and the row number the local engine gives, so they are unique
    assert got["id"].is_unique and got["id"].iloc[0] == "p0.parquet:1"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_one_file_split_into_blocks_keeps_line_numbers(small_model, comments, cluster, tmp_path, fmt):
    """No id column: ids are the line numbers the local engine gives, also after a quoted newline or a reject."""
    texts = comments["text"].tolist()
    path = tmp_path / f"big.{fmt}"
    if fmt == "csv":
        lines = ["text,other"]
        for i, t in enumerate(texts):
            lines.append(TRICKY[i % len(TRICKY)] + ",x" if i % 7 == 0 else pd.Series([t]).to_csv(
                index=False, header=False).strip("\n") + ",y")
            if i % 97 == 0:
                lines.append("one,two,three")  # a wrong field count: a reject
        data = ("\r\n".join(lines[:300]) + "\n" + "\n".join(lines[300:]) + "\n").encode()
    else:
        lines = [json.dumps({"text": t}) for t in texts]
        lines[50] = "{broken json"
        data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(data)
    parts = list_partitions(path, blocksize=len(data) // 5)
    assert len(parts) >= 4
    out = tmp_path / "out"
    summary = score_partitions(small_model, path, out, text_col="text", id_col=None, threshold=None, keep=None,
                               categories=False, workers=None, scheduler=cluster, blocksize=len(data) // 5)
    expected = local(small_model, path, tmp_path)
    got = dask_out(out)
    same(got, expected)
    assert len(list(out.glob("part.*.parquet"))) == len(parts)
    local_rejects = pd.read_csv(tmp_path / f"local-{path.name}.parquet.rejects.csv", keep_default_na=False)
    rejects = pd.read_csv(out / "rejects.csv", keep_default_na=False)
    assert summary.rejected == len(local_rejects) > 0
    assert rejects[["line", "reason", "raw"]].equals(local_rejects[["line", "reason", "raw"]])


def test_cli_engine_dask(small_model_dir, comments, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        comments.iloc[i::3].to_csv(src / f"c{i}.csv", index=False)
    out = tmp_path / "scored"
    result = CliRunner().invoke(app, ["score", str(src), "--engine", "dask", "--workers", "2", "--out", str(out),
                                      "--model", str(small_model_dir)])
    assert result.exit_code == 0, result.output
    assert "3 partitions on 2 Dask workers" in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"read {len(comments)} = scored {len(comments)} + rejected 0; ")
    got = dask_out(out)
    assert sorted(got["id"]) == sorted(comments["id"])
    assert list(got.columns) == COLUMNS


def test_missing_extra_is_a_one_line_error(small_model, monkeypatch, tmp_path):
    for name in ("dask", "distributed"):  # None in sys.modules makes any import of them fail
        monkeypatch.setitem(sys.modules, name, None)
    (tmp_path / "a.csv").write_text("text\nhi\n")
    with pytest.raises(ModerationError, match=r'needs extra packages: pip install "\.\[dask\]"'):
        score_partitions(small_model, tmp_path / "a.csv", tmp_path / "out", text_col="text", id_col=None,
                         threshold=None, keep=None, categories=False, workers=1)


def test_bad_scheduler_address_exits_2_quickly(small_model_dir, tmp_path):
    import dask

    (tmp_path / "a.csv").write_text("text\nhi\n")
    started = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        result = CliRunner().invoke(app, ["score", str(tmp_path / "a.csv"), "--engine", "dask", "--scheduler",
                                          "tcp://127.0.0.1:9", "--out", str(tmp_path / "out"),
                                          "--model", str(small_model_dir)])
    assert time.monotonic() - started < 20
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot connect to the Dask scheduler at tcp://127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1


def test_option_errors(small_model_dir, tmp_path):
    (tmp_path / "a.csv").write_text("text\nhi\n")
    result = CliRunner().invoke(app, ["score", str(tmp_path / "a.csv"), "--engine", "dask", "--model",
                                      str(small_model_dir)])
    assert result.exit_code == 2 and "needs --out DIR" in result.stderr
    result = CliRunner().invoke(app, ["score", str(tmp_path / "a.csv"), "--workers", "2", "--model",
                                      str(small_model_dir)])
    assert result.exit_code == 2 and "need --engine dask" in result.stderr


def test_files_as_users_have_them_read_as_the_local_engine_reads_them(small_model, comments, cluster, tmp_path):
    """An Excel export (byte-order mark, semicolons, CRLF, a few Windows-1252 bytes) split into blocks, and a
    JSONL file whose later records lack the text field: the same rows, notes and ids as the local engine, with
    only the flagged rows written."""
    from moderation.io import ReadOptions

    src = tmp_path / "in"
    src.mkdir()
    excel = src / "excel.csv"
    body = "\r\n".join(f"{row.id};{row.text.replace(';', ',').replace(chr(10), ' ')}" for row in comments.itertuples())
    excel.write_bytes(b"\xef\xbb\xbf" + ("id;text\r\n" + body + "\r\n").encode() + b"x1;caf\xe9 idiot\r\n")
    lines = [json.dumps({"id": f"j{i}", "text": t} if i % 5 else {"id": f"j{i}"})
             for i, t in enumerate(comments["text"])]
    (src / "later.jsonl").write_text("\n".join(lines) + "\n")
    read = ReadOptions(sep=";")
    blocksize = excel.stat().st_size // 4
    assert len(list_partitions(src, blocksize, read)) >= 5
    out = tmp_path / "out"
    summary = score_partitions(small_model, src, out, text_col="text", id_col=None, threshold=None, keep=None,
                               categories=False, scheduler=cluster, blocksize=blocksize, read=read, flagged_only=True)
    expected = pd.concat([local(small_model, excel, tmp_path, read=read, flagged_only=True),
                          local(small_model, src / "later.jsonl", tmp_path, read=read, flagged_only=True)],
                         ignore_index=True)
    got = dask_out(out)
    same(got, expected)
    assert summary.rows == 2 * len(comments) + 1 and summary.flagged == len(got) > 0 and summary.replaced == 1
    assert got["id"].iloc[-1].startswith("j") and "x1" in set(got["id"])
    assert got.loc[got["id"] == "x1", "note"].tolist() == ["invalid UTF-8 replaced"]
    all_rows = local(small_model, src / "later.jsonl", tmp_path)
    assert (all_rows["note"] == "no text field").sum() == len(range(0, len(comments), 5))
