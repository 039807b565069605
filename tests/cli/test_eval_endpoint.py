"""Which server `sightline eval` talks to — --endpoint, else SIGHTLINE_ENDPOINT, else
PANDAPROBE_ENDPOINT, else http://127.0.0.1:8000 — and that a failure to connect names the URL
and where it came from; `sightline eval metrics` lists what that server offers."""

from __future__ import annotations

import pytest

from tests.cli.conftest import EvalCli, unused_url

pytestmark = pytest.mark.slow


def _row(output: str, name: str) -> str:
    """The table row of one metric, whitespace collapsed."""
    rows = [line for line in output.splitlines() if f"│ {name} " in line]
    assert len(rows) == 1, output
    return " ".join(rows[0].split())


async def test_only_pandaprobe_endpoint_set_reaches_the_server_and_lists_its_metrics(
    cli: EvalCli,
) -> None:
    trace_metrics = (await cli.api.get("/evaluations/trace-metrics")).json()
    session_metrics = (await cli.api.get("/evaluations/session-metrics")).json()
    assert trace_metrics and session_metrics

    result = await cli("metrics")  # the server's port is only in PANDAPROBE_ENDPOINT

    assert result.code == 0, result
    for kind, listed in (("trace", trace_metrics), ("session", session_metrics)):
        for metric in listed:
            row = _row(result.out, metric["name"])
            assert f"│ {metric['name']} │ {kind} │" in row, row
            assert " ".join(metric["description"].split()) in row, row
    assert "loop_detection" not in result.out  # hidden: no run accepts it on its own


async def test_unreachable_server_names_the_url_and_its_source(cli: EvalCli) -> None:
    dead, live = unused_url(), cli.server.base_url
    cases = [
        ({"PANDAPROBE_ENDPOINT": dead}, [], "from PANDAPROBE_ENDPOINT"),
        # Sightline's own variable wins over the SDK's ...
        ({"SIGHTLINE_ENDPOINT": dead, "PANDAPROBE_ENDPOINT": live}, [], "from SIGHTLINE_ENDPOINT"),
        # ... an empty one does not count (Click's rule, and the message agrees with it) ...
        ({"SIGHTLINE_ENDPOINT": "", "PANDAPROBE_ENDPOINT": dead}, [], "from PANDAPROBE_ENDPOINT"),
        # ... and --endpoint wins over both.
        ({"SIGHTLINE_ENDPOINT": live}, ["--endpoint", dead], "from --endpoint"),
    ]
    for env, extra, origin in cases:
        result = await cli("metrics", *extra, env=env)
        assert result.code == 2, (env, str(result))
        assert f"error: cannot reach {dead} ({origin}): " in result.err, (env, str(result))
        assert live not in result.text


async def test_sightline_endpoint_is_used_before_pandaprobe_endpoint(cli: EvalCli) -> None:
    env = {"SIGHTLINE_ENDPOINT": cli.server.base_url, "PANDAPROBE_ENDPOINT": unused_url()}
    result = await cli("metrics", env=env)
    assert result.code == 0, result
    assert "task_completion" in result.out


async def test_with_no_endpoint_setting_the_default_is_named_with_how_to_change_it(
    cli: EvalCli,
) -> None:
    result = await cli("metrics", env={})
    assert result.code != 0, result
    # Nothing listens on 8000 here: "cannot reach ..."; if something does, its 401 or 404 is
    # followed by the same naming of the server, which is the point either way.
    assert (
        "http://127.0.0.1:8000 (the default; set --endpoint or one of SIGHTLINE_ENDPOINT, "
        "PANDAPROBE_ENDPOINT)"
    ) in result.err, result
