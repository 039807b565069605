"""Generated agent traces for prompt-fidelity tests and bench/eval.py (issue 9).

Each trace has a distinctive user request and final answer, and unique step names, so a
test can check that the judge's prompt holds them (whole, or cut with a marker).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sightline.engine.views import SpanView, TraceView

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class CorpusTrace:
    label: str
    trace: TraceView
    request: str  # the user's request, as the user wrote it
    answer: str  # the agent's final answer


def _words(rng: random.Random, n: int) -> str:
    vocab = [
        "order",
        "invoice",
        "refund",
        "shipment",
        "customer",
        "account",
        "policy",
        "region",
        "quarter",
        "revenue",
    ]
    return " ".join(rng.choice(vocab) for _ in range(n))


def _blob(rng: random.Random, size: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    length = 10
    while length < size:
        row = {"id": len(rows), "note": _words(rng, 12)}
        rows.append(row)
        length += len(json.dumps(row)) + 2
    return {"rows": rows}


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.spans: list[SpanView] = []
        self.clock = 0

    def add(self, name: str, kind: str, parent: str | None, **fields: Any) -> str:
        span_id = f"{len(self.spans) + 1:05d}"
        self.clock += 1
        self.spans.append(
            SpanView(
                span_id=span_id,
                name=name,
                kind=kind,
                parent_span_id=parent,
                status=fields.pop("status", "OK"),
                started_at=T0 + timedelta(milliseconds=self.clock * 100),
                ended_at=T0 + timedelta(milliseconds=self.clock * 100 + 80),
                **fields,
            )
        )
        return span_id

    def agent_steps(self, parent: str, steps: int, payload: int, tag: str) -> None:
        """LLM → TOOL pairs; every seventh tool fails once and is retried."""
        index = 0
        while index < steps:
            n = len(self.spans)
            self.add(
                f"{tag}_think_{n}",
                "LLM",
                parent,
                model="gpt-4o-mini",
                input={"messages": [{"role": "user", "content": _words(self.rng, 60)}]},
                output={"messages": [{"role": "assistant", "content": _words(self.rng, 40)}]},
                token_usage={"prompt_tokens": 300, "completion_tokens": 80},
            )
            args = {"query": _words(self.rng, 8), "limit": 10}
            if n % 7 == 0 and index + 3 <= steps:
                self.add(
                    f"{tag}_lookup_{n}",
                    "TOOL",
                    parent,
                    input=args,
                    status="ERROR",
                    error="TimeoutError: upstream did not answer in 30s",
                )
                index += 1
            self.add(
                f"{tag}_lookup_{n}_ok", "TOOL", parent, input=args, output=_blob(self.rng, payload)
            )
            index += 2


def small_trace() -> CorpusTrace:
    b = _Builder(10)
    request = "Which of my orders from March have not shipped yet?"
    answer = "Orders 1182 and 1190 from March have not shipped; both are waiting for stock."
    root = b.add("support-agent", "AGENT", None, input=request, output=answer)
    b.agent_steps(root, 9, 400, "s")
    return CorpusTrace("10 spans", _trace("small", b, request, answer), request, answer)


def wide_trace() -> CorpusTrace:
    """200 spans, 50 KB tool outputs."""
    b = _Builder(200)
    request = "Reconcile the Q3 revenue report against the invoices and list every mismatch."
    answer = "Found 14 mismatches between the Q3 report and the invoices: " + _words(b.rng, 40)
    root = b.add("reconcile-agent", "AGENT", None, input=request, output=answer)
    b.agent_steps(root, 199, 50_000, "w")
    return CorpusTrace("200 spans", _trace("wide", b, request, answer), request, answer)


def huge_trace() -> CorpusTrace:
    """1,000 spans: nested agents, error retries, one 1 MB payload."""
    b = _Builder(1000)
    request = "Audit every customer account in the EU region for policy violations."
    answer = "Audited 9 sub-regions; 37 accounts violate the retention policy. " + _words(b.rng, 30)
    root = b.add("audit-agent", "AGENT", None, input=request, output=answer)
    for region in range(9):
        sub = b.add(f"region-agent-{region}", "AGENT", root, input=f"audit sub-region {region}")
        b.agent_steps(sub, 108, 2_000, f"r{region}")
    b.add("export_report", "TOOL", root, input={"format": "csv"}, output=_blob(b.rng, 1_000_000))
    while len(b.spans) < 1000:
        b.add(f"cleanup_{len(b.spans)}", "TOOL", root, input={"step": len(b.spans)}, output="ok")
    return CorpusTrace("1,000 spans", _trace("huge", b, request, answer), request, answer)


def conversation_trace() -> CorpusTrace:
    """40 turns with a 6,000-character system prompt; the request is the last user turn."""
    rng = random.Random(40)
    system = "You are the billing assistant. Policy: " + _words(rng, 900)
    turns: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for turn in range(40):
        turns.append({"role": "user", "content": f"turn {turn}: " + _words(rng, 50)})
        turns.append({"role": "assistant", "content": _words(rng, 70)})
    request = "Now cancel invoice 7731 and refund the customer the full amount."
    turns.append({"role": "user", "content": request})
    answer = "Invoice 7731 is cancelled and a full refund of $412.20 is on its way."
    b = _Builder(41)
    root = b.add("billing-agent", "AGENT", None, input={"messages": turns})
    b.add(
        "cancel_invoice", "TOOL", root, input={"invoice_id": 7731}, output={"status": "cancelled"}
    )
    b.add("refund", "TOOL", root, input={"invoice_id": 7731, "amount": 412.2}, output={"ok": True})
    trace = _trace(
        "conversation",
        b,
        {"messages": turns},
        {"messages": [{"role": "assistant", "content": answer}]},
    )
    return CorpusTrace("40-turn conversation", trace, request, answer)


def long_arguments_trace() -> CorpusTrace:
    """Tool arguments of 5,000 characters: a SQL query whose WHERE clause is at the end."""
    rng = random.Random(5000)
    columns = ", ".join(f"col_{i}_{_words(rng, 1)}" for i in range(400))[:4900]
    sql = f"SELECT {columns} FROM invoices WHERE region = 'EU' AND paid = false"
    request = "List the unpaid EU invoices."
    answer = "There are 12 unpaid EU invoices; the oldest is from January."
    b = _Builder(5)
    root = b.add("sql-agent", "AGENT", None, input=request, output=answer)
    for i in range(3):
        b.add(f"run_sql_{i}", "TOOL", root, input={"sql": sql}, output=_blob(rng, 3_000))
    return CorpusTrace("5,000-char arguments", _trace("sql", b, request, answer), request, answer)


def _trace(name: str, b: _Builder, request: Any, answer: Any) -> TraceView:
    return TraceView(
        trace_id=f"corpus-{name}",
        name=name,
        started_at=T0,
        ended_at=T0 + timedelta(milliseconds=b.clock * 100 + 100),
        input=request,
        output=answer,
        spans=tuple(b.spans),
    )


def corpus() -> list[CorpusTrace]:
    return [small_trace(), wide_trace(), huge_trace(), conversation_trace(), long_arguments_trace()]
