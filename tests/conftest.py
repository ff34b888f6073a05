"""Shared fixtures: a small model trained on our own sample data, and the public corpora when present."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import moderation
from moderation.corpora import find_data_root

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str):
    """Skip outside CI; in CI (CI=true) a missing prerequisite is a failure, not a skip."""
    if in_ci():
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sample_labelled() -> pd.DataFrame:
    return pd.read_csv(DATA / "sample_labelled.csv")


@pytest.fixture(scope="session")
def small_model(sample_labelled) -> moderation.Model:
    """A model trained in well under a second on data/sample_labelled.csv."""
    return moderation.train(sample_labelled["text"], sample_labelled["label"])


@pytest.fixture(scope="session")
def small_model_dir(small_model, tmp_path_factory) -> Path:
    return small_model.save(tmp_path_factory.mktemp("model") / "small")


@pytest.fixture(scope="session")
def default_model() -> moderation.Model:
    return moderation.load_model()


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = find_data_root()
    if root is None:
        skip_or_fail("the public corpora (../shared/data or MODERATION_DATA) are not available")
    return root


# -- a real headless Chromium (Debian's), driven by Playwright --------------------------------

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser(sync_playwright):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()
