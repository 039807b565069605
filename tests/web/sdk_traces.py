"""Traces sent by the unchanged `pandaprobe` SDK, run as its own process for the dashboard's
browser test (configured by PANDAPROBE_* only). Prints the trace IDs as JSON."""

from __future__ import annotations

import json

import pandaprobe

UNTRUSTED = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def main() -> None:
    ids: dict[str, str] = {}
    for number in (1, 2, 3):
        with pandaprobe.start_trace(
            f"support-agent-{number}",
            input={"messages": [{"role": "user", "content": f"question {number}"}]},
            tags=["browser"],
        ) as trace:
            with trace.span("search_docs", kind="TOOL") as tool:
                tool.set_input({"query": f"docs for question {number}"})
                tool.set_output({"hits": ["a doc"]})
            with trace.span("answer", kind="LLM") as llm:
                llm.set_model("gpt-4o-mini")
                llm.set_input({"messages": [{"role": "user", "content": f"question {number}"}]})
                llm.set_output({"messages": [{"role": "assistant", "content": "an answer"}]})
                llm.set_token_usage(prompt_tokens=20, completion_tokens=8)
            trace.set_output({"messages": [{"role": "assistant", "content": "an answer"}]})
            ids[f"agent_{number}"] = str(trace.trace_id)
    with pandaprobe.start_trace(
        UNTRUSTED, input={"messages": [{"role": "user", "content": "hi"}]}
    ) as bad:
        with bad.span(UNTRUSTED, kind="TOOL") as span:
            span.set_input(UNTRUSTED)
            span.set_output(UNTRUSTED)
        bad.set_output(UNTRUSTED)
        ids["untrusted"] = str(bad.trace_id)
    pandaprobe.flush()
    pandaprobe.shutdown()
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
