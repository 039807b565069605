"""The JSON shapes the judge answers in. Every field is required (strict structured output)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TaskAnswer(BaseModel):
    task: str = Field(description="What the user asked the agent to do, in one or two sentences")
    outcome: str = Field(description="What the agent actually delivered, in one or two sentences")


class PlanAnswer(BaseModel):
    plan: list[str] = Field(description="The agent's stated or evidently followed plan steps")


class ScoreAnswer(BaseModel):
    score: float = Field(ge=0.0, le=1.0)
    reason: str


class TaskVerdict(BaseModel):
    verdict: float = Field(ge=0.0, le=1.0)
    reason: str


class ConfidenceAnswer(BaseModel):
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str


class ArgumentVerdict(BaseModel):
    call: int = Field(description="The number of the tool call, as listed")
    verdict: Literal["yes", "no"]
    reason: str


class ArgumentVerdicts(BaseModel):
    verdicts: list[ArgumentVerdict]
    reason: str = Field(description="One or two sentences summing up the wrong arguments, if any")
