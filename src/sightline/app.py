"""Application factory: middleware, routers and the lifespan of shared resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import ORJSONResponse

from sightline import __version__, runtime
from sightline.config import Settings
from sightline.db.engine import create_engine
from sightline.db.session import make_session_factory
from sightline.engine.worker import EvalWorker
from sightline.errors import install_error_handlers
from sightline.identity.service import AuthResolver
from sightline.lifecycle import prepare_database
from sightline.middleware import BodyLimitMiddleware, RequestIdMiddleware
from sightline.monitors import scheduler as monitor_scheduler
from sightline.routers import include_routers
from sightline.traces.group_writer import GroupWriter

logger = logging.getLogger("sightline")

USAGE_FLUSH_SECONDS = 30.0


async def _flush_key_usage(auth: AuthResolver) -> None:
    while True:
        await asyncio.sleep(USAGE_FLUSH_SECONDS)
        try:
            await auth.flush_usage()
        except Exception:  # a failed flush only loses last-used times
            logger.exception("could not record API key usage")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        factory = make_session_factory(engine)
        await prepare_database(settings, factory)
        app.state.engine = engine
        app.state.session_factory = factory
        app.state.auth = AuthResolver(factory, settings.auth_cache_seconds)
        # SQLite has one writer: trace writers of this process queue on one lock.
        app.state.trace_write_lock = asyncio.Lock() if settings.is_sqlite else None
        trace_writer = GroupWriter(settings, engine, app.state.trace_write_lock)
        trace_writer.start()
        app.state.trace_writer = trace_writer
        flusher = asyncio.create_task(_flush_key_usage(app.state.auth))
        eval_worker = EvalWorker(settings, factory)
        await eval_worker.start()
        app.state.eval_worker = eval_worker
        app.state.eval_queue = eval_worker.queue
        scheduler = monitor_scheduler.start_in_process(factory, settings, eval_worker.queue)
        eval_worker.when_judge_ready(runtime.freeze_long_lived)
        try:
            with runtime.tuned_for_serving():
                yield
        finally:
            await monitor_scheduler.stop_task(scheduler)
            await trace_writer.stop()
            await eval_worker.stop()
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await app.state.auth.flush_usage()
            await engine.dispose()

    app = FastAPI(
        title="Sightline",
        version=__version__,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "X-API-Key",
            "X-Organization-ID",
            "X-Project-ID",
            "X-Project-Name",
            "X-Request-ID",
            "Content-Type",
            "Accept",
        ],
    )
    app.add_middleware(RequestIdMiddleware)
    include_routers(app)
    return app
