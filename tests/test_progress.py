"""The progress display on a terminal: rows, the percentage of the input read and the time left."""

import os
import pty
import re
import subprocess
import sys

import pandas as pd
import pytest


def _terminal_stderr(command: list[str]) -> str:
    """What ``command`` writes to its standard error when that is a terminal (standard output is a pipe)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env={**os.environ, "COLUMNS": "150",
                                                                                  "TERM": "xterm"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.communicate()
    os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_progress_shows_percentage_and_time_left(small_model_dir, tmp_path):
    path = tmp_path / "dump.csv"
    pd.DataFrame({"id": range(30_000), "text": [f"comment {i} about the council budget" for i in range(30_000)]}
                 ).to_csv(path, index=False)
    screen = _terminal_stderr([sys.executable, "-m", "moderation", "score", str(path), "--model", str(small_model_dir),
                               "--out", str(tmp_path / "out.csv"), "--jobs", "1", "--chunk-rows", "1000"])
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)  # colours and cursor movements
    frames = re.findall(r"scoring \S+ +(\d+)% ([\d,]+) rows \S+ left (\S+)", screen)
    assert frames, screen
    percentages = [int(p) for p, _, _ in frames]
    assert percentages == sorted(percentages) and 0 < max(percentages) <= 100
    assert any(re.fullmatch(r"\d+:\d\d:\d\d", left) for _, _, left in frames)
    assert "read 30000 = scored 30000 + rejected 0;" in screen
