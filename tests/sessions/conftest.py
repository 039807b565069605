"""Session tests share the evaluation tests' judge-backed app (the fake judge over HTTP)."""

from tests.evals.conftest import et, eval_app, eval_client, judge  # noqa: F401
