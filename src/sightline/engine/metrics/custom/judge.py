"""``llm_judge``: a project's own rubric, judged like the built-in metrics are.

The prompt holds the criteria, the evaluation steps (G-Eval's manner: the judge follows
them before it decides) and the part of the trace the metric sees, fitted into the prompt
budget by the same renderer. The request goes through the run's judge client (or one bound
to the metric's own model), so limits, the judge cache (keyed with the metric's name and
version too), the budget, cost accounting and the failure statuses are the built-ins'.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, create_model

from sightline.engine.errors import ContextOverflow
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ScoreAnswer
from sightline.engine.metrics.context import TraceEvaluation
from sightline.engine.metrics.custom.config import LlmJudgeConfig, Sees
from sightline.engine.render import DoesNotFit, render_available, render_calls, render_trace
from sightline.kit.statuses import ScoreDataType

# Room kept beside the trace for the system prompt and the reply's schema.
PROMPT_MARGIN_TOKENS = 400

TEMPLATE = """Evaluate an AI agent's trace against the criteria below.

Criteria:
{criteria}
{steps}
{material_heading}:
{material}

{instruction}"""

INSTRUCTIONS = {
    ScoreDataType.NUMERIC: (
        "How well does the trace meet the criteria? 1.0: fully; 0.0: not at all. First explain "
        "your reasoning in two or three sentences, then give the score."
    ),
    ScoreDataType.BOOLEAN: (
        "Does the trace meet the criteria? First explain your reasoning in two or three "
        "sentences, then answer passed: true or false."
    ),
    ScoreDataType.CATEGORICAL: (
        "Which label fits the trace best, by the criteria? Labels: {labels}. First explain "
        "your reasoning in two or three sentences, then give exactly one label."
    ),
}

HEADINGS = {
    Sees.INPUT_OUTPUT: "The trace's input and output",
    Sees.ALL_STEPS: "The trace, with every step",
    Sees.TOOL_CALLS: "The agent's tool calls",
    Sees.SPAN_KINDS: "The trace's {kinds} steps",
}


class PassFailAnswer(BaseModel):
    reason: str = Field(description="Your reasoning, written before you decide")
    passed: bool


def label_answer(labels: tuple[str, ...]) -> type[BaseModel]:
    choice = Literal[labels]  # type: ignore[valid-type]
    return create_model(
        "LabelAnswer",
        reason=(str, Field(description="Your reasoning, written before you pick the label")),
        label=(choice, Field(description="Exactly one of the labels")),
    )


def answer_model(config: LlmJudgeConfig) -> type[BaseModel]:
    if config.score_type == ScoreDataType.BOOLEAN:
        return PassFailAnswer
    if config.score_type == ScoreDataType.CATEGORICAL:
        return label_answer(tuple(config.labels or ()))
    return ScoreAnswer


def _steps(config: LlmJudgeConfig) -> str:
    if not config.evaluation_steps:
        return ""
    listed = "\n".join(f"{n}. {step}" for n, step in enumerate(config.evaluation_steps, 1))
    return f"\nEvaluation steps (follow them in order before you decide):\n{listed}\n"


def _skeleton(config: LlmJudgeConfig) -> dict[str, str]:
    heading = HEADINGS[config.sees].format(kinds="/".join(config.span_kinds or ()))
    instruction = INSTRUCTIONS[config.score_type].format(labels=", ".join(config.labels or ()))
    return {
        "criteria": config.criteria,
        "steps": _steps(config),
        "material_heading": heading,
        "instruction": instruction,
    }


def preview(config: LlmJudgeConfig) -> str:
    return TEMPLATE.format(**_skeleton(config), material="{trace}")


def _material(config: LlmJudgeConfig, evaluation: TraceEvaluation, budget: int) -> str:
    trace = evaluation.trace
    if config.sees == Sees.TOOL_CALLS:
        tools = evaluation.tool_use()
        try:
            available = render_available(tools.available, max(1, budget // 6))
            calls = render_calls(tools.calls, max(1, budget - estimate_tokens(available)))
        except DoesNotFit as too_big:
            raise ContextOverflow(
                f"trace {trace.trace_id} needs ~{too_big.skeleton_tokens} tokens to list its "
                f"{len(tools.calls)} tool calls; the prompt budget is {evaluation.token_budget}"
            ) from None
        return f"Tools the agent had:\n{available}\n\nTools it called, in order:\n{calls}"
    if config.sees == Sees.INPUT_OUTPUT:
        return render_trace(trace, token_budget=budget, spans=()).text
    if config.sees == Sees.SPAN_KINDS:
        kinds = set(config.span_kinds or ())
        spans = tuple(span for span in trace.spans if span.kind in kinds)
        return render_trace(trace, token_budget=budget, spans=spans, input_output=False).text
    return render_trace(trace, token_budget=budget).text


def build_request(
    config: LlmJudgeConfig,
    answer: type[BaseModel],
    evaluation: TraceEvaluation,
    cache_scope: str,
) -> JudgeRequest[BaseModel]:
    """The one judge request of this metric on this trace; ContextOverflow when the trace
    cannot be fitted beside the rubric."""
    skeleton = _skeleton(config)
    fixed = estimate_tokens(TEMPLATE.format(**skeleton, material=""))
    budget = evaluation.token_budget - fixed - PROMPT_MARGIN_TOKENS
    if budget < 1:
        raise ContextOverflow(
            f"the rubric alone needs ~{fixed} tokens; the prompt budget is "
            f"{evaluation.token_budget}"
        )
    prompt = TEMPLATE.format(**skeleton, material=_material(config, evaluation, budget))
    return JudgeRequest(prompt, answer, stage="custom_judge", cache_scope=cache_scope)
