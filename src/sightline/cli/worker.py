"""`sightline worker`: evaluation on Celery over Redis (SIGHTLINE_QUEUE=celery).

Needs the `scale` extra (`pip install 'sightline[scale]'`); the embedded deployment never
imports Celery. `--ping` is the liveness check: exit 0 when a worker answers a control ping.
"""

from __future__ import annotations

import logging

import typer

from sightline.config import Settings


def worker(
    concurrency: int | None = typer.Option(
        None, min=1, max=64, help="Runs worked on at once (SIGHTLINE_WORKER_CONCURRENCY, 4)."
    ),
    ping: bool = typer.Option(
        False, "--ping", help="Liveness check: exit 0 if a worker answers, 1 if none does."
    ),
) -> None:
    """Evaluate runs from the Celery queue (the scaled deployment)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for chatty in ("LiteLLM", "httpx"):  # a line per judge call otherwise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    settings = Settings()
    if settings.queue != "celery":
        typer.echo("sightline worker needs SIGHTLINE_QUEUE=celery (and Redis).", err=True)
        raise typer.Exit(2)
    try:
        from sightline.engine.queue import celery_queue, celery_worker
    except ModuleNotFoundError as exc:
        typer.echo(f"{exc}: install the scale extra, pip install 'sightline[scale]'", err=True)
        raise typer.Exit(2) from None
    if ping:
        replies = celery_queue.ping_workers(celery_queue.celery_app(settings))
        for reply in replies:  # {"<worker name>": {"ok": "pong"}}
            for name, answer in reply.items():
                typer.echo(f"{name}: {answer.get('ok', answer)}")
        raise typer.Exit(0 if replies else 1)
    celery_worker.run_worker(settings, concurrency or settings.worker_concurrency)
