"""What a serving process sets up and tears down (the app's lifespan), and how its
interpreter is tuned for serving.

Resources, in start order: the database engine (migrated and provisioned on start), the
auth resolver, the rate limiter, the trace writer (group commit), the evaluation worker
(executor + in-process queue; it resumes unfinished runs), and the in-process monitor
scheduler.

Interpreter tuning, measured on trace ingestion (bench/ingest.py):
- Cyclic GC: everything loaded at start-up lives as long as the process, so it is frozen
  out of the collector, and full collections run less often. Ingestion keeps many request
  objects alive for a few ms, which otherwise triggers full passes over the whole heap
  every few hundred traces (a third of the CPU of batch ingestion). LiteLLM (about 170,000
  more long-lived objects) is imported during start-up, before the freeze, so nothing of
  it competes with requests later.
- GIL switch interval: the SQLite trace writer's thread releases the GIL inside every
  SQLite call and must take it back from the event loop, which holds it while it validates
  requests. With the default 5 ms interval the writer waited most of its time for the GIL;
  1 ms raised batch ingestion by about 10%.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from fastapi import FastAPI

from sightline.config import Settings
from sightline.db.engine import create_engine
from sightline.db.schema import prepare_schema
from sightline.db.session import SessionFactory, make_session_factory
from sightline.engine.queue import JobQueue
from sightline.engine.worker import EvalWorker
from sightline.identity.service import AuthResolver, provision
from sightline.monitors import scheduler as monitor_scheduler
from sightline.ratelimit import build_limiter
from sightline.traces.ingest.writer import GroupWriter

logger = logging.getLogger("sightline")

SWITCH_INTERVAL_SECONDS = 0.001
GC_THRESHOLDS = (700, 10, 100)


@contextmanager
def tuned_for_serving() -> Iterator[None]:
    """Applies the settings above and restores the interpreter's own on exit."""
    thresholds = gc.get_threshold()
    interval = sys.getswitchinterval()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        gc.unfreeze()


USAGE_FLUSH_SECONDS = 30.0


async def _flush_key_usage(auth: AuthResolver) -> None:
    while True:
        await asyncio.sleep(USAGE_FLUSH_SECONDS)
        try:
            await auth.flush_usage()
        except Exception:  # a failed flush only loses last-used times
            logger.exception("could not record API key usage")


async def _start_evaluation(
    settings: Settings, factory: SessionFactory
) -> tuple[EvalWorker | None, JobQueue]:
    """The in-process worker (embedded), or only a publisher to the Celery workers."""
    if settings.queue == "celery":
        from sightline.engine.queue.celery_queue import CeleryQueue  # the `scale` extra

        return None, CeleryQueue(settings)
    eval_worker = EvalWorker(settings, factory)
    await eval_worker.start()
    return eval_worker, eval_worker.queue


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    started = time.perf_counter()
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    factory = make_session_factory(engine)
    await prepare_schema(settings, factory)
    await provision(settings, factory)
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.auth = AuthResolver(factory, settings.auth_cache_seconds)
    app.state.rate_limiter = build_limiter(settings)
    # SQLite has one writer: trace writers of this process queue on one lock.
    app.state.trace_write_lock = asyncio.Lock() if settings.is_sqlite else None
    trace_writer = GroupWriter(settings, engine, app.state.trace_write_lock)
    trace_writer.start()
    app.state.trace_writer = trace_writer
    flusher = asyncio.create_task(_flush_key_usage(app.state.auth))
    eval_worker, queue = await _start_evaluation(settings, factory)
    app.state.eval_worker = eval_worker
    app.state.eval_queue = queue
    scheduler = monitor_scheduler.start_in_process(factory, settings, queue)
    if eval_worker is None:
        logger.info("ready in %.1f s (evaluation on Celery workers)", time.perf_counter() - started)
    else:
        logger.info(
            "ready in %.1f s (judge stack %.1f s%s)",
            time.perf_counter() - started,
            eval_worker.judge_load_seconds or 0.0,
            "" if eval_worker.judge_loaded else ", failed to load: see the error above",
        )
    try:
        with tuned_for_serving():
            yield
    finally:
        await monitor_scheduler.stop_task(scheduler)
        await trace_writer.stop()
        await (queue.stop() if eval_worker is None else eval_worker.stop())
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await app.state.auth.flush_usage()
        await app.state.rate_limiter.close()
        await engine.dispose()
