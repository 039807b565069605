"""Span cost derived from LiteLLM's model price map at ingestion (traces/ingest/pricing.py).

Expected costs are computed from the map's JSON file directly (tests/support/prices.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest

from sightline.engine.judge._litellm import load_litellm
from tests.conftest import Tenant
from tests.support.prices import expected_cost
from tests.traces.conftest import get_trace, post_trace, span, trace

# What pandaprobe's wrap_openai sends for a chat completion: no cost, extra token keys.
WRAP_OPENAI_USAGE = {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}


def _spans(got: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in got["spans"]}


def _derived(name: str, model: str = "gpt-4o-mini", **fields: Any) -> dict[str, Any]:
    fields.setdefault("token_usage", dict(WRAP_OPENAI_USAGE))
    return span(name=name, model=model, **fields)


async def test_wrap_openai_span_gets_the_price_map_cost(tenant: Tenant) -> None:
    body = await post_trace(
        tenant.client, spans=[_derived("chat"), span(name="search", kind="TOOL")]
    )
    got = await get_trace(tenant.client, body["trace_id"])
    expected = expected_cost("gpt-4o-mini", 1200, 300)
    chat, search = _spans(got)["chat"], _spans(got)["search"]
    assert chat["cost"] == pytest.approx(expected)
    assert chat["cost_source"] == "price_map"
    assert chat["token_usage"] == WRAP_OPENAI_USAGE  # the client's numbers, untouched
    assert (search["cost"], search["cost_source"]) == (None, None)
    assert got["total_cost"] == pytest.approx(expected["total"])
    [listed] = (await tenant.client.get("/traces")).json()["items"]
    assert listed["total_cost"] == pytest.approx(expected["total"])


async def test_a_cost_the_client_sent_is_left_untouched(tenant: Tenant) -> None:
    sent = {"total": 0.5, "input": 0.4}
    body = await post_trace(tenant.client, spans=[_derived("chat", cost=sent), _derived("chat-2")])
    got = await get_trace(tenant.client, body["trace_id"])
    chat = _spans(got)["chat"]
    assert chat["cost"] == sent
    assert chat["cost_source"] == "client"
    derived = expected_cost("gpt-4o-mini", 1200, 300)["total"]
    assert got["total_cost"] == pytest.approx(0.5 + derived)


async def test_what_cannot_be_priced_stays_null_and_out_of_the_total(tenant: Tenant) -> None:
    body = await post_trace(
        tenant.client,
        spans=[
            _derived("priced"),
            _derived("unknown-model", model="acme-llm-9000"),
            # Only an LLM or EMBEDDING span's tokens are a model call's own usage.
            _derived("agent", kind="AGENT"),
            _derived("no-counts", token_usage={"total_tokens": 1500}),
            _derived("no-usage", token_usage=None),
            # LiteLLM refuses a map entry of another provider; so do we.
            _derived("wrong-provider", metadata={"provider": "anthropic"}),
        ],
    )
    got = await get_trace(tenant.client, body["trace_id"])
    for name, one in _spans(got).items():
        if name != "priced":
            assert (name, one["cost"], one["cost_source"]) == (name, None, None)
    assert got["total_cost"] == pytest.approx(expected_cost("gpt-4o-mini", 1200, 300)["total"])


async def test_model_names_resolve_as_litellm_resolves_them(tenant: Tenant) -> None:
    body = await post_trace(
        tenant.client,
        spans=[
            _derived("prefixed", model="openai/gpt-4o-mini"),
            _derived("azure", metadata={"provider": "Azure"}),
            _derived("azure-prefixed", model="azure/gpt-4o-mini"),
            _derived("snapshot", model="gpt-4o-mini-2024-07-18"),
            _derived(
                "embed",
                kind="EMBEDDING",
                model="text-embedding-3-small",
                token_usage={"prompt_tokens": 800},
            ),
        ],
    )
    spans = _spans(await get_trace(tenant.client, body["trace_id"]))
    expected = {
        "prefixed": expected_cost("gpt-4o-mini", 1200, 300),
        "azure": expected_cost("azure/gpt-4o-mini", 1200, 300),
        "azure-prefixed": expected_cost("azure/gpt-4o-mini", 1200, 300),
        "snapshot": expected_cost("gpt-4o-mini-2024-07-18", 1200, 300),
        "embed": expected_cost("text-embedding-3-small", 800, 0),
    }
    for name, cost in expected.items():
        assert (name, spans[name]["cost"]) == (name, pytest.approx(cost))
    assert expected["azure"] != expected["prefixed"]  # the provider did pick another entry

    # The same numbers as LiteLLM's own cost_per_token, for these names.
    litellm = load_litellm()
    for name, model, provider in [
        ("prefixed", "openai/gpt-4o-mini", None),
        ("azure", "gpt-4o-mini", "azure"),
        ("snapshot", "gpt-4o-mini-2024-07-18", None),
    ]:
        spent_in, spent_out = litellm.cost_per_token(
            model=model, prompt_tokens=1200, completion_tokens=300, custom_llm_provider=provider
        )
        assert spans[name]["cost"]["total"] == pytest.approx(spent_in + spent_out)


async def test_a_repost_reprices_derived_costs_and_keeps_client_costs(tenant: Tenant) -> None:
    client = tenant.client
    derived, overridden = _derived("derived"), _derived("overridden")
    sent = _derived("sent", cost={"total": 0.5})
    body = await post_trace(client, spans=[derived, sent, overridden])
    repost = trace(
        trace_id=body["trace_id"],
        spans=[
            {**derived, "token_usage": {"prompt_tokens": 2000, "completion_tokens": 10}},
            {k: v for k, v in sent.items() if k not in ("cost", "token_usage")},
            {**overridden, "cost": {"total": 0.01}},
        ],
    )
    assert (await client.post("/traces", json=repost)).status_code == 202
    got = await get_trace(client, body["trace_id"])
    spans = _spans(got)
    assert spans["derived"]["cost"] == pytest.approx(expected_cost("gpt-4o-mini", 2000, 10))
    assert spans["derived"]["cost_source"] == "price_map"
    assert (spans["sent"]["cost"], spans["sent"]["cost_source"]) == ({"total": 0.5}, "client")
    assert spans["overridden"]["cost"] == {"total": 0.01}
    assert spans["overridden"]["cost_source"] == "client"
    derived_total = expected_cost("gpt-4o-mini", 2000, 10)["total"]
    assert got["total_cost"] == pytest.approx(derived_total + 0.5 + 0.01)

    # A model that is not in the map leaves the derived span without a cost at all.
    unknown = trace(trace_id=body["trace_id"], spans=[{**derived, "model": "acme-llm-9000"}])
    assert (await client.post("/traces", json=unknown)).status_code == 202
    got = await get_trace(client, body["trace_id"])
    assert _spans(got)["derived"]["cost"] is None
    assert got["total_cost"] == pytest.approx(0.51)


async def test_batch_and_added_spans_are_priced_too(tenant: Tenant) -> None:
    client = tenant.client
    batched = trace(spans=[_derived("chat")])
    response = await client.post("/traces/batch", json={"traces": [batched]})
    assert response.json()["accepted"] == 1
    response = await client.post(
        f"/traces/{batched['trace_id']}/spans",
        json=[_derived("later", token_usage={"prompt_tokens": 10, "completion_tokens": 20})],
    )
    assert response.status_code == 201
    got = await get_trace(client, batched["trace_id"])
    first, later = expected_cost("gpt-4o-mini", 1200, 300), expected_cost("gpt-4o-mini", 10, 20)
    assert _spans(got)["chat"]["cost"] == pytest.approx(first)
    assert _spans(got)["later"]["cost"] == pytest.approx(later)
    assert got["total_cost"] == pytest.approx(first["total"] + later["total"])


async def test_patch_reprices_unless_the_client_set_a_cost(tenant: Tenant) -> None:
    client = tenant.client
    chat = _derived("chat")
    body = await post_trace(client, spans=[chat])
    path = f"/traces/{body['trace_id']}/spans/{chat['span_id']}"

    async def patch(changes: dict[str, Any]) -> tuple[dict[str, Any], float]:
        response = await client.patch(path, json=changes)
        assert response.status_code == 200, response.text
        return response.json(), (await get_trace(client, body["trace_id"]))["total_cost"]

    patched, total = await patch({"token_usage": {"prompt_tokens": 100, "completion_tokens": 50}})
    repriced = expected_cost("gpt-4o-mini", 100, 50)
    assert (patched["cost"], patched["cost_source"]) == (pytest.approx(repriced), "price_map")
    assert total == pytest.approx(repriced["total"])

    patched, total = await patch({"cost": {"total": 2.0}})
    assert (patched["cost"], patched["cost_source"], total) == ({"total": 2.0}, "client", 2.0)
    patched, _ = await patch({"model": "gpt-4o", "token_usage": {"prompt_tokens": 1}})
    assert patched["cost"] == {"total": 2.0}  # a client's cost is never replaced

    # An explicit null removes the client's cost: the span is priced as if sent without one.
    patched, total = await patch({"cost": None})
    assert patched["cost"] == pytest.approx(expected_cost("gpt-4o", 1, 0))
    assert patched["cost_source"] == "price_map"
    assert total == pytest.approx(expected_cost("gpt-4o", 1, 0)["total"])

    patched, total = await patch({"model": "acme-llm-9000"})
    assert (patched["cost"], patched["cost_source"], total) == (None, None, 0.0)


def test_ingestion_prices_spans_without_importing_litellm() -> None:
    """Importing litellm takes seconds; the write path reads its price file instead."""
    script = textwrap.dedent(
        f"""
        import sys, uuid
        from sightline.traces.ingest import batch, writer  # the whole write path
        from sightline.traces.rows import new_span_row
        from sightline.traces.schemas import SpanCreate

        span = SpanCreate(
            name="chat", kind="LLM", model="gpt-4o-mini", started_at="2026-03-02T10:00:00Z",
            token_usage={{"prompt_tokens": 1200, "completion_tokens": 300}},
        )
        row = new_span_row(span, uuid.uuid4(), uuid.UUID("{uuid.uuid4()}"))
        assert row["cost_source"] == "price_map" and row["cost_total"] > 0, row
        assert "litellm" not in sys.modules, "ingestion imported litellm"
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
