"""The whole loop from the CLI: score --queue → decisions → export → train, and train --from-queue."""

import json

import pandas as pd
from typer.testing import CliRunner

from moderation.cli import app
from moderation.queue.store import open_store

from conftest import DATA

runner = CliRunner()


def test_score_queue_decide_export_retrain(small_model_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'q.db'}"
    dump = tmp_path / "dump.csv"
    labelled = pd.read_csv(DATA / "sample_labelled.csv")
    labelled[["id", "text"]].to_csv(dump, index=False)
    scored = tmp_path / "scored.csv"
    result = runner.invoke(app, ["score", str(dump), "--model", str(small_model_dir), "--out", str(scored),
                                 "--queue", "--db", db])
    assert result.exit_code == 0, result.output
    flagged = int(pd.read_csv(scored)["flag"].sum())
    assert "text" in pd.read_csv(scored).columns
    store = open_store(db)
    assert store.stats()["pending"] == flagged
    # the same file again adds nothing
    again = runner.invoke(app, ["queue", "add", str(scored), "--db", db, "--model", str(small_model_dir)])
    assert again.exit_code == 0, again.output
    assert store.stats()["pending"] == flagged

    store.add_moderator("mod", "a long password", is_admin=False)
    truth = labelled.set_index("id")["label"]
    pending = store.list_queue(limit=1000)
    for c in pending:
        store.decide(c["id"], "mod", "remove" if truth[c["id"]] == 1 else "keep")
    # add some kept comments so both classes are present
    store.add_scored(pd.DataFrame({"id": labelled["id"], "text": labelled["text"], "score": 0.1, "flag": False}),
                     all_rows=True, threshold=0.5)
    for c in store.list_queue(limit=1000):
        store.decide(c["id"], "mod", "remove" if truth[c["id"]] == 1 else "keep")

    export = tmp_path / "decisions.csv"
    result = runner.invoke(app, ["queue", "export", str(export), "--db", db])
    assert result.exit_code == 0, result.output
    decisions = pd.read_csv(export)
    assert list(decisions.columns) == ["id", "text", "label", "action", "reason_code", "moderator", "decided_at", "source"]
    assert len(decisions) == len(labelled)
    assert (decisions.set_index("id")["label"] == truth.loc[decisions["id"]].to_numpy()).all()

    result = runner.invoke(app, ["train", str(export), "--out", str(tmp_path / "m1")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["train", "--from-queue", db, "--out", str(tmp_path / "m2")])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "m2" / "card.json").read_text())
    assert card["training_data"]["sources"] == [{"name": f"queue {db}", "rows": len(labelled),
                                                 "positive_rate": round(float(truth.mean()), 4)}]


def test_score_queue_needs_an_output_file(small_model_dir, tmp_path):
    result = runner.invoke(app, ["score", str(DATA / "sample_comments.csv"), "--model", str(small_model_dir),
                                 "--queue"])
    assert result.exit_code == 2
    assert result.stderr == "Error: --queue needs --out FILE (the scored table is loaded from it)\n"


def test_from_queue_with_no_decisions(tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(db)
    result = runner.invoke(app, ["train", "--from-queue", db, "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert result.stderr == f"Error: the queue {db} has no decisions to train on\n"
