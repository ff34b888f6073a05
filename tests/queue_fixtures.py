"""Shared helpers for the review-queue tests: a tiny model, scored frames, hostile comments, CI-aware skips.

Import the fixtures into a test module (``from queue_fixtures import tiny_model, ...``).
The tiny model is trained once per process on data/sample_labelled.csv (< 1 s) and
cached, so every module shares it.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "data" / "sample_labelled.csv"
XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason`` on a developer machine; fail in CI, where everything must be installed."""
    if in_ci():
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@functools.lru_cache(maxsize=1)
def _model_dir() -> str:
    import moderation

    df = pd.read_csv(LABELLED)
    model = moderation.train(df["text"].tolist(), df["label"].to_numpy(dtype=int))
    path = Path(tempfile.mkdtemp(prefix="queue-tiny-model-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    model.save(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny trained model directory (trained once per session)."""
    target = tmp_path_factory.getbasetemp() / "tiny-model"
    if not target.exists():
        shutil.copytree(_model_dir(), target)
    return target


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    import moderation

    return moderation.load_model(tiny_model_dir)


def scored_frame(model, extra: list[tuple[str, str]] | None = None) -> pd.DataFrame:
    """What ``moderation score --keep text`` gives for the labelled sample (plus ``extra`` (id, text) rows)."""
    df = pd.read_csv(LABELLED)
    ids, texts = df["id"].tolist(), df["text"].tolist()
    for cid, text in extra or []:
        ids.append(cid)
        texts.append(text)
    # built from Model.score (the stable interface) rather than moderation.batch, which is being extended
    scores = model.score(texts).round(6)
    return pd.DataFrame({"id": ids, "score": scores, "flag": scores >= model.threshold,
                         "reasons": [""] * len(ids), "text": texts})


def hostile_frame() -> pd.DataFrame:
    """Scored rows whose text, id and source are XSS payloads, at the top of the queue (score ≈ 1)."""
    rows = []
    for i, payload in enumerate(XSS):
        rows.append({"id": f"xss{i}", "text": f"you idiot {payload} idiot", "score": 0.999 - i / 1000,
                     "flag": True, "reasons": payload, "source": payload})
    rows.append({"id": XSS[2], "text": "id is hostile", "score": 0.99, "flag": True, "reasons": "",
                 "source": "web"})
    return pd.DataFrame(rows)
