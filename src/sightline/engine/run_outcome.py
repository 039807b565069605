"""How a finished run ends: COMPLETED (possibly with failed pairs), or FAILED with a message
the user can act on when not a single pair could be scored."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.evals.runs.repository import RunCounters
from sightline.evals.scores import repository as scores_repo
from sightline.kit.statuses import RunStatus

_HINTS = {
    "judge_auth_error": (
        "The judge rejected the credentials: check SIGHTLINE_JUDGE_API_KEY "
        "(or the provider's own key, e.g. OPENAI_API_KEY)."
    ),
    "judge_model_error": (
        "The judge did not accept the model or the request: check the run's model "
        "(or SIGHTLINE_JUDGE_MODEL) and SIGHTLINE_JUDGE_API_BASE."
    ),
    "judge_unavailable": (
        "The judge could not be reached or kept failing: check SIGHTLINE_JUDGE_API_BASE and "
        "the provider's status, then retry the run."
    ),
    "context_overflow": (
        "The traces do not fit the judge's context window: use a model with a larger "
        "context or lower SIGHTLINE_JUDGE__PROMPT_TOKEN_BUDGET."
    ),
    "budget_exhausted": "The run's max_cost_usd was spent: retry it with a larger budget.",
    "target_missing": "The targets were deleted after the run was created.",
}


async def final_status(
    db: AsyncSession, run_id: uuid.UUID, counters: RunCounters
) -> tuple[str, str | None]:
    if counters.total_pairs == 0 or counters.done_pairs > 0:
        return RunStatus.COMPLETED, None
    reason = await scores_repo.most_common_failure(db, run_id) or "unknown error"
    code = reason.split(":", 1)[0]
    message = f"No (target, metric) pair could be scored; most common reason: {reason}"
    hint = _HINTS.get(code)
    return RunStatus.FAILED, f"{message}. {hint}" if hint else message
