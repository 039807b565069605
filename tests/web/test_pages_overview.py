"""The Overview page over HTTP (issue 13, page 6): server-rendered SVG charts of trace
volume, error rate, latency p50/p95, tokens and cost, score trends per metric, and the top
models, from the analytics services; the empty state; the period switch."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.evals.factories import agent_trace
from tests.web.conftest import Ui


async def test_empty_project_teaches(ui: Ui) -> None:
    page = await ui.page("/ui/overview")
    assert page.status_code == 200
    assert "No traces in this period" in page.text
    assert "export PANDAPROBE_ENDPOINT=http://sightline.test" in page.text
    assert "No scores in this period." in page.text
    assert "No span named a model in this period." in page.text
    assert page.text.count("No data in this period.") == 5


async def test_charts_from_traces_and_scores(ui: Ui) -> None:
    now = datetime.now(UTC)
    ids = []
    for index, status in enumerate(["COMPLETED", "COMPLETED", "ERROR", "COMPLETED"]):
        body = agent_trace(started_at=now - timedelta(days=index % 2, minutes=30))
        body["status"] = status
        assert (
            await ui.api.post("/traces", json=body, headers=ui.tenant.headers())
        ).status_code == 202
        ids.append(body["trace_id"])
    for trace_id, value in zip(ids, ["0.9", "0.5", "0.2", "1.0"], strict=True):
        score = {"trace_id": trace_id, "name": "helpfulness", "value": value,
                 "data_type": "NUMERIC", "source": "PROGRAMMATIC"}  # fmt: skip
        answer = await ui.api.post(
            "/evaluations/trace-scores", json=score, headers=ui.tenant.headers()
        )
        assert answer.status_code == 201, answer.text

    page = await ui.page("/ui/overview")
    assert page.status_code == 200
    html = page.text
    assert "4 traces, 1 with an error" in html
    for key in ("volume", "error-rate", "latency", "tokens", "cost", "score-trace-helpfulness"):
        chart = html.split(f'id="chart-{key}"', 1)[1].split("</figure>", 1)[0]
        assert '<svg class="chart"' in chart, key
        assert "No data in this period." not in chart, key
    volume = html.split('id="chart-volume"', 1)[1].split("</figure>", 1)[0]
    assert len(re.findall(r'<rect class="bar series-0"', volume)) == 2  # two days with traces
    latency = html.split('id="chart-latency"', 1)[1].split("</figure>", 1)[0]
    assert "p95" in latency and '<circle class="dot series-1"' in latency
    assert latency.count('<td class="num">4.00 s</td>') == 4  # p50 and p95 of two days
    assert '<td class="mono">gpt-4o-mini</td>' in html  # top models
    assert "style=" not in html and "<script>" not in html

    for period in ("24h", "30d", "90d", "bogus"):
        other = await ui.page("/ui/overview", params={"range": period})
        assert other.status_code == 200, period
        assert '<svg class="chart"' in other.text, period
