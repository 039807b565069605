"""The status vocabularies, one `StrEnum` each, used by models, queries and schemas alike.
A member is a `str`, so it is stored, compared and serialised as its value."""

from __future__ import annotations

from enum import StrEnum


class TraceStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"


class SpanStatus(StrEnum):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


class TargetType(StrEnum):
    """What an evaluation run evaluates."""

    TRACE = "TRACE"
    SESSION = "SESSION"


class RunStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


UNFINISHED_RUN_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)


class TaskStatus(StrEnum):
    """One (target, metric) pair of a run."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


UNFINISHED_TASK_STATUSES = (TaskStatus.PENDING, TaskStatus.RUNNING)


class ScoreStatus(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    PENDING = "PENDING"


class ScoreSource(StrEnum):
    AUTOMATED = "AUTOMATED"
    ANNOTATION = "ANNOTATION"
    PROGRAMMATIC = "PROGRAMMATIC"


class ScoreDataType(StrEnum):
    NUMERIC = "NUMERIC"
    BOOLEAN = "BOOLEAN"
    CATEGORICAL = "CATEGORICAL"


class MonitorStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


class AnnotationItemStatus(StrEnum):
    """One trace of an annotation queue: waiting for a reviewer, annotated, or skipped."""

    PENDING = "PENDING"
    DONE = "DONE"
    SKIPPED = "SKIPPED"
