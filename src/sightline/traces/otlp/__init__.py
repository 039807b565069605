"""OTLP/HTTP trace ingestion (`POST /v1/traces`): `codec` decodes the export request
(protobuf or OTLP JSON, gzip bounded by the body limit) and encodes the answer, `mapping`
turns one OTLP span into a Sightline span (with `attributes` and `messages`), `pieces`
assembles a request's spans into traces, `service` resolves each resource's project and
writes through the ingestion writer (traces/ingest)."""
