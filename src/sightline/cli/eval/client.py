"""How `sightline eval` reaches the server: the URL and where it came from, the key and
project options, and one call that turns transport and HTTP errors into a message and an
exit code."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import typer
from rich.markup import escape

from sightline.cli.eval.display import errors
from sightline.config import CLI_ENDPOINT_ENV_VARS, first_set_env_var

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
DEFAULT_SOURCE = "default"

# Click reads the env vars (first non-empty wins); config.py only names the one it used.
EndpointOption = typer.Option(
    DEFAULT_ENDPOINT,
    "--endpoint",
    envvar=list(CLI_ENDPOINT_ENV_VARS),
    help="Server URL; else the first of these env vars that is set; else the default.",
)
ApiKeyOption = typer.Option(..., "--api-key", envvar="PANDAPROBE_API_KEY", help="API key.")
ProjectOption = typer.Option(
    ..., "--project", envvar="PANDAPROBE_PROJECT_NAME", help="Project name."
)


@dataclass(frozen=True)
class Endpoint:
    url: str
    source: str  # "--endpoint", an env var's name, or DEFAULT_SOURCE

    def origin(self) -> str:
        """Where the URL came from, worded for an error message."""
        if self.source == DEFAULT_SOURCE:
            names = ", ".join(CLI_ENDPOINT_ENV_VARS)
            return f"the default; set --endpoint or one of {names}"
        return f"from {self.source}"


def endpoint_of(ctx: typer.Context, url: str) -> Endpoint:
    """The command's --endpoint value and its source (the option is named ``endpoint``)."""
    # By name: Typer ships its own copy of Click, whose enum is not public API.
    source = ctx.get_parameter_source("endpoint")
    kind = source.name if source is not None else "DEFAULT"
    if kind == "ENVIRONMENT":
        return Endpoint(url, first_set_env_var(CLI_ENDPOINT_ENV_VARS) or "the environment")
    if kind in ("DEFAULT", "DEFAULT_MAP"):
        return Endpoint(url, DEFAULT_SOURCE)
    return Endpoint(url, "--endpoint")


class Api:
    """A project-scoped client of one server; every failure ends the command."""

    def __init__(self, endpoint: Endpoint, api_key: str, project: str) -> None:
        self.endpoint = endpoint
        self.project = project
        self._http = httpx.Client(
            base_url=endpoint.url.rstrip("/"),
            headers={"X-API-Key": api_key, "X-Project-Name": project},
            timeout=30.0,
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.close()

    def status_of(self, path: str) -> int:
        """Only the status code (for probing which kind a run is)."""
        return self._send("GET", path).status_code

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            errors.print(
                f"[red]error {response.status_code}:[/red] {escape(error_detail(response))}"
            )
            if response.status_code in (401, 404):
                # Either can mean "not the server you meant" (another one on the default port).
                errors.print(f"server: {self.endpoint.url} ({escape(self.endpoint.origin())})")
            raise typer.Exit(1)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            errors.print(
                f"[red]error:[/red] cannot reach {escape(self.endpoint.url)} "
                f"({escape(self.endpoint.origin())}): {escape(str(exc))}"
            )
            raise typer.Exit(2) from None


def connect(ctx: typer.Context, endpoint: str, api_key: str, project: str) -> Api:
    return Api(endpoint_of(ctx, endpoint), api_key, project)


def error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    problems = body.get("errors") if isinstance(body, dict) else None
    if problems:
        return "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in problems)
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
