"""The HTML report opened in a real headless Chromium (Debian's, via Playwright).

Every image decodes, every section and table is there, nothing is fetched from the
network and no script runs. With MODERATION_SCREENSHOT=1 the top of the report of
the default model on our own sample data is saved to docs/report.png (the README's
screenshot).
"""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from moderation.cli import app

from conftest import ROOT

SECTIONS = ["summary", "thresholds", "curves", "confusion", "calibration", "categories", "identities", "errors"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The default model on our labelled sample and on the identity probes, as `moderation evaluate` writes it."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)  # the paths as a user in a checkout would type them
        result = CliRunner().invoke(app, ["evaluate", "data/sample_labelled.csv", "data/identity_probes.csv",
                                          "--report", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_report_renders_in_chromium(browser, report, tmp_path, default_model):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(d.message))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert page.title() == "Moderation model evaluation"
    assert page.eval_on_selector_all("section", "els => els.map(e => e.id)") == SECTIONS
    images = page.eval_on_selector_all("img", "els => els.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    # threshold charts (2), curves (2 data files), calibration (2), bias heat map (the probes only)
    assert len(images) == 7
    assert all(complete and width > 300 and height > 200 for complete, width, height in images)
    tables = page.eval_on_selector_all("table", "els => els.map(t => t.className)")
    for cls in ("summary", "thresholds", "operating-points", "confusion", "calibration", "categories", "identities"):
        assert cls in tables
    assert page.locator("table.thresholds").count() == 2
    summary = page.locator("table.summary tbody tr").all_inner_texts()
    assert summary[0].split() == ["rows", "303", "4056"]
    assert page.locator("#errors mark").count() > 0
    # the threshold picker starts at the model's threshold and shows the table's numbers at 0.50
    picker = page.locator(".picker").first
    assert picker.locator("output.threshold").inner_text() == f"{default_model.threshold:.2f}"
    picker.locator("input").evaluate("el => { el.value = '0.5'; el.dispatchEvent(new Event('input')); }")
    row = page.locator("table.thresholds").first.locator("tbody tr").nth(4).all_inner_texts()[0].split()
    assert row[0] == "0.500"
    assert [picker.locator(f"output.{c}").inner_text() for c in ("threshold", "precision", "recall", "flag_rate")] \
        == ["0.50", row[1], row[2], row[4]]
    flagged = int(picker.locator("output.flagged").inner_text())
    assert round(flagged / 303, 3) == float(row[4])
    assert picker.locator("output.per10k").inner_text() == str(round(flagged / 303 * 10000))
    assert errors == []
    assert [u for u in requests if not u.startswith("file://") and not u.startswith("data:")] == []
    screenshot = tmp_path / "report.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 50_000
    if os.environ.get("MODERATION_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "report.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1400, "height": 1700})
    context.close()
