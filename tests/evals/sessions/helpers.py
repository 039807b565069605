"""Sessions built through POST /traces, and small waits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.evals.factories import agent_trace

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


async def post_session(
    client: httpx.AsyncClient,
    turns: int,
    *,
    session_id: str | None = None,
    start: datetime = T0,
    user_id: str | None = None,
    status: str = "COMPLETED",
    **kwargs: Any,
) -> tuple[str, list[str]]:
    """A session of ``turns`` traces, one minute apart, each with distinct output text."""
    session_id = session_id or f"sess-{uuid.uuid4().hex[:8]}"
    trace_ids = []
    for turn in range(turns):
        body = agent_trace(
            session_id=session_id,
            started_at=start + timedelta(minutes=turn),
            question=f"Question {turn} about order {uuid.uuid4().hex[:6]}?",
            **kwargs,
        )
        body["user_id"] = user_id
        body["status"] = status
        body["output"] = {
            "messages": [{"role": "assistant", "content": f"Answer {turn} {uuid.uuid4().hex}"}]
        }
        response = await client.post("/traces", json=body)
        assert response.status_code == 202, response.text
        trace_ids.append(body["trace_id"])
    return session_id, trace_ids
