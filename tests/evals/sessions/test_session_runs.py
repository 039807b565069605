"""Session runs over HTTP (API.md §3.7) with the fake judge behind LiteLLM."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.evals.factories import create_traces, wait_for_run
from tests.evals.sessions.helpers import T0, post_session
from tests.fakes.openai_server import FakeJudgeServer, Reply

METRICS = ["agent_reliability", "agent_consistency"]
SIGNALS = {"confidence", "coherence", "loop_detection", "tool_correctness"}
VALID = "Valid session metrics: agent_consistency, agent_reliability."


def fail_schema(judge: FakeJudgeServer, schema: str) -> None:
    def responder(body: dict[str, Any]) -> Reply | None:
        name = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
        if name == schema:
            error = {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                     "code": "invalid_api_key"}  # fmt: skip
            return Reply(401, {"error": error})
        return None

    judge.responder = responder


async def run_batch(
    client: httpx.AsyncClient, session_ids: list[str], **extra: Any
) -> dict[str, Any]:
    body = {"session_ids": session_ids, "metrics": METRICS, **extra}
    response = await client.post("/evaluations/session-runs/batch", json=body)
    assert response.status_code == 202, response.text
    return await wait_for_run(client, response.json()["id"], kind="session")


async def test_session_metrics_are_listed(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    response = await eval_client.get("/evaluations/session-metrics")
    assert response.status_code == 200
    assert [(m["name"], m["category"]) for m in response.json()] == [
        ("agent_consistency", "session"), ("agent_reliability", "session"),
    ]  # fmt: skip


async def test_filter_run_scores_sessions_and_accounts_signals(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    judge.answers["ConfidenceAnswer"] = {"confidence": 0.9, "reason": "sure"}
    s1, t1 = await post_session(eval_client, 3, user_id="u1")
    s2, _ = await post_session(eval_client, 2, user_id="u2")
    await create_traces(eval_client, 1)  # no session: never a target
    response = await eval_client.post(
        "/evaluations/session-runs",
        json={"name": "nightly", "metrics": [*METRICS, "agent_reliability"],
              "filters": {"date_from": (T0.replace(year=2000)).isoformat(), "min_trace_count": 2,
                          "user_id": None},
              "signal_weights": {"tool_correctness": 0.5}},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["target_type"] == "SESSION" and created["status"] == "PENDING"
    assert created["total_targets"] == 2 and created["metric_names"] == METRICS
    assert created["filters"] == {
        "date_from": "2000-" + T0.isoformat()[5:], "min_trace_count": 2,
        "signal_weights": {"tool_correctness": 0.5},
    }  # fmt: skip
    run = await wait_for_run(eval_client, created["id"], kind="session")
    assert run["status"] == "COMPLETED" and run["evaluated_count"] == 2 and run["failed_count"] == 0
    # every judge request of the signals is accounted on the session run
    assert run["judge_calls"] == len(judge.requests) > 0 and run["cost_usd"] > 0

    scores = (await eval_client.get(f"/evaluations/session-runs/{run['id']}/scores")).json()
    assert sorted((s["session_id"], s["name"]) for s in scores) == sorted(
        (s, m) for s in (s1, s2) for m in METRICS
    )
    for score in scores:
        assert score["status"] == "SUCCESS" and score["source"] == "AUTOMATED"
        assert score["model"] == "openai/gpt-4o-mini"
        assert score["metadata"]["signal_weights"]["tool_correctness"] == 0.5
        assert score["metadata"]["signals"]["failed"] == 0
    # the signals are trace scores of the session run
    signal_page = (
        await eval_client.get("/evaluations/trace-scores", params={"eval_run_id": run["id"],
                                                                   "limit": 200})
    ).json()  # fmt: skip
    assert signal_page["total"] == 5 * 4
    assert {s["name"] for s in signal_page["items"]} == SIGNALS
    first_turn = [s for s in signal_page["items"] if s["trace_id"] == t1[0]]
    loop = next(s for s in first_turn if s["name"] == "loop_detection")
    # no earlier output to compare, but its two distinct tool calls are evidence of no loop
    assert loop["value"] == "1.0" and "note" not in loop["metadata"]
    assert loop["metadata"]["cross_turn_skipped"] == "no_previous_outputs"


async def test_run_validation(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    sid, _ = await post_session(eval_client, 1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metrics": ["agent_reliability", "nope"]}, f"Unknown session metrics: nope. {VALID}"),
        ({"metrics": ["task_completion"]}, f"Unknown session metrics: task_completion. {VALID}"),
        ({"metrics": METRICS, "filters": {"user_id": "nobody"}},
         "No sessions match the provided filters."),
    ]  # fmt: skip
    for body, detail in cases:
        response = await eval_client.post("/evaluations/session-runs", json=body)
        assert response.status_code == 422 and response.json()["detail"] == detail, response.text
    schema_errors: list[tuple[dict[str, Any], str]] = [
        ({"metrics": []}, "metrics"),
        ({"metrics": METRICS, "filters": {"session_id": sid}}, "filters -> session_id"),
        ({"metrics": METRICS, "filters": {"date_from": "yesterday"}}, "filters -> date_from"),
        ({"metrics": METRICS, "filters": {"min_trace_count": 0}}, "filters -> min_trace_count"),
        ({"metrics": METRICS, "sampling_rate": 1.5}, "sampling_rate"),
        ({"metrics": METRICS, "signal_weights": {"confidence": -1}},
         "signal_weights -> confidence"),
        ({"metrics": METRICS, "signal_weights": {"confidence": "Infinity"}},
         "signal_weights -> confidence"),
        ({"metrics": METRICS, "signal_weights": {"confidance": 1}}, "signal_weights"),
    ]  # fmt: skip
    for body, field in schema_errors:
        response = await eval_client.post("/evaluations/session-runs", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field, response.text
    response = await eval_client.post(
        "/evaluations/session-runs",
        content=b'{"metrics": ["agent_reliability"], "signal_weights": {"confidence": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    listed = (await eval_client.get("/evaluations/session-runs")).json()
    assert listed["total"] == 0  # nothing was created by a refused request


async def test_batch_ids_must_exist_in_the_project(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    sid, _ = await post_session(eval_client, 1)
    other = await post_session(eval_client, 1, session_id=None)  # noqa: F841 - exists, unused
    response = await eval_client.post(
        "/evaluations/session-runs/batch",
        json={"session_ids": [sid, "ghost-1", sid, "ghost-2"], "metrics": METRICS},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "Sessions not found in this project: ghost-1, ghost-2"
    # another project of the same organization cannot see this session
    response = await eval_client.post(
        "/evaluations/session-runs/batch",
        json={"session_ids": [sid], "metrics": METRICS},
        headers=et.headers("proj-other"),
    )
    assert response.status_code == 422 and sid in response.json()["detail"]


async def test_get_list_delete_and_type_checks(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    sid, _ = await post_session(eval_client, 2)
    run = await run_batch(eval_client, [sid, sid])
    assert run["total_targets"] == 1 and run["filters"] == {"session_ids": [sid]}
    trace_ids = await create_traces(eval_client, 1)
    trace_run = (
        await eval_client.post(
            "/evaluations/trace-runs/batch",
            json={"trace_ids": trace_ids, "metrics": ["confidence"]},
        )
    ).json()
    assert (
        await eval_client.get(f"/evaluations/session-runs/{trace_run['id']}")
    ).status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    for path in (
        f"/evaluations/session-runs/{missing}",
        f"/evaluations/session-runs/{missing}/scores",
    ):
        response = await eval_client.get(path)
        assert response.status_code == 404
        assert response.json()["detail"] == f"Eval run {missing} not found."
    page = (
        await eval_client.get("/evaluations/session-runs", params={"status": "COMPLETED"})
    ).json()
    assert [r["id"] for r in page["items"]] == [run["id"]] and page["total"] == 1
    bad = await eval_client.get("/evaluations/session-runs", params={"status": "DONE"})
    assert bad.status_code == 422

    # delete without scores: they stay, detached from the run
    assert (await eval_client.delete(f"/evaluations/session-runs/{run['id']}")).status_code == 204
    kept = (await eval_client.get(f"/evaluations/session-scores/{sid}")).json()
    assert len(kept) == 2 and all(s["eval_run_id"] is None for s in kept)
    assert (await eval_client.get(f"/evaluations/session-runs/{run['id']}")).status_code == 404

    # delete with scores: session scores and signal trace scores of the run go
    second = await run_batch(eval_client, [sid], use_cache=False)
    response = await eval_client.delete(
        f"/evaluations/session-runs/{second['id']}", params={"delete_scores": "true"}
    )
    assert response.status_code == 204
    assert len((await eval_client.get(f"/evaluations/session-scores/{sid}")).json()) == 2
    signals = await eval_client.get(
        "/evaluations/trace-scores", params={"eval_run_id": second["id"]}
    )
    assert signals.json()["total"] == 0


async def test_all_signals_failed_gives_failed_scores_not_perfect_ones(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    sid, _ = await post_session(eval_client, 2)
    judge.api_key = "the-right-key"  # every chat and embedding request now answers 401
    run = await run_batch(eval_client, [sid])
    assert run["failed_count"] == 2 and run["evaluated_count"] == 1
    assert run["status"] == "FAILED" and "SIGHTLINE_JUDGE_API_KEY" in run["error_message"]
    scores = (await eval_client.get(f"/evaluations/session-runs/{run['id']}/scores")).json()
    assert len(scores) == 2
    for score in scores:
        assert score["status"] == "FAILED" and score["value"] is None
        # the first turn's loop check needs no judge (its tool calls are not repeated): the
        # one signal that succeeded, too little to rest a score on
        assert score["reason"] == (
            "insufficient_evidence: 7 of 8 signals failed (confidence ×2, coherence ×2, "
            "tool_correctness ×2, loop_detection ×1); a session score needs at least 50% of "
            "them to succeed."
        )
        assert score["metadata"]["error"] == "insufficient_evidence"
        assert score["metadata"]["signals"] == {
            "reused": 0, "computed": 1, "failed": 7, "no_evidence": 0,
        }  # fmt: skip
        failure = score["metadata"]["signal_failures"][0]
        assert failure["reason"].startswith("judge_auth_error: ")
    signals = (
        await eval_client.get("/evaluations/trace-scores", params={"eval_run_id": run["id"]})
    ).json()
    assert signals["total"] == 8
    assert sorted(s["status"] for s in signals["items"]) == ["FAILED"] * 7 + ["SUCCESS"]


async def test_retry_reruns_only_the_failed_pairs(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    s1, _ = await post_session(eval_client, 2)
    s2, _ = await post_session(eval_client, 2)
    fail_schema(judge, "ConfidenceAnswer")  # consistency needs confidence; reliability does not
    run = await run_batch(eval_client, [s1, s2], signal_weights={"coherence": 0.5}, name="orig")
    assert run["status"] == "COMPLETED" and run["failed_count"] == 2
    by_pair = {
        (s["session_id"], s["name"]): s
        for s in (await eval_client.get(f"/evaluations/session-runs/{run['id']}/scores")).json()
    }
    assert by_pair[(s1, "agent_reliability")]["status"] == "SUCCESS"
    assert by_pair[(s1, "agent_consistency")]["status"] == "FAILED"
    assert by_pair[(s1, "agent_reliability")]["metadata"]["signals"]["failed"] == 2
    assert by_pair[(s1, "agent_reliability")]["reason"].endswith(
        "; 2 of 8 signals failed (confidence ×2) and are not counted."
    )
    assert by_pair[(s1, "agent_consistency")]["reason"].startswith(
        "insufficient_evidence: 2 of 2 confidence signals failed (confidence ×2)"
    )

    judge.responder = None
    judge.reset()
    response = await eval_client.post(f"/evaluations/session-runs/{run['id']}/retry")
    assert response.status_code == 202, response.text
    retry = response.json()
    assert retry["name"] == "Retry: orig"
    assert retry["metric_names"] == ["agent_consistency"] and retry["total_targets"] == 2
    assert retry["filters"] == {"retry_of": run["id"], "session_ids": [s1, s2],
                                "signal_weights": {"coherence": 0.5}}  # fmt: skip
    done = await wait_for_run(eval_client, retry["id"], kind="session")
    assert done["status"] == "COMPLETED" and done["failed_count"] == 0
    retried = (await eval_client.get(f"/evaluations/session-runs/{retry['id']}/scores")).json()
    assert sorted((s["session_id"], s["name"]) for s in retried) == sorted(
        [(s1, "agent_consistency"), (s2, "agent_consistency")]
    )
    # only the failed confidence signals were judged again; the rest were reused
    assert {r.schema_name for r in judge.chat_requests()} == {"ConfidenceAnswer"}
    assert len(judge.chat_requests()) == 4
    for score in retried:
        assert score["metadata"]["signals"] == {
            "reused": 6, "computed": 2, "failed": 0, "no_evidence": 0,
        }  # fmt: skip

    no_failures = await eval_client.post(f"/evaluations/session-runs/{retry['id']}/retry")
    assert no_failures.status_code == 422
    assert no_failures.json()["detail"] == "No failed scores to retry in this run."


async def test_a_failed_signal_keeps_what_it_spent(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    """A signal that fails after paying for its judge calls (an unparseable answer and its
    repair) records that spend on its row, as a failed trace-run pair does."""
    session, _ = await post_session(eval_client, 2)
    judge.answers["ConfidenceAnswer"] = "I am fairly sure."
    try:
        run = await run_batch(eval_client, [session], use_cache=False)
    finally:
        del judge.answers["ConfidenceAnswer"]
    assert run["status"] == "COMPLETED"
    signals = (
        await eval_client.get("/evaluations/trace-scores", params={"eval_run_id": run["id"]})
    ).json()["items"]
    failed = [s for s in signals if s["status"] == "FAILED"]
    assert {s["name"] for s in failed} == {"confidence"} and len(failed) == 2
    for signal in failed:
        assert signal["reason"].startswith("unparseable_answer:")
        assert signal["metadata"]["judge"]["requests"] >= 2  # the answer and its repair
        assert signal["metadata"]["judge"]["prompt_tokens"] > 0
