"""The `sightline` command."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import typer

from sightline.cli.eval import eval_app
from sightline.cli.identity import keys_app, orgs_app
from sightline.cli.scheduler import scheduler as scheduler_command
from sightline.cli.worker import worker as worker_command
from sightline.config import Settings
from sightline.db import migrate
from sightline.db.engine import create_engine
from sightline.db.schema import prepare_schema
from sightline.db.session import make_session_factory
from sightline.identity.service import provision

app = typer.Typer(help="Sightline: tracing and evaluation for AI agents.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(keys_app, name="keys")
app.add_typer(eval_app, name="eval")
app.command("scheduler")(scheduler_command)
app.command("worker")(worker_command)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (SIGHTLINE_HOST, default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (SIGHTLINE_PORT, default 8000)."),
    workers: int | None = typer.Option(
        None, min=1, max=64, help="Server processes (SIGHTLINE_WORKERS, default 1)."
    ),
) -> None:
    """Run the API server (embedded SQLite by default, with the in-process worker)."""
    import uvicorn

    from sightline.app import create_app

    overrides = {
        k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]
    _warn_if_judge_unusable(settings)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": _log_config(settings.log_level),
        "access_log": False,
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    # Migrate and provision once, before the processes start, so they never race on it;
    # each process then builds its app from the same environment.
    asyncio.run(_prepare(settings))
    os.environ["SIGHTLINE_WORKERS"] = str(settings.workers)
    uvicorn.run("sightline.app:create_app", factory=True, workers=settings.workers, **options)


def _log_config(level: str) -> dict[str, Any]:
    """Uvicorn's own logging, plus Sightline's loggers through the same handler: start-up
    cost, resumed runs and tasks taken back from a crashed process show in serve's output."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["sightline"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def _warn_if_judge_unusable(settings: Settings) -> None:
    """One line before the server starts, here and not in the app's lifespan, so that
    `--workers N` prints it once rather than N times. The server still starts: traces need
    no judge, and GET /health reports the same state (`judge.configured`)."""
    from sightline.health import judge_status  # like create_app: only `serve` needs it

    status = judge_status(settings)
    if not status.configured:
        typer.echo(
            f"Judge not configured; evaluation runs will be refused. {status.problem}", err=True
        )


async def _prepare(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        factory = make_session_factory(engine)
        await prepare_schema(settings, factory)
        await provision(settings, factory)
    finally:
        await engine.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (the explicit path for PostgreSQL)."""
    settings = Settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {revision}")
