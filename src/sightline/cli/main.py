"""The `sightline` command."""

from __future__ import annotations

import typer

from sightline.cli.eval import eval_app
from sightline.cli.identity import keys_app, orgs_app
from sightline.cli.scheduler import scheduler as scheduler_command
from sightline.config import Settings
from sightline.db import migrate

app = typer.Typer(help="Sightline: tracing and evaluation for AI agents.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(keys_app, name="keys")
app.add_typer(eval_app, name="eval")
app.command("scheduler")(scheduler_command)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (SIGHTLINE_HOST, default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (SIGHTLINE_PORT, default 8000)."),
) -> None:
    """Run the API server (embedded SQLite by default, with the in-process worker)."""
    import uvicorn

    from sightline.app import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (the explicit path for PostgreSQL)."""
    settings = Settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {revision}")
