"""Writing: an output never replaces the input, and a directory that cannot be written to or a full disk is
one line (exit 2 before the run begins writing, 1 after), never a traceback, leaving nothing half-written."""

import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from moderation.cli import app

runner = CliRunner()


def score(*args):
    return runner.invoke(app, ["score", *map(str, args)])


@pytest.fixture
def comments(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,text\n1,you moron\n2,hello\n")
    return path


def test_out_equal_to_the_input_is_refused(small_model_dir, comments, tmp_path):
    before = comments.read_bytes()
    for out in (comments, tmp_path / "." / "a.csv"):
        result = score(comments, "--model", small_model_dir, "--out", out)
        assert (result.exit_code, result.stderr) == (2, f"Error: --out {out} is the input file: scoring would "
                                                        "replace it\n")
    assert comments.read_bytes() == before


def test_rejects_equal_to_the_input_or_the_output_is_refused(small_model_dir, comments, tmp_path):
    before = comments.read_bytes()
    result = score(comments, "--model", small_model_dir, "--out", tmp_path / "o.csv", "--rejects", comments)
    assert (result.exit_code, result.stderr) == (2, f"Error: --rejects {comments} is the input file: scoring would "
                                                    "replace it\n")
    result = score(comments, "--model", small_model_dir, "--out", tmp_path / "o.csv", "--rejects", tmp_path / "o.csv")
    assert (result.exit_code, result.stderr) == (2, f"Error: --rejects {tmp_path / 'o.csv'} is also --out: give "
                                                    "them different files\n")
    assert comments.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_flagged_only_writes_the_flagged_rows_and_counts_them_all(small_model_dir, comments, tmp_path):
    out = tmp_path / "flagged.jsonl"
    result = score(comments, "--model", small_model_dir, "--out", out, "--flagged-only")
    assert result.exit_code == 0, result.output
    assert pd.read_json(out, lines=True, dtype=False)["id"].tolist() == ["1"]
    assert result.stderr.startswith("read 2 = scored 2 + rejected 0; 1 flagged (50.0%)")


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


def _run_with_tmpfs(mount_point, options: str, command: list[str]) -> subprocess.CompletedProcess:
    """``command`` in a private mount namespace with a tmpfs (``options``) mounted on ``mount_point``."""
    script = f'mount -t tmpfs -o {options} tmpfs "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(mount_point), *command],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})


needs_namespaces = pytest.mark.skipif(not _unshare_works(), reason="unshare -rm (user and mount namespaces) "
                                      "is not available")


def _dump(tmp_path, rows=4000):
    path = tmp_path / "dump.csv"
    pd.DataFrame({"id": range(rows), "text": [f"comment {i} about the council budget" for i in range(rows)]}
                 ).to_csv(path, index=False)
    return path


@pytest.mark.slow
@needs_namespaces
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_full_disk_is_one_line_and_exit_1(small_model_dir, tmp_path, suffix):
    """A real ENOSPC: the output directory is a 16 KiB tmpfs, the output larger."""
    dump = _dump(tmp_path)
    full = tmp_path / "full"
    full.mkdir()
    out = full / f"out{suffix}"
    proc = _run_with_tmpfs(full, "size=16k", [sys.executable, "-m", "moderation", "score", str(dump), "--model",
                                              str(small_model_dir), "--out", str(out), "--jobs", "1",
                                              "--chunk-rows", "500"])
    assert proc.returncode == 1, proc.stderr
    # which file fills the disk first (the output, or the checkpoint beside it) depends on block sizes
    assert re.fullmatch(rf"Error: cannot write {re.escape(str(out))}(\.checkpoint\.json)?: No space left on device\n",
                        proc.stderr), proc.stderr
    assert not any(p.name.startswith(".out") for p in full.iterdir())  # (the tmpfs is gone; so is the part file)


@pytest.mark.slow
def test_a_full_standard_output_is_one_line_and_exit_1(small_model_dir, tmp_path):
    dump = _dump(tmp_path)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "moderation", "score", str(dump), "--model", str(small_model_dir),
                               "--jobs", "1"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 1
    assert proc.stderr == "Error: cannot write -: No space left on device\n"


@pytest.mark.slow
@needs_namespaces
def test_an_unwritable_output_directory_is_one_line_and_exit_2(small_model_dir, comments, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    proc = _run_with_tmpfs(locked, "ro,size=64k", [sys.executable, "-m", "moderation", "score", str(comments),
                                                   "--model", str(small_model_dir), "--out", str(locked / "o.csv")])
    assert proc.returncode == 2
    assert proc.stderr == f"Error: cannot write to {locked}: Read-only file system\n"


def test_an_unwritable_directory_as_another_user(small_model_dir, comments, tmp_path):
    """Without namespaces (as a non-root user), a directory without write permission."""
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere; the namespace test covers this")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    result = score(comments, "--model", small_model_dir, "--out", locked / "o.csv")
    assert (result.exit_code, result.stderr) == (2, f"Error: cannot write to {locked}: Permission denied\n")
