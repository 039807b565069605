"""Prompt sizes per metric on the prompt-fidelity corpus (issue 9), printed by bench/eval.py.

For the 10-, 200- and 1,000-span traces of tests/support/corpus.py, each listed metric is
evaluated alone (fresh judge, no cache) against the fake judge, so every request the judge
records belongs to that metric, shared extractions included. Printed per metric: the prompt
tokens of one (trace, metric) pair (the sum over its requests, system prompt included, by
the engine's own estimate), and the largest single prompt as a share of the budget.

Usage: python bench/prompt_sizes.py
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

from _common import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from fakes.openai_server import FakeJudgeServer
from sightline.config import JudgeSettings
from sightline.engine.judge import LiteLLMJudge
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.limits import Limits
from sightline.engine.metrics import TraceEvaluation, listed_metrics
from support.corpus import huge_trace, small_trace, wide_trace


def _verdicts(request: dict[str, Any]) -> dict[str, Any]:
    numbers = re.findall(r"^(\d+)\. \S", request["messages"][-1]["content"], re.MULTILINE)
    return {
        "reason": "checked",
        "verdicts": [{"call": int(n), "reason": "ok", "verdict": "yes"} for n in numbers],
    }


async def _measure(server: FakeJudgeServer) -> None:
    settings = JudgeSettings(
        model="openai/fake-judge",
        api_base=server.url,
        api_key="k",
        embedding_model="openai/fake-embedding",
        embedding_api_base=server.url,
        embedding_api_key="k",
    )
    budget = settings.prompt_token_budget
    metrics = [m for m in listed_metrics() if not m.uses_embeddings]
    cases = [small_trace(), wide_trace(), huge_trace()]
    print(f"\n== prompt tokens per pair per metric (budget {budget:,} tokens) ==")
    print(f"{'metric':<22}" + "".join(f"{c.label:>20}" for c in cases))
    for metric in metrics:
        cells = []
        for case in cases:
            judge = LiteLLMJudge(settings, limits=Limits.from_settings(settings))
            before = len(server.requests)
            await metric.evaluate(TraceEvaluation.from_settings(case.trace, judge, settings))
            sizes = [estimate_tokens(r.prompt_text) for r in server.requests[before:]]
            cells.append(f"{sum(sizes):>8,} ({max(sizes) / budget:>4.0%})")
        print(f"{metric.name:<22}" + "".join(f"{cell:>20}" for cell in cells))
    print("cells: prompt tokens of the pair over all its requests (largest prompt / budget)")


def report() -> None:
    with FakeJudgeServer() as server:
        server.answers["ArgumentVerdicts"] = _verdicts
        server.answers["PlanAnswer"] = {"plan": ["look things up", "answer"]}
        asyncio.run(_measure(server))


if __name__ == "__main__":
    report()
