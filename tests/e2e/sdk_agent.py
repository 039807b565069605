"""An agent instrumented with the unchanged `pandaprobe` SDK, run as its own process.

Configured only through PANDAPROBE_ENDPOINT / PANDAPROBE_API_KEY / PANDAPROBE_PROJECT_NAME,
exactly as the README's quickstart. Prints the IDs of the traces it produced as JSON.
"""

from __future__ import annotations

import json
import os

import pandaprobe
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam
from pandaprobe.wrappers import wrap_openai


@pandaprobe.span(kind="TOOL", name="search_docs")
def search_docs(query: str) -> dict[str, object]:
    return {"hits": [f"doc about {query}"], "count": 1}


@pandaprobe.span(kind="LLM", name="chat", model="gpt-4o-mini")
def call_llm(question: str, context: dict[str, object]) -> dict[str, object]:
    return {"messages": [{"role": "assistant", "content": f"Answer to {question} using {context}"}]}


@pandaprobe.trace(name="support-agent", tags=["e2e", "decorated"])
def agent(question: str) -> dict[str, object]:
    context = search_docs(question)
    return call_llm(question, context)


def ask_openai(base_url: str) -> str:
    """A wrapped OpenAI client (the fake server): its LLM span has tokens but no cost."""
    client = wrap_openai(OpenAI(api_key="sk-fake", base_url=base_url))
    question: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "what does sightline cost?"}
    ]
    with pandaprobe.start_trace("openai-call", input={"messages": question}) as call:
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=question)
        reply = {"role": "assistant", "content": answer.choices[0].message.content}
        call.set_output({"messages": [reply]})
        return str(call.trace_id)


def main() -> None:
    ids: dict[str, str] = {}
    agent("how do I reset my password?")
    ids["openai_trace"] = ask_openai(os.environ["FAKE_OPENAI_BASE_URL"])

    with (
        pandaprobe.session("conv-42"),
        pandaprobe.start_trace(
            "chat-turn", input={"messages": [{"role": "user", "content": "hi"}]}, user_id="u-1"
        ) as turn,
    ):
        with turn.span("llm-call", kind="LLM") as llm:
            llm.set_model("gpt-4o-mini")
            llm.set_input({"messages": [{"role": "user", "content": "hi"}]})
            llm.set_output({"messages": [{"role": "assistant", "content": "hello!"}]})
            llm.set_token_usage(prompt_tokens=12, completion_tokens=5, reasoning_tokens=2)
            llm.set_cost(total=0.0015)
        turn.set_output({"messages": [{"role": "assistant", "content": "hello!"}]})
        ids["session_trace"] = turn.trace_id

    try:
        with pandaprobe.start_trace("failing-agent") as failing:
            ids["error_trace"] = failing.trace_id
            with failing.span("flaky-tool", kind="TOOL"):
                raise RuntimeError("tool exploded")
    except RuntimeError:
        pass

    pandaprobe.score(ids["session_trace"], "helpfulness", "0.9", reason="from the SDK")
    pandaprobe.flush()
    pandaprobe.shutdown()
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
