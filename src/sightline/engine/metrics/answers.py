"""The JSON shapes the judge answers in. Every field is required (strict structured output).

The reasoning comes before the score in every shape: a model writes the properties in
schema order, so it explains its judgement before it commits to a number.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TaskAnswer(BaseModel):
    task: str = Field(description="What the user asked the agent to do, in one or two sentences")
    outcome: str = Field(description="What the agent actually delivered, in one or two sentences")


class PlanAnswer(BaseModel):
    plan: list[str] = Field(description="The agent's stated or evidently followed plan steps")


class ScoreAnswer(BaseModel):
    reason: str = Field(description="Your reasoning, written before you decide the score")
    score: float = Field(ge=0.0, le=1.0)


class TaskVerdict(BaseModel):
    reason: str = Field(description="Your reasoning, written before you decide the verdict")
    verdict: float = Field(ge=0.0, le=1.0)


class ConfidenceAnswer(BaseModel):
    reason: str = Field(description="Your reasoning, written before you decide the confidence")
    confidence: float = Field(ge=0.0, le=1.0)


class ArgumentVerdict(BaseModel):
    call: int = Field(description="The number of the tool call, as listed")
    reason: str = Field(description="Why the arguments are right or wrong, before the verdict")
    verdict: Literal["yes", "no"]


class ArgumentVerdicts(BaseModel):
    verdicts: list[ArgumentVerdict] = Field(description="Exactly one per listed call, in order")
    reason: str = Field(description="One or two sentences summing up the wrong arguments, if any")
