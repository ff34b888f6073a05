"""``moderation users``, ``moderation queue`` and ``moderation serve``: parse, call the store, print.

Importable without the ``queue`` extra (SQLAlchemy, FastAPI, uvicorn are imported
inside the commands), so ``moderation score`` works on the base install; a
command that needs them says which extra to install.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..cliutil import (ArticleCol, ArticleTitleCol, ArticleUrlCol, AuthorCol, CreatedCol, Db, ModelDir, ParentCol,
                       TrustPickle, user_errors)
from ..errors import ModerationError, ParameterError

__all__ = ["queue_app", "users_app", "serve"]


queue_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                        help="The moderators' review queue: load scored comments, export decisions, stats.")
users_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                        help="Moderator accounts: add, list, passwords, disable, remove, API tokens, sessions.")


def _store(db: Optional[str]):
    from . import open_queue

    return open_queue(db)


def _read_password(name: str) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise ModerationError("no password on standard input")
        return password
    return typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
@user_errors
def users_add(
    name: str = typer.Argument(..., help="Moderator name (no spaces)."),
    admin: bool = typer.Option(False, "--admin", help="May see everyone's decisions and decide escalated comments."),
    db: Db = None,
):
    """Add a moderator; the password is read from stdin when it is not a terminal, else prompted."""
    store = _store(db)
    password = _read_password(name)
    store.add_moderator(name, password, is_admin=admin)
    typer.echo(f"Added {'admin' if admin else 'moderator'} {name}")


@users_app.command("list")
@user_errors
def users_list(db: Db = None):
    """List the accounts: name, role, state, decisions made, last seen on the web."""
    rows = _store(db).list_moderators(accounts=True)
    if not rows:
        typer.echo("No moderators (add one with: moderation users add NAME)")
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        typer.echo(f"{r['name']:<{width}}  {'admin' if r['is_admin'] else 'moderator':<9}  "
                   f"{'disabled' if r['disabled'] else 'active':<8}  {r['decisions']} decisions  "
                   f"last seen {r['last_seen'] or 'never'}")


@users_app.command("passwd")
@user_errors
def users_passwd(
    name: str = typer.Argument(..., help="Moderator whose password changes."),
    db: Db = None,
):
    """Change NAME's password (read from stdin when it is not a terminal, else prompted); ends their web sessions."""
    store = _store(db)
    ended = store.set_password(name, _read_password(name))
    typer.echo(f"Changed the password of {name}; ended {ended} session{'' if ended == 1 else 's'}")


@users_app.command("disable")
@user_errors
def users_disable(
    name: str = typer.Argument(..., help="Moderator who may no longer log in."),
    db: Db = None,
):
    """Stop NAME logging in or using their token (sessions end, claims are released); 'users enable' undoes it."""
    _store(db).set_disabled(name, True)
    typer.echo(f"Disabled {name}")


@users_app.command("enable")
@user_errors
def users_enable(
    name: str = typer.Argument(..., help="Disabled moderator who may log in again."),
    db: Db = None,
):
    """Let a disabled moderator log in again."""
    _store(db).set_disabled(name, False)
    typer.echo(f"Enabled {name}")


@users_app.command("remove")
@user_errors
def users_remove(
    name: str = typer.Argument(..., help="Moderator to remove."),
    db: Db = None,
):
    """Remove NAME for good: no login, token or sessions; their decisions stay in the audit log under their name."""
    _store(db).remove_moderator(name)
    typer.echo(f"Removed {name}; their decisions stay in the log")


@users_app.command("token")
@user_errors
def users_token(
    name: str = typer.Argument(..., help="Moderator the token acts as."),
    db: Db = None,
):
    """Print a new API token for NAME (shown once; replaces the old one). Use it as 'Authorization: Bearer ...'."""
    typer.echo(_store(db).new_token(name))


@users_app.command("logout")
@user_errors
def users_logout(
    name: str = typer.Argument(..., help="Moderator to sign out of every browser."),
    db: Db = None,
):
    """End every web session of NAME at once (a lost laptop, a shared password); API tokens are untouched."""
    ended = _store(db).revoke_sessions(name)
    typer.echo(f"Ended {ended} session{'' if ended == 1 else 's'} of {name}")


def _load_model(model_dir: Optional[Path], required: bool, trust_pickle: bool = False):
    from ..persist import load_model

    if model_dir is not None or required:
        return load_model(model_dir, trust_pickle=trust_pickle)
    try:
        return load_model(None, trust_pickle=trust_pickle)
    except ModerationError as e:
        typer.echo(f"Warning: no model ({e}); offending spans will not be highlighted", err=True)
        return None


@queue_app.command("add")
@user_errors
def queue_add(
    scored_file: str = typer.Argument(..., help="A 'moderation score' output with id, score, flag and text columns."),
    db: Db = None,
    all_rows: bool = typer.Option(False, "--all", help="Load every row, not only the flagged ones."),
    min_score: Optional[float] = typer.Option(None, "--min-score", help="Load the rows scoring at least this."),
    model: ModelDir = None,
    trust_pickle: TrustPickle = False,
    article_col: ArticleCol = None,
    article_title_col: ArticleTitleCol = None,
    article_url_col: ArticleUrlCol = None,
    author_col: AuthorCol = None,
    parent_col: ParentCol = None,
    created_col: CreatedCol = None,
):
    """Load the flagged rows of a scored file into the queue (idempotent by comment id), with their context."""
    from .context import ContextColumns

    if all_rows and min_score is not None:
        raise ModerationError("give --all or --min-score, not both")
    context = ContextColumns.given(article_id=article_col, article_title=article_title_col,
                                   article_url=article_url_col, author=author_col, parent_id=parent_col,
                                   created_at=created_col)
    store = _store(db)
    result = store.add_scored(scored_file, all_rows=all_rows, min_score=min_score,
                              model=_load_model(model, required=False, trust_pickle=trust_pickle), context=context)
    typer.echo(result.line())


@queue_app.command("export")
@user_errors
def queue_export(
    out: str = typer.Argument(..., help="Output table (CSV, TSV, JSONL, Parquet; optionally .gz); - for stdout."),
    db: Db = None,
):
    """Write every decided comment as id,text,label,action,reason_code,moderator,decided_at,source (label 1 = remove)."""
    from ..io import TableWriter

    frame = _store(db).export_decisions()
    with TableWriter(out) as writer:
        writer.write(frame)
    if out != "-":
        typer.echo(f"{len(frame)} decisions written to {out} ({int(frame['label'].sum())} remove, "
                   f"{int((frame['label'] == 0).sum())} keep)")


def _fmt(p) -> str:
    return "n/a" if p is None else f"{p:.3f}"


@queue_app.command("stats")
@user_errors
def queue_stats(db: Db = None):
    """Pending and decided counts, and the model's precision against the moderators' decisions by category."""
    s = _store(db).stats()
    typer.echo(f"pending {s['pending']}")
    typer.echo(f"escalated {s['escalated']}")
    typer.echo(f"decided {s['decided']} (removed {s['removed']}, kept {s['kept']})")
    flagged = sum(v["flagged"] for v in s["by_category"].values())
    typer.echo(f"model precision {_fmt(s['precision'])} ({flagged} flagged of {s['decided']} decided)")
    for cat, v in sorted(s["by_category"].items()):
        typer.echo(f"  {cat}: precision {_fmt(v['precision'])} ({v['flagged']} flagged of {v['decided']} decided)")


@user_errors
def serve(
    db: Db = None,
    host: str = typer.Option("127.0.0.1", help="Address to listen on (keep loopback behind a TLS proxy)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    model: ModelDir = None,
    trust_pickle: TrustPickle = False,
    forwarded_allow_ips: Optional[str] = typer.Option(
        None, "--forwarded-allow-ips",
        help="Proxies whose X-Forwarded-*/Forwarded headers are believed, comma-separated, * for any "
             "[default: $FORWARDED_ALLOW_IPS, else 127.0.0.1,::1]."),
    api_only: bool = typer.Option(False, "--api-only", help="Only the scoring endpoints (the Perspective API, "
                                  "/api/score), the discovery document and /healthz: no review pages."),
    workers: int = typer.Option(1, "--workers", help="Worker processes, each with its own copy of the model "
                                "(one per core for the most scoring throughput)."),
):
    """Run the review web app and the Perspective API (FastAPI under uvicorn)."""
    from ..extras import require

    require("uvicorn", "queue", "the review queue")
    require("fastapi", "queue", "the review queue")
    from .web.server import run

    if workers < 1:
        raise ParameterError("{workers} must be at least 1", "workers")
    store = _store(db)
    what = "Perspective API" if api_only else "Review queue and Perspective API"
    typer.echo(f"{what} on http://{host}:{port}/ with {workers} worker{'s' if workers > 1 else ''} "
               "(Ctrl-C to stop)", err=True)
    run(store.url, _load_model(model, required=model is not None, trust_pickle=trust_pickle), model, host=host,
        port=port, workers=workers, api_only=api_only, trusted=forwarded_allow_ips, trust_pickle=trust_pickle)
