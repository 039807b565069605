"""All ORM models; importing this module registers every table on Base.metadata."""

from sightline.db.models.annotations import AnnotationQueue, AnnotationQueueItem
from sightline.db.models.base import Base
from sightline.db.models.custom_metrics import CustomMetric
from sightline.db.models.evals import EvalRun, EvalTask, JudgeCacheEntry, SessionScore, TraceScore
from sightline.db.models.identity import ApiKey, DashboardSession, Organization, Project
from sightline.db.models.monitors import EvalMonitor
from sightline.db.models.traces import Span, Trace, TraceTag

__all__ = [
    "AnnotationQueue",
    "AnnotationQueueItem",
    "ApiKey",
    "Base",
    "CustomMetric",
    "DashboardSession",
    "EvalMonitor",
    "EvalRun",
    "EvalTask",
    "JudgeCacheEntry",
    "Organization",
    "Project",
    "SessionScore",
    "Span",
    "Trace",
    "TraceScore",
    "TraceTag",
]
