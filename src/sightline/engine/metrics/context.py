"""``TraceEvaluation``: everything several metrics of one trace share, computed once.

The rendered trace and the shared extractions (the user's task and outcome, the plan, the
tool calls) are memoised with single-flight semantics: when metrics run concurrently on the
same trace, the first to ask starts the work and the others await the same task. The judge
usage of a shared extraction is first charged to the metric that started it; when a trace's
metrics run through ``engine.evaluate_metrics`` it is then split evenly between every metric
that awaited it, so no metric pays for the others and the sum over a trace's scores is still
exactly what was spent.
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel

from sightline.config import JudgeSettings
from sightline.engine.errors import ContextOverflow, EngineError
from sightline.engine.judge.types import EmbeddingResult, JudgeClient, JudgeRequest, Usage
from sightline.engine.metrics.answers import PlanAnswer, TaskAnswer
from sightline.engine.metrics.tools import ToolUse, extract_tool_use
from sightline.engine.render import (
    DoesNotFit,
    RenderedTrace,
    clip,
    render_available,
    render_calls,
    render_trace,
)
from sightline.engine.views import TraceView

T = TypeVar("T")
# The metric being evaluated, set by evaluate_metrics for each metric's task, so a shared
# extraction knows who awaited it.
CURRENT_METRIC: ContextVar[str | None] = ContextVar("sightline_current_metric", default=None)
AnswerT = TypeVar("AnswerT", bound=BaseModel)

DEFAULT_TOKEN_BUDGET: int = JudgeSettings.model_fields["prompt_token_budget"].default
# What a metric's prompt holds besides the rendered trace or tool listing: the system prompt,
# the template, the extracted task and outcome (each clipped to TASK_CHARS) and the plan
# (PLAN_CHARS). The trace is rendered into the budget minus this, so every whole prompt fits.
PROMPT_RESERVE_TOKENS = 1_500
TASK_CHARS = 1_200
PLAN_CHARS = 2_000
# The judge's reply needs room in its context window too.
REPLY_ALLOWANCE_TOKENS = 1_000
# The list of tools the agent had may take this share of a tool prompt; the calls the rest.
AVAILABLE_TOOLS_SHARE = 6

EXTRACT_TASK_PROMPT = """From the agent trace below, state the task the user gave the agent and \
the outcome the agent delivered. Use the user's own request (not the system prompt) for the \
task; describe the outcome from the final output and the steps' results, including failures.

{trace}"""

EXTRACT_PLAN_PROMPT = """List the plan the agent followed or announced in the trace below, one \
short step per item, in order. Only include a plan the agent stated or that the reasoning in its \
LLM steps makes explicit; if there is none, answer an empty list.

{trace}"""


class UsageMeter:
    """Adds up the judge usage of one metric evaluation."""

    def __init__(self) -> None:
        self.usage = Usage()

    def add(self, usage: Usage) -> None:
        self.usage = self.usage + usage


class TraceEvaluation:
    """One trace (plus, for loop detection, its session) being evaluated by several metrics."""

    def __init__(
        self,
        trace: TraceView,
        judge: JudgeClient,
        *,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        context_window_tokens: int | None = None,
        session_traces: Sequence[TraceView] | None = None,
    ) -> None:
        self.trace = trace
        self.judge = judge
        self.session_traces = tuple(session_traces) if session_traces is not None else None
        if context_window_tokens is not None:
            token_budget = min(token_budget, context_window_tokens - REPLY_ALLOWANCE_TOKENS)
        self.token_budget = token_budget  # the ceiling of every prompt of this trace
        self._rendered: RenderedTrace | None = None
        self._tool_listing: tuple[str, str] | None = None
        self._tool_use: ToolUse | None = None
        self._shared: dict[str, asyncio.Task[tuple[Any, Usage]]] = {}
        self._users: dict[str, list[str | None]] = {}  # metrics that awaited each extraction
        self._starters: dict[str, str | None] = {}
        self.shared_usage: dict[str, Usage] = {}
        self.computed = Counter[str]()  # how often each shared thing was actually computed

    @classmethod
    def from_settings(
        cls,
        trace: TraceView,
        judge: JudgeClient,
        settings: JudgeSettings,
        *,
        session_traces: Sequence[TraceView] | None = None,
    ) -> TraceEvaluation:
        return cls(
            trace,
            judge,
            token_budget=settings.prompt_token_budget,
            context_window_tokens=settings.context_window_tokens,
            session_traces=session_traces,
        )

    @property
    def rendered(self) -> RenderedTrace:
        """The trace as the judge reads it; raises ContextOverflow if it cannot fit."""
        if self._rendered is None:
            self.computed["render"] += 1
            self._rendered = render_trace(self.trace, token_budget=self._payload_budget)
        return self._rendered

    def tool_listing(self) -> tuple[str, str]:
        """(the tools the agent had, its numbered calls), fitted into the prompt budget;
        raises ContextOverflow when even the calls' numbers and names do not fit."""
        if self._tool_listing is None:
            self.computed["tool_listing"] += 1
            tools = self.tool_use()
            budget = self._payload_budget
            try:
                available = render_available(tools.available, budget // AVAILABLE_TOOLS_SHARE)
                calls = render_calls(tools.calls, budget - len(available) // 4 - 1)
            except DoesNotFit as too_big:
                raise ContextOverflow(
                    f"trace {self.trace.trace_id} needs ~{too_big.skeleton_tokens} tokens to list "
                    f"its {len(tools.calls)} tool calls; the prompt budget is {self.token_budget}"
                ) from None
            self._tool_listing = (available, calls)
        return self._tool_listing

    @property
    def _payload_budget(self) -> int:
        return max(1, self.token_budget - PROMPT_RESERVE_TOKENS)

    async def ask(
        self,
        request: JudgeRequest[AnswerT],
        meter: UsageMeter,
        *,
        judge: JudgeClient | None = None,
    ) -> AnswerT:
        """``judge``: another client than the run's (a custom metric with its own model)."""
        try:
            result = await (judge or self.judge).complete(request)
        except EngineError as exc:
            _charge_failure(exc, meter)
            raise
        meter.add(result.usage)
        return result.answer

    async def embed(self, texts: list[str], meter: UsageMeter) -> EmbeddingResult:
        try:
            result = await self.judge.embed(texts)
        except EngineError as exc:
            _charge_failure(exc, meter)
            raise
        meter.add(result.usage)
        return result

    async def task(self, meter: UsageMeter) -> TaskAnswer:
        """The extracted task and outcome, each clipped to TASK_CHARS (marked) so the
        prompts that quote them stay within the budget."""
        answer = await self._once("task", lambda m: self.ask(self._extract_task(), m), meter)
        return TaskAnswer(
            task=clip(answer.task, TASK_CHARS), outcome=clip(answer.outcome, TASK_CHARS)
        )

    async def plan(self, meter: UsageMeter) -> PlanAnswer:
        """The extracted plan, its steps clipped so that together they fit PLAN_CHARS."""
        answer = await self._once("plan", lambda m: self.ask(self._extract_plan(), m), meter)
        if not answer.plan:
            return answer
        each = max(40, PLAN_CHARS // len(answer.plan))
        return PlanAnswer(plan=[clip(step, each) for step in answer.plan][: PLAN_CHARS // 40])

    def tool_use(self) -> ToolUse:
        if self._tool_use is None:
            self.computed["tool_use"] += 1
            self._tool_use = extract_tool_use(self.trace)
        return self._tool_use

    def _extract_task(self) -> JudgeRequest[TaskAnswer]:
        prompt = EXTRACT_TASK_PROMPT.format(trace=self.rendered.text)
        return JudgeRequest(prompt, TaskAnswer, stage="extract_task")

    def _extract_plan(self) -> JudgeRequest[PlanAnswer]:
        prompt = EXTRACT_PLAN_PROMPT.format(trace=self.rendered.text)
        return JudgeRequest(prompt, PlanAnswer, stage="extract_plan")

    async def _once(
        self, key: str, compute: Callable[[UsageMeter], Awaitable[T]], meter: UsageMeter
    ) -> T:
        user = CURRENT_METRIC.get()
        users = self._users.setdefault(key, [])
        if user not in users:
            users.append(user)
        task = self._shared.get(key)
        started_here = task is None
        if task is None:
            self._starters[key] = user

            async def run() -> tuple[Any, Usage]:
                own = UsageMeter()
                self.computed[key] += 1
                try:
                    value = await compute(own)
                finally:
                    self.shared_usage[key] = own.usage
                return value, own.usage

            task = asyncio.ensure_future(run())
            self._shared[key] = task
        # shield: one caller being cancelled must not cancel the work the others await.
        try:
            value, usage = await asyncio.shield(task)
        except EngineError as exc:
            # Every waiter gets the same exception object: the metric that started the shared
            # work is charged for it, the others fail with a copy that spent nothing on it
            # (evaluate_metrics then splits the charge between all of them).
            if started_here:
                _charge_failure(exc, meter)
                raise
            unpaid = copy.copy(exc)
            unpaid.usage = meter.usage
            raise unpaid from exc
        if started_here:
            meter.add(usage)
        return value  # type: ignore[no-any-return]

    def take_shares(
        self, order: Sequence[str | None] = ()
    ) -> dict[str, dict[str | None, tuple[Usage, Usage, str]]]:
        """Per finished shared extraction not taken before, per metric that awaited it:
        (what it was charged, its fair share, "1/n"). Charged is the whole usage for the
        metric that started the work and nothing for the others; evaluate_metrics moves each
        from the one to the other. Users are ranked by ``order`` (then as they came), so the
        integer remainders always go to the same metrics. Each extraction is handed out once:
        a metric awaiting it later was charged nothing and gets no share."""
        rank = {name: i for i, name in enumerate(order)}
        out: dict[str, dict[str | None, tuple[Usage, Usage, str]]] = {}
        for key in list(self._users):
            if key not in self._starters:  # handed out before: later users were not charged
                del self._users[key]
                continue
            if not self._shared[key].done():
                continue
            starter = self._starters.pop(key)
            users = sorted(self._users.pop(key), key=lambda user: rank.get(user, len(rank)))
            total = self.shared_usage.get(key, Usage())
            fraction = f"1/{len(users)}"
            out[key] = {
                user: (total if user == starter else Usage(), share, fraction)
                for user, share in zip(users, split_usage(total, len(users)), strict=True)
            }
        return out


def split_usage(usage: Usage, parts: int) -> list[Usage]:
    """``parts`` usages that add up exactly to ``usage`` (integers: remainders go to the
    first ones; cost: the last part takes what rounding left)."""

    def ints(total: int) -> list[int]:
        base, extra = divmod(total, parts)
        return [base + (1 if i < extra else 0) for i in range(parts)]

    costs = [usage.cost_usd / parts] * parts
    costs[-1] = usage.cost_usd - sum(costs[:-1])
    return [
        Usage(prompt, completion, cost, requests, cached, usage.notes)
        for prompt, completion, cost, requests, cached in zip(
            ints(usage.prompt_tokens),
            ints(usage.completion_tokens),
            costs,
            ints(usage.requests),
            ints(usage.cached),
            strict=True,
        )
    ]


def _charge_failure(exc: EngineError, meter: UsageMeter) -> None:
    """Adds what the failed call spent to the metric's meter, and leaves the metric's whole
    spend on the error so the failed score is accounted (the executor reads `exc.usage`)."""
    if isinstance(exc.usage, Usage):
        meter.add(exc.usage)
    exc.usage = meter.usage
