"""What an export came to: OTLP answers it as ExportTraceServiceResponse.partial_success."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_REASONS = 5
MAX_REASON_CHARS = 300


@dataclass
class ExportOutcome:
    accepted_spans: int = 0
    rejected_spans: int = 0
    reasons: list[str] = field(default_factory=list)

    def refuse(self, spans: int, reason: str) -> None:
        self.rejected_spans += spans
        reason = reason[:MAX_REASON_CHARS]
        if reason not in self.reasons and len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)

    @property
    def error_message(self) -> str:
        if not self.rejected_spans:
            return ""
        return f"{self.rejected_spans} span(s) rejected: " + "; ".join(self.reasons)
