"""Run-level engine tests use the evaluation tests' judge-backed app (the fake judge over
HTTP); here `judge` is that fake server, not the engine tests' LiteLLMJudge."""

from tests.evals.conftest import et, eval_app, eval_client, judge  # noqa: F401
