"""Crash safety: a killed run leaves no finished-looking output, and --resume completes it exactly."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from moderation.cli import app

runner = CliRunner()


@pytest.fixture
def dump(tmp_path):
    path = tmp_path / "dump.csv"
    texts = [f"comment {i}: you are a moron" if i % 5 == 0 else f"comment {i} about the city budget and roads"
             for i in range(40_000)]
    pd.DataFrame({"id": range(40_000), "text": texts}).to_csv(path, index=False)
    return path


def command(model_dir, dump, out, *extra):
    return [sys.executable, "-m", "moderation", "score", str(dump), "--model", str(model_dir), "--out", str(out),
            "--chunk-rows", "500", "--jobs", "1", *extra]


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(small_model_dir, dump, tmp_path):
    reference = tmp_path / "reference.csv"
    subprocess.run(command(small_model_dir, dump, reference), check=True, capture_output=True)

    out = tmp_path / "out.csv"
    checkpoint = tmp_path / "out.csv.checkpoint.json"
    proc = subprocess.Popen(command(small_model_dir, dump, out), stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if checkpoint.exists() and json.loads(checkpoint.read_text())["chunks"] >= 5:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads(checkpoint.read_text())
    assert 5 <= state["chunks"] < 80, "the run finished before it could be killed"
    assert not out.exists(), "a killed run must not leave a finished-looking output"
    assert (tmp_path / ".out.csv.part").exists()

    resumed = subprocess.run(command(small_model_dir, dump, out, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after" in resumed.stderr
    assert resumed.stderr.startswith("read 40000 = scored 40000 + rejected 0;")
    assert out.read_bytes() == reference.read_bytes()
    assert not checkpoint.exists()
    assert not (tmp_path / ".out.csv.part").exists()


def _interrupted(model_dir, dump, out):
    """A checkpoint as a killed run leaves it: take a finished run's checkpoint from a run we stop early."""
    proc = subprocess.Popen(command(model_dir, dump, out), stderr=subprocess.DEVNULL)
    checkpoint = out.with_name(out.name + ".checkpoint.json")
    deadline = time.time() + 120
    while time.time() < deadline and not checkpoint.exists():
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert checkpoint.exists()


def test_resume_refuses_a_changed_input(small_model_dir, dump, tmp_path):
    out = tmp_path / "out.csv"
    _interrupted(small_model_dir, dump, out)
    with open(dump, "a") as f:
        f.write("99999,one more row\n")
    result = runner.invoke(app, command(small_model_dir, dump, out, "--resume")[3:])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot resume: the input_size, input_mtime_ns changed since the checkpoint")


def test_resume_refuses_another_model(small_model_dir, sample_labelled, dump, tmp_path):
    import moderation

    out = tmp_path / "out.csv"
    _interrupted(small_model_dir, dump, out)
    other = moderation.train(sample_labelled["text"], sample_labelled["label"],
                             recipe=moderation.Recipe(C=1.0)).save(tmp_path / "other")
    result = runner.invoke(app, command(other, dump, out, "--resume")[3:])
    assert result.exit_code == 2
    warning, error = result.stderr.splitlines()
    assert warning.startswith("Warning: the model was trained with a warning: trained on 303 rows")
    assert error.startswith("Error: cannot resume: the model_sha256 changed since the checkpoint")


def test_resume_needs_a_resumable_output(small_model_dir, dump, tmp_path):
    result = runner.invoke(app, command(small_model_dir, dump, tmp_path / "out.parquet", "--resume")[3:])
    assert result.exit_code == 2
    assert result.stderr == ("Error: --resume needs an input file and a CSV, TSV or JSONL output file "
                             "(not gzipped)\n")


def test_resume_without_checkpoint_starts_afresh(small_model_dir, dump, tmp_path):
    out = tmp_path / "out.csv"
    result = runner.invoke(app, command(small_model_dir, dump, out, "--resume")[3:])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 40_000


# -- a checkpoint the part files no longer match ------------------------------------------------------

@pytest.fixture
def stopped(small_model, tmp_path):
    """A run stopped by Ctrl-C after 3 of 8 chunks: its part files and checkpoint as a killed run leaves them."""
    from moderation.batch import score_file

    path = tmp_path / "in.csv"
    texts = [f"comment {i}: you moron" if i % 3 == 0 else f"comment {i} on the budget" for i in range(400)]
    pd.DataFrame({"id": range(400), "text": texts}).to_csv(path, index=False)
    with open(path, "a") as f:
        f.write("bad,row,here\n")

    def stop(rows, *fraction):
        if rows >= 150:
            raise KeyboardInterrupt

    out = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        score_file(small_model, path, out, chunk_rows=50, jobs=1, resume=True, progress=stop)
    reference = tmp_path / "reference.csv"
    score_file(small_model, path, reference, chunk_rows=50, jobs=1)
    return path, out, reference


def resume(model_dir, path, out):
    return runner.invoke(app, ["score", str(path), "--model", str(model_dir), "--out", str(out), "--chunk-rows", "50",
                               "--jobs", "1", "--resume"])


def test_resume_after_ctrl_c_matches_an_uninterrupted_run(small_model_dir, small_model, stopped):
    path, out, reference = stopped
    result = resume(small_model_dir, path, out)
    assert result.exit_code == 0, result.output
    assert "resumed after 150 rows" in result.stderr
    assert out.read_bytes() == reference.read_bytes()


def test_resume_refuses_a_part_file_cut_short(small_model_dir, stopped):
    path, out, _ = stopped
    part = out.with_name(".out.csv.part")
    state = json.loads(out.with_name("out.csv.checkpoint.json").read_text())
    part.write_bytes(part.read_bytes()[: state["out_bytes"] - 10])
    result = resume(small_model_dir, path, out)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: cannot resume: the part file {part} has {state['out_bytes'] - 10} bytes, the "
                             f"checkpoint {out}.checkpoint.json says {state['out_bytes']}; start again without "
                             "--resume\n")
    assert not out.exists()


def test_resume_refuses_a_part_file_that_ends_differently(small_model_dir, stopped):
    path, out, _ = stopped
    part = out.with_name(".out.csv.part")
    data = bytearray(part.read_bytes())
    data[-40] = ord("#")
    part.write_bytes(bytes(data))
    result = resume(small_model_dir, path, out)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: cannot resume: the part file {part} does not end as the checkpoint "
                             f"{out}.checkpoint.json says; start again without --resume\n")


@pytest.mark.parametrize("part_name", [".out.csv.part", ".out.csv.rejects.csv.part"])
def test_resume_refuses_a_deleted_part_file(small_model_dir, stopped, part_name):
    path, out, _ = stopped
    (out.parent / part_name).unlink()
    result = resume(small_model_dir, path, out)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: cannot resume: the part file {out.parent / part_name} is missing; start again "
                             "without --resume\n")


def test_resume_refuses_a_corrupt_checkpoint(small_model_dir, stopped):
    path, out, _ = stopped
    checkpoint = out.with_name("out.csv.checkpoint.json")
    checkpoint.write_text(checkpoint.read_text()[:30])
    result = resume(small_model_dir, path, out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot resume: the checkpoint {checkpoint} is unreadable (")
    assert result.stderr.endswith("); delete it and start again without --resume\n")
    assert len(result.stderr.splitlines()) == 1
    checkpoint.write_text('{"chunks": 3}')
    result = resume(small_model_dir, path, out)
    assert result.stderr == (f"Error: cannot resume: the checkpoint {checkpoint} is unreadable (missing 'rows'); "
                             "delete it and start again without --resume\n")
    checkpoint.write_text('{"chunks": "three"}')
    result = resume(small_model_dir, path, out)
    assert result.stderr == (f"Error: cannot resume: the checkpoint {checkpoint} is unreadable (chunks is 'three'); "
                             "delete it and start again without --resume\n")
