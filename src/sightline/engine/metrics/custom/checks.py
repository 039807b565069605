"""The deterministic checks: no judge call, cost 0, a BOOLEAN answer with its reason.

Each check reads one trace; in a session run it reads the session's traces as one whole:
the text checks (``regex``, ``contains``, ``json_schema``) must hold on every trace, the
``threshold`` measures and the ``tool_called`` counts add up over the traces.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import jsonschema
import jsonschema.exceptions

from sightline.engine.metrics.custom.config import (
    AnyConfig,
    ContainsConfig,
    JsonSchemaConfig,
    Kind,
    RegexConfig,
    ThresholdConfig,
    ToolCalledConfig,
    compile_pattern,
)
from sightline.engine.metrics.custom.fields import (
    field_text,
    is_missing,
    json_value,
    measure,
    resolve_pointer,
)
from sightline.engine.metrics.tools import extract_tool_use
from sightline.engine.render import clip
from sightline.engine.views import TraceView

REASON_CHARS = 500
SNIPPET_CHARS = 80
LISTED = 5  # phrases, tools or traces named in a reason
ConfigT = TypeVar("ConfigT", bound=AnyConfig)


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool | None  # None: nothing to check (not applicable)
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def _quoted(items: Sequence[str]) -> str:
    shown = ", ".join(repr(item) for item in items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


class Check(ABC, Generic[ConfigT]):
    kind: ClassVar[Kind]
    per_trace: ClassVar[bool] = True  # a session passes when each of its traces passes

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    def on_trace(self, trace: TraceView) -> Verdict:
        return self.on_traces([trace])

    def on_traces(self, traces: Sequence[TraceView]) -> Verdict:
        if not self.per_trace:
            return self._whole(traces)
        if len(traces) == 1:
            return self._one(traces[0])
        verdicts = [(trace.trace_id, self._one(trace)) for trace in traces]
        judged = [(tid, v) for tid, v in verdicts if v.passed is not None]
        if not judged:
            return Verdict(None, "no trace of the session has anything to check")
        failed = [(tid, v) for tid, v in judged if not v.passed]
        details = {"traces": len(judged), "failed_traces": [tid for tid, _ in failed][:20]}
        if not failed:
            return Verdict(True, f"all {len(judged)} traces pass", details)
        first_id, first = failed[0]
        said = f"{len(failed)} of {len(judged)} traces fail; {first_id}: {first.reason}"
        return Verdict(False, said, details)

    def _one(self, trace: TraceView) -> Verdict:
        raise NotImplementedError

    def _whole(self, traces: Sequence[TraceView]) -> Verdict:
        raise NotImplementedError


class RegexCheck(Check[RegexConfig]):
    kind = Kind.REGEX

    def _one(self, trace: TraceView) -> Verdict:
        config = self.config
        text = field_text(trace, config.field)
        found = compile_pattern(config.pattern).search(text)
        if found is None:
            what = f"{config.field} has no match for {config.pattern!r}"
            return Verdict(not config.must_match, what, {"matched": False})
        snippet = clip(found.group(0), SNIPPET_CHARS)
        what = f"{config.field} matches {config.pattern!r} at {found.start()}: {snippet!r}"
        return Verdict(config.must_match, what, {"matched": True, "at": found.start()})


class ContainsCheck(Check[ContainsConfig]):
    kind = Kind.CONTAINS

    def _one(self, trace: TraceView) -> Verdict:
        config = self.config
        text = field_text(trace, config.field)
        if not config.case_sensitive:
            text = text.casefold()
        found: list[str] = []
        missing: list[str] = []
        for phrase in config.phrases:
            wanted = phrase if config.case_sensitive else phrase.casefold()
            (found if wanted in text else missing).append(phrase)
        details = {"found": found[:20], "missing": missing[:20]}
        total = len(config.phrases)
        where = config.field
        if config.mode == "all":
            if missing:
                return Verdict(
                    False, f"{where} lacks {len(missing)} of {total}: {_quoted(missing)}", details
                )
            return Verdict(True, f"{where} has all {total} phrases", details)
        if config.mode == "any":
            if found:
                return Verdict(True, f"{where} has {_quoted(found)}", details)
            return Verdict(False, f"{where} has none of the {total} phrases", details)
        if found:
            return Verdict(False, f"{where} has forbidden {_quoted(found)}", details)
        return Verdict(True, f"{where} has none of the {total} forbidden phrases", details)


class JsonSchemaCheck(Check[JsonSchemaConfig]):
    kind = Kind.JSON_SCHEMA

    def __init__(self, config: JsonSchemaConfig) -> None:
        super().__init__(config)
        schema = config.json_schema
        self._validator = jsonschema.validators.validator_for(schema)(schema)

    def _one(self, trace: TraceView) -> Verdict:
        config = self.config
        value, problem = json_value(trace, config.field)
        if problem is not None:
            return Verdict(False, problem)
        where = config.field + config.pointer
        target = resolve_pointer(value, config.pointer)
        if is_missing(target):
            return Verdict(False, f"the {config.field} has nothing at {config.pointer}")
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(target))
        if error is None:
            return Verdict(True, f"{where} is valid against the schema")
        path = "".join(f"/{part}" for part in error.absolute_path)
        return Verdict(
            False,
            f"{where} is not valid: {error.message}" + (f" (at {path})" if path else ""),
            {"error_path": path, "schema_path": "/".join(map(str, error.schema_path))},
        )


class ThresholdCheck(Check[ThresholdConfig]):
    kind = Kind.THRESHOLD
    per_trace = False  # a session's measure is the sum over its traces

    def _whole(self, traces: Sequence[TraceView]) -> Verdict:
        config = self.config
        value = measure(traces, config.measure)
        name = config.measure.value
        if value is None:
            return Verdict(None, f"no {name}: a trace has no end time")
        details = {"measure": name, "value": round(value, 8), "max": config.max, "min": config.min}
        shown = f"{name} = {value:g}"
        if config.max is not None and value > config.max:
            return Verdict(False, f"{shown} is above the max {config.max:g}", details)
        if config.min is not None and value < config.min:
            return Verdict(False, f"{shown} is below the min {config.min:g}", details)
        bounds = [f">= {config.min:g}"] if config.min is not None else []
        bounds += [f"<= {config.max:g}"] if config.max is not None else []
        return Verdict(True, f"{shown} is {' and '.join(bounds)}", details)


class ToolCalledCheck(Check[ToolCalledConfig]):
    kind = Kind.TOOL_CALLED
    per_trace = False  # a session's calls are counted over its traces

    def _whole(self, traces: Sequence[TraceView]) -> Verdict:
        config = self.config
        names = [name for trace in traces for name in _tool_names(trace)]
        count = names.count(config.tool)
        details = {"tool": config.tool, "times": count, "calls": len(names)}
        said = f"{config.tool} was called {count} time{'s' if count != 1 else ''}"
        if not config.called:
            return Verdict(count == 0, said if count else f"{config.tool} was not called", details)
        lower = config.min_times or 1
        if count < lower:
            others = sorted(set(names) - {config.tool})
            tail = f"; called: {_quoted(others)}" if others else "; no tool was called"
            return Verdict(False, f"{said}, fewer than {lower}{tail}", details)
        if config.max_times is not None and count > config.max_times:
            return Verdict(False, f"{said}, more than {config.max_times}", details)
        return Verdict(True, said, details)


def _tool_names(trace: TraceView) -> list[str]:
    """The names ``extract_tool_use`` gives the calls (TOOL spans, else the assistant
    messages' tool_calls), without reading the tools the agent had."""
    names = [span.name for span in trace.spans if span.kind == "TOOL"]
    return names or [call.name for call in extract_tool_use(trace).calls]


CHECKS: dict[Kind, type[Check[Any]]] = {
    Kind.REGEX: RegexCheck,
    Kind.CONTAINS: ContainsCheck,
    Kind.JSON_SCHEMA: JsonSchemaCheck,
    Kind.THRESHOLD: ThresholdCheck,
    Kind.TOOL_CALLED: ToolCalledCheck,
}


def reason_of(verdict: Verdict) -> str:
    return clip(verdict.reason, REASON_CHARS)
