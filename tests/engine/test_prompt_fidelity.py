"""Prompt fidelity (issue 9): for every metric and every trace of the corpus, the prompt the
fake judge receives holds the user's request and the final answer (whole or with a marked
cut), every step's header and every tool call's name, marks every cut, and fits the budget."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fakes.openai_server import FakeJudgeServer, RecordedRequest
from sightline.engine import evaluate_metrics
from sightline.engine.errors import ContextOverflow
from sightline.engine.judge import LiteLLMJudge
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.metrics import TraceEvaluation, listed_metrics
from sightline.engine.metrics.context import DEFAULT_TOKEN_BUDGET
from sightline.engine.metrics.tools import extract_tool_use
from sightline.engine.text import compact_json, message_list
from sightline.engine.views import SpanView
from support.corpus import CorpusTrace, corpus

MARKER = re.compile(r"…\[[\d,]+ characters omitted\]|chars omitted\]|messages omitted")
TRACE_STAGES = {"TaskAnswer", "PlanAnswer", "ConfidenceAnswer"}
CORPUS = corpus()


def verdicts_for_every_call(request: dict[str, Any]) -> dict[str, Any]:
    """A well-behaved judge: one verdict per numbered call of the listing."""
    numbers = re.findall(r"^(\d+)\. \S", request["messages"][-1]["content"], re.MULTILINE)
    return {
        "reason": "checked every call",
        "verdicts": [{"call": int(n), "reason": "fine", "verdict": "yes"} for n in numbers],
    }


@pytest.fixture
def scripted(fake_server: FakeJudgeServer) -> FakeJudgeServer:
    fake_server.answers["ArgumentVerdicts"] = verdicts_for_every_call
    fake_server.answers["PlanAnswer"] = {"plan": ["look things up", "answer"]}
    return fake_server


def prompt_of(request: RecordedRequest) -> str:
    return request.prompt_text  # the system prompt and the user prompt, as sent


def has(text: str, needle: str) -> bool:
    """The needle whole, or its beginning followed by an omission marker."""
    if needle in text:
        return True
    head = text.find(needle[:30])
    return head != -1 and MARKER.search(text, head) is not None


def span_block(prompt: str, span: SpanView) -> str:
    """The lines of one step in the rendered trace: its header up to the next header."""
    start = prompt.index(f"[{span.kind}] {span.name} ")
    following = re.compile(r"^\s*- \[[A-Z_]+\] ", re.MULTILINE).search(prompt, start + 1)
    return prompt[start : following.start() if following else len(prompt)]


def payload_text(value: Any) -> str | None:
    if value is None or value in ("", [], {}):
        return None
    if message_list(value) is not None:
        return None  # messages are checked line by line through their markers
    return value if isinstance(value, str) else compact_json(value)


def assert_trace_prompt(prompt: str, case: CorpusTrace) -> None:
    assert has(prompt, case.request), f"{case.label}: the user's request is missing"
    assert has(prompt, case.answer), f"{case.label}: the final answer is missing"
    for span in case.trace.spans:
        block = span_block(prompt, span)  # raises if the header is missing
        assert span.status in block.splitlines()[0]
        for value in (span.input, span.output, span.error):
            text = payload_text(value)
            if text is not None and text not in block:
                assert MARKER.search(block), f"{case.label}: an unmarked cut in {span.name}"


def assert_tool_prompt(prompt: str, case: CorpusTrace) -> None:
    for number, call in enumerate(extract_tool_use(case.trace).calls, start=1):
        assert f"\n{number}. {call.name}" in prompt, f"{case.label}: call {number} missing"
        args = payload_text(call.arguments)
        if args is not None and args not in prompt:
            line = prompt[prompt.index(f"\n{number}. {call.name}") :][:4000]
            assert MARKER.search(line), f"{case.label}: unmarked cut in call {number}"


@pytest.mark.parametrize("case", CORPUS, ids=[c.label for c in CORPUS])
async def test_every_prompt_keeps_what_the_judge_needs(
    case: CorpusTrace, judge: LiteLLMJudge, scripted: FakeJudgeServer
) -> None:
    before = len(scripted.requests)
    evaluation = TraceEvaluation(case.trace, judge)
    results = await evaluate_metrics(evaluation, listed_metrics())
    failures = {name: r for name, r in results.items() if isinstance(r, Exception)}
    assert not failures, failures
    sent = [r for r in scripted.requests[before:] if r.path.endswith("/chat/completions")]
    assert sent, "the metrics asked the judge nothing"
    tool_prompts = 0
    for request in sent:
        prompt = prompt_of(request)
        assert estimate_tokens(prompt) <= DEFAULT_TOKEN_BUDGET, (
            f"{case.label}: a {request.schema_name} prompt of ~{estimate_tokens(prompt)} tokens"
        )
        if request.schema_name in TRACE_STAGES or 'TRACE "' in prompt:
            assert_trace_prompt(prompt, case)
        if "tool calls, numbered" in prompt or "Tools the agent called" in prompt:
            tool_prompts += 1
            assert_tool_prompt(prompt, case)
    assert tool_prompts == 2  # tool_correctness and argument_correctness


async def test_the_long_sql_argument_reaches_the_judge_whole(
    judge: LiteLLMJudge, scripted: FakeJudgeServer
) -> None:
    case = next(c for c in CORPUS if c.label == "5,000-char arguments")
    before = len(scripted.requests)
    await evaluate_metrics(TraceEvaluation(case.trace, judge), listed_metrics())
    listing = next(
        prompt_of(r) for r in scripted.requests[before:] if r.schema_name == "ArgumentVerdicts"
    )
    assert listing.count("WHERE region = 'EU' AND paid = false") == 3


async def test_a_trace_whose_headers_do_not_fit_is_a_context_overflow(
    judge: LiteLLMJudge, scripted: FakeJudgeServer
) -> None:
    before = len(scripted.requests)
    huge = next(c for c in CORPUS if c.label == "1,000 spans")
    evaluation = TraceEvaluation(huge.trace, judge, token_budget=8_000)
    results = await evaluate_metrics(evaluation, listed_metrics())
    judged = {"coherence"}  # embeddings of the request and the answer need no rendering
    for name, result in results.items():
        if name not in judged:
            assert isinstance(result, ContextOverflow), (name, result)
    assert not [r for r in scripted.requests[before:] if r.path.endswith("/chat/completions")]
