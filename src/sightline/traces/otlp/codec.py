"""The wire formats of OTLP/HTTP: an ExportTraceServiceRequest as protobuf or as OTLP JSON
(protobuf's JSON mapping, except that trace and span IDs are hex, not base64), optionally
gzipped; the answer in the request's encoding."""

from __future__ import annotations

import base64
import binascii
import zlib
from enum import StrEnum
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from sightline.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType


class Encoding(StrEnum):
    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"


_ID_KEYS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")


def encoding_of(content_type: str | None) -> Encoding:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("application/x-protobuf", "application/protobuf"):
        return Encoding.PROTOBUF
    if media == Encoding.JSON:
        return Encoding.JSON
    raise UnsupportedMediaType(
        f"Content-Type must be application/x-protobuf or application/json, not {media!r}."
    )


def inflate(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """The body as sent, gunzipped when it says so; what it inflates to is bounded by the
    body limit, so a gzip bomb costs at most that much memory and is refused."""
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding != "gzip":
        raise UnsupportedMediaType(f"Content-Encoding must be gzip or none, not {coding!r}.")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise BadRequest(f"The body is not valid gzip: {exc}.") from None
    if len(plain) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"The decompressed body exceeds the limit of {max_bytes} bytes.")
    if not inflater.eof:
        raise BadRequest("The body is not valid gzip: it ends early.")
    return plain


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP JSON writes IDs as hex; protobuf's JSON reader expects bytes as base64."""
    if isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise BadRequest(f"{key} must be hex, not {value[:40]!r}.") from None
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value)


def decode(body: bytes, encoding: Encoding) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if encoding is Encoding.PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise BadRequest(f"The body is not an ExportTraceServiceRequest: {exc}.") from None
        return request
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The body is not JSON: {exc}.") from None
    if not isinstance(parsed, dict):
        raise BadRequest("The body must be a JSON object (an ExportTraceServiceRequest).")
    _hex_ids_to_base64(parsed.get("resourceSpans", parsed.get("resource_spans")))
    try:
        # Unknown fields are ignored, as OTLP asks of receivers.
        json_format.ParseDict(parsed, request, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as exc:
        raise BadRequest(f"The body is not an ExportTraceServiceRequest: {exc}.") from None
    return request


def encode_response(rejected_spans: int, error_message: str, encoding: Encoding) -> bytes:
    response = ExportTraceServiceResponse()
    if rejected_spans or error_message:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected_spans, error_message=error_message)
        )
    if encoding is Encoding.PROTOBUF:
        return response.SerializeToString()
    return orjson.dumps(json_format.MessageToDict(response))
