"""POST /v1/traces, the OTLP/HTTP traces endpoint (what OTEL_EXPORTER_OTLP_ENDPOINT plus
/v1/traces reaches). Not in the OpenAPI document: its bodies are protobuf or OTLP JSON,
described by the OTLP specification rather than a JSON schema."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sightline.dependencies import SettingsDep
from sightline.traces.otlp import codec, service
from sightline.traces.otlp.dependencies import CallerDep

router = APIRouter(tags=["otlp"])


@router.post("/v1/traces", include_in_schema=False)
async def export_traces(request: Request, caller: CallerDep, settings: SettingsDep) -> Response:
    """Credentials (401), then the content type (415), the body (413, 400); the spans it
    could not store are reported in partial_success."""
    encoding = codec.encoding_of(request.headers.get("content-type"))
    body = codec.inflate(
        await request.body(), request.headers.get("content-encoding"), settings.max_body_bytes
    )
    outcome = await service.export(
        request.app.state.trace_writer,
        request.app.state.rate_limiter,
        caller,
        codec.decode(body, encoding),
    )
    content = codec.encode_response(outcome.rejected_spans, outcome.error_message, encoding)
    return Response(content, media_type=encoding.value)
