"""A run's cost cap, checked before every judge request, and its spend not yet recorded.

Concurrent requests already in flight when the cap is reached still finish, so a run can
overshoot by at most max_concurrency requests; nothing new starts after that.

The judge client charges every request as it completes (``charge``); the run's executor
moves what was charged into the run's row (``take_unrecorded``) with each commit and at
least every second, so the spend of calls whose scores a crash lost is still counted.
"""

from __future__ import annotations

from sightline.engine.errors import BudgetExhausted
from sightline.engine.judge.types import Usage


class Budget:
    def __init__(self, max_cost_usd: float | None = None, spent_usd: float = 0.0) -> None:
        self.max_cost_usd = max_cost_usd
        self.spent_usd = spent_usd  # the executor seeds this from the run's recorded spend
        self._unrecorded = Usage()

    @property
    def exhausted(self) -> bool:
        return self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd

    def check(self) -> None:
        if self.exhausted:
            raise BudgetExhausted(
                f"cost budget of ${self.max_cost_usd:.4f} exhausted "
                f"(spent ${self.spent_usd:.4f}); no further judge calls"
            )

    def charge(self, usage: Usage) -> None:
        self.spent_usd += usage.cost_usd
        self._unrecorded += Usage(
            usage.prompt_tokens, usage.completion_tokens, usage.cost_usd, usage.requests
        )

    def take_unrecorded(self) -> Usage:
        """What was charged since the last take; give it back with ``restore`` if it could
        not be stored."""
        taken, self._unrecorded = self._unrecorded, Usage()
        return taken

    def restore(self, usage: Usage) -> None:
        self._unrecorded += usage
