"""A run's cost cap, checked before every judge request.

Concurrent requests already in flight when the cap is reached still finish, so a run can
overshoot by at most max_concurrency requests; nothing new starts after that.
"""

from __future__ import annotations

from sightline.engine.errors import BudgetExhausted


class Budget:
    def __init__(self, max_cost_usd: float | None = None, spent_usd: float = 0.0) -> None:
        self.max_cost_usd = max_cost_usd
        self.spent_usd = spent_usd  # the executor seeds this from the run's stored scores

    @property
    def exhausted(self) -> bool:
        return self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd

    def check(self) -> None:
        if self.exhausted:
            raise BudgetExhausted(
                f"cost budget of ${self.max_cost_usd:.4f} exhausted "
                f"(spent ${self.spent_usd:.4f}); no further judge calls"
            )

    def charge(self, cost_usd: float) -> None:
        self.spent_usd += cost_usd


UNLIMITED = Budget()
