"""One ``execute()`` call on one run: lanes that evaluate targets, one writer that commits.

- Lanes take targets from a small buffer refilled by claiming a few targets at a time (one
  conditional UPDATE claims every pending metric of those targets). More lanes than judge
  slots run, since a target has only its metrics' current stages in flight; the engine's
  limiter bounds the real judge calls.
- Finished targets go to the writer, which commits them in small batches (every
  ``WRITE_INTERVAL_SECONDS``): scores by upsert, task states, judge-cache entries and, now
  and then, the run's counters. Progress becomes visible batch by batch.
- Every claimed task stays in ``held`` until its result is committed; a heartbeat renews
  their leases, and cancellation hands them back (claimable at once by the next worker).
- Judge spend is added to the run's row with every commit, and at least every
  ``SPEND_FLUSH_SECONDS`` while judge calls run without a commit (engine/budget.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.session import SessionFactory, transaction
from sightline.db.types import utcnow
from sightline.engine.errors import BudgetExhausted
from sightline.engine.holder import LeaseHolder
from sightline.engine.judge.db_cache import DbJudgeCache
from sightline.engine.judge.types import Usage
from sightline.engine.targets import (
    BulkTargetEvaluator,
    PairOutcome,
    RunContext,
    TargetEvaluator,
)
from sightline.evals.runs import repository
from sightline.evals.runs.repository import ClaimedTask
from sightline.kit.statuses import UNFINISHED_RUN_STATUSES, TaskStatus

logger = logging.getLogger("sightline.engine")

WRITE_INTERVAL_SECONDS = 0.1
COUNTER_REFRESH_SECONDS = 0.5
SPEND_FLUSH_SECONDS = 1.0
MAX_POLL_SECONDS = 2.0
MAX_LANES = 256
MAX_TASK_ATTEMPTS = 3  # claims of a pair that ended in an unexpected (non-metric) error
MAX_CLAIM_RACES = 20  # empty claims in a row while claimable tasks remain, then leave
CLAIM_JITTER_SECONDS = 0.01
JUDGE_FREE_CLAIM_BATCH = 250  # targets per claim when no metric calls the judge

Result = tuple[list[ClaimedTask], list[PairOutcome]]


class RunGone(Exception):
    """The run row was deleted while it was being worked on."""


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    lease: timedelta  # how long a claim holds; the heartbeat renews it every third of it
    judge_concurrency: int  # judge calls in flight per process: sizes the lanes
    holder: LeaseHolder  # this process, recorded on its leases; tells dead holders apart


@dataclass(frozen=True, slots=True)
class Share:
    """How one ``execute()`` takes part in a run. The in-process worker stays until the run
    is done (waiting out other holders' leases); a Celery task leaves once nothing is
    claimable (the last one to finish completes the run), announces its first claim
    (``on_first_claim``: invite the other workers to join), and stops claiming when its
    worker shuts down (``stopping``)."""

    stay_until_done: bool = True
    on_first_claim: Callable[[], None] | None = None
    stopping: Callable[[], bool] = lambda: False


WHOLE_RUN = Share()


class RunExecution:
    def __init__(
        self,
        ctx: RunContext,
        evaluator: TargetEvaluator,
        factory: SessionFactory,
        judge_cache: DbJudgeCache,
        settings: ExecutionSettings,
        share: Share = WHOLE_RUN,
    ) -> None:
        self.share = share
        self.announced = False
        self.ctx = ctx
        self.evaluator = evaluator
        self.factory = factory
        self.judge_cache = judge_cache
        self.lease = settings.lease
        self.holder = settings.holder
        self.lanes = min(MAX_LANES, max(2, 2 * settings.judge_concurrency))
        self.claim_batch = max(1, min(16, self.lanes // 4))
        # A judge-free run (deterministic checks only) is bound by database round trips:
        # claim many targets at once and load them in one go.
        self.bulk = isinstance(evaluator, BulkTargetEvaluator) and ctx.judge_free
        if self.bulk:
            self.claim_batch = JUDGE_FREE_CLAIM_BATCH
        self.held: dict[int, ClaimedTask] = {}
        self.ready: deque[list[ClaimedTask]] = deque()
        self.claim_lock = asyncio.Lock()
        self.nothing_claimable = False
        self.results: list[Result] = []
        self.results_added = asyncio.Event()
        self.lanes_done = False
        self.counters_at = 0.0

    async def work(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat())
        spend = asyncio.create_task(self._spend_flusher())
        try:
            try:
                while True:
                    await self._round()
                    if not self.share.stay_until_done or self.share.stopping():
                        return
                    if not await self._wait_for_foreign_leases():
                        return
            except* RunGone:
                raise RunGone() from None
        except asyncio.CancelledError:
            await self._release(list(self.held.values()))
            raise
        finally:
            for helper in (heartbeat, spend):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            await self._flush_spend()

    async def _round(self) -> None:
        self.nothing_claimable = False
        self.lanes_done = False
        async with asyncio.TaskGroup() as group:
            writer = group.create_task(self._writer())
            await asyncio.gather(*(group.create_task(self._lane()) for _ in range(self.lanes)))
            self.lanes_done = True
            self.results_added.set()
            await writer

    # -- lanes ----------------------------------------------------------------------------

    async def _lane(self) -> None:
        while (claimed := await self._next_target()) is not None:
            try:
                outcomes = await self._evaluate(claimed)
            except (RunGone, asyncio.CancelledError):
                raise
            except Exception as exc:
                recovered = await self._recover(claimed, exc)
                if recovered is None:
                    continue
                outcomes = recovered
            self.results.append((claimed, outcomes))
            self.results_added.set()

    async def _next_target(self) -> list[ClaimedTask] | None:
        if self.ready:
            return self.ready.popleft()
        async with self.claim_lock:
            if not self.ready and not self.nothing_claimable:
                await self._claim()
            return self.ready.popleft() if self.ready else None

    async def _claim(self) -> None:
        if self.share.stopping():  # a warm shutdown: finish what is held, take nothing new
            self.nothing_claimable = True
            return
        for attempt in range(MAX_CLAIM_RACES + 1):
            async with transaction(self.factory) as db:
                claimed = await repository.claim_targets(
                    db, self.ctx.run_id, self.claim_batch, utcnow() + self.lease, self.holder.id
                )
                if claimed or not await repository.has_claimable_tasks(db, self.ctx.run_id):
                    break
            # Lost a race for the same rows to another worker (which made progress): again,
            # after a moment's jitter so the two do not collide on the next rows too.
            await asyncio.sleep(random.uniform(0, CLAIM_JITTER_SECONDS * (attempt + 1)))
        if not claimed:
            self.nothing_claimable = True
            return
        if not self.announced and self.share.on_first_claim is not None:
            self.announced = True
            self.share.on_first_claim()
        by_target: dict[str, list[ClaimedTask]] = {}
        for task in claimed:
            self.held[task.id] = task
            by_target.setdefault(task.target_id, []).append(task)
        if isinstance(self.evaluator, BulkTargetEvaluator) and self.bulk:
            try:
                await self.evaluator.prefetch(self.ctx, list(by_target))
            except Exception:  # each target is then loaded by its own evaluation
                logger.warning("could not load %d targets at once", len(by_target), exc_info=True)
        self.ready.extend(by_target.values())

    async def _evaluate(self, claimed: list[ClaimedTask]) -> list[PairOutcome]:
        metrics = [task.metric for task in claimed]
        if self.ctx.budget.exhausted:
            spent = BudgetExhausted("the run's cost budget is spent")
            return [PairOutcome.failure(metric, spent) for metric in metrics]
        return await self.evaluator.evaluate(self.ctx, claimed[0].target_id, metrics)

    async def _recover(
        self, claimed: list[ClaimedTask], exc: Exception
    ) -> list[PairOutcome] | None:
        """An unexpected error (metric failures are outcomes, not exceptions): hand the
        pairs back for another try, or fail them once they were tried too often."""
        logger.error("evaluating target %s failed", claimed[0].target_id, exc_info=exc)
        if max(task.attempts for task in claimed) < MAX_TASK_ATTEMPTS:
            await self._release(claimed)
            return None
        return [PairOutcome.failure(task.metric, exc) for task in claimed]

    # -- writer ---------------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            if not self.results:
                if self.lanes_done:
                    return
                self.results_added.clear()
                await self.results_added.wait()
                continue
            if not self.lanes_done:
                await asyncio.sleep(WRITE_INTERVAL_SECONDS)  # let a batch gather
            batch, self.results = self.results, []
            await self._write(batch)

    async def _write(self, batch: list[Result]) -> None:
        try:
            await self._commit(batch)
        except RunGone:
            raise
        except Exception as exc:
            if not await self._run_exists():
                raise RunGone() from None
            if len(batch) == 1:
                await self._unstorable(batch[0], exc)
                return
            for result in batch:  # isolate the result that cannot be stored
                await self._write([result])

    async def _unstorable(self, result: Result, exc: Exception) -> None:
        """A result the database refuses: try the pairs again, and after a few tries store
        them as FAILED (never loop forever on one bad answer)."""
        claimed, outcomes = result
        logger.error("could not store the results of target %s", claimed[0].target_id,
                     exc_info=exc)  # fmt: skip
        last_try = max(task.attempts for task in claimed) >= MAX_TASK_ATTEMPTS
        if not last_try or any(o.metadata.get("unstorable") for o in outcomes):
            await self._release(claimed)
            return
        reason = f"internal_error: the result could not be stored ({type(exc).__name__})"
        failed = [
            PairOutcome(t.metric, None, reason, {"error": "internal_error", "unstorable": True})
            for t in claimed
        ]
        await self._write([(claimed, failed)])

    async def _commit(self, batch: list[Result]) -> None:
        done = [t.id for claimed, outcomes in batch for t in _finished(claimed, outcomes, False)]
        failed = [t.id for claimed, outcomes in batch for t in _finished(claimed, outcomes, True)]
        spend = self.ctx.budget.take_unrecorded()
        try:
            async with transaction(self.factory) as db:
                if not await repository.run_exists(db, self.ctx.run_id):
                    raise RunGone()
                results = [(claimed[0].target_id, outcomes) for claimed, outcomes in batch]
                if isinstance(self.evaluator, BulkTargetEvaluator):  # one statement for all
                    await self.evaluator.write_many(db, self.ctx, results)
                else:
                    for target_id, outcomes in results:
                        await self.evaluator.write(db, self.ctx, target_id, outcomes)
                await repository.finish_tasks(db, done, TaskStatus.DONE)
                await repository.finish_tasks(db, failed, TaskStatus.FAILED)
                await self.judge_cache.flush_into(db)
                await _add_spend(db, self.ctx, spend)
                if time.monotonic() - self.counters_at >= COUNTER_REFRESH_SECONDS:
                    counters = await repository.compute_counters(db, self.ctx.run_id)
                    await repository.store_counters(db, self.ctx.run_id, counters)
                    self.counters_at = time.monotonic()
        except BaseException:
            self.ctx.budget.restore(spend)
            raise
        for task_id in (*done, *failed):
            self.held.pop(task_id, None)

    # -- leases ---------------------------------------------------------------------------

    async def _release(self, claimed: Sequence[ClaimedTask]) -> None:
        for task in claimed:
            self.held.pop(task.id, None)
        with contextlib.suppress(Exception):
            async with transaction(self.factory) as db:
                await repository.release_tasks(db, [t.id for t in claimed])

    async def _heartbeat(self) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                async with transaction(self.factory) as db:
                    lease_until = utcnow() + self.lease
                    await repository.renew_leases(db, list(self.held), lease_until)
            except Exception:  # a missed renewal only risks an (idempotent) repeat
                logger.warning("could not renew task leases of run %s", self.ctx.run_id)

    async def _spend_flusher(self) -> None:
        while True:
            await asyncio.sleep(SPEND_FLUSH_SECONDS)
            try:
                await self._flush_spend()
            except Exception:  # kept for the next flush or commit
                logger.warning("could not record the judge spend of run %s", self.ctx.run_id)

    async def _flush_spend(self) -> None:
        spend = self.ctx.budget.take_unrecorded()
        if _is_empty(spend):
            return
        try:
            async with transaction(self.factory) as db:
                await _add_spend(db, self.ctx, spend)
        except BaseException:
            self.ctx.budget.restore(spend)
            raise

    async def _run_exists(self) -> bool:
        async with self.factory() as db:
            return await repository.run_exists(db, self.ctx.run_id)

    async def _wait_for_foreign_leases(self) -> bool:
        """Nothing claimable: the run is done, or other workers (or a dead one whose lease
        has not expired yet) hold pairs. A holder known to be dead is freed at once;
        otherwise wait for those leases. True means claim again."""
        if await free_dead_holders(self.factory, self.holder, [self.ctx.run_id]):
            return True
        async with self.factory() as db:
            if not await repository.run_exists(db, self.ctx.run_id):
                raise RunGone()
            counters = await repository.compute_counters(db, self.ctx.run_id)
            if not counters.unfinished_pairs:
                return False
            run = await repository.get_run_by_id(db, self.ctx.run_id)
            if run is not None and run.status not in UNFINISHED_RUN_STATUSES:
                return False  # another worker finished it
            expiry = await repository.next_lease_expiry(db, self.ctx.run_id)
        wait = MAX_POLL_SECONDS
        if expiry is not None:
            wait = min(wait, max(0.05, (expiry - utcnow()).total_seconds() + 0.05))
        await asyncio.sleep(wait)
        return True


def _is_empty(spend: Usage) -> bool:
    return not (spend.requests or spend.prompt_tokens or spend.completion_tokens or spend.cost_usd)


async def _add_spend(db: AsyncSession, ctx: RunContext, spend: Usage) -> None:
    if not _is_empty(spend):
        await repository.add_spend(
            db,
            ctx.run_id,
            judge_calls=spend.requests,
            prompt_tokens=spend.prompt_tokens,
            completion_tokens=spend.completion_tokens,
            cost_usd=spend.cost_usd,
        )


async def free_dead_holders(
    factory: SessionFactory, holder: LeaseHolder, run_ids: Sequence[uuid.UUID]
) -> int:
    """Hand back the running tasks of these runs whose holders are dead (engine/holder.py)."""
    async with factory() as db:
        holders = await repository.running_holders(db, run_ids)
    gone = sorted(holder.gone(holders))
    if not gone:
        return 0
    async with transaction(factory) as db:
        freed = await repository.free_holders(db, gone)
    logger.info("took back %d task(s) held by %d dead process(es)", freed, len(gone))
    return freed


def _finished(
    claimed: list[ClaimedTask], outcomes: list[PairOutcome], failed: bool
) -> list[ClaimedTask]:
    by_metric = {outcome.metric: outcome for outcome in outcomes}
    return [task for task in claimed if by_metric[task.metric].failed is failed]
