from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.cli._run import run_in_transaction
from sightline.errors import NotFound, SightlineError
from sightline.identity import repository, service
from sightline.identity.schemas import CreatedKey

orgs_app = typer.Typer(help="Manage organizations.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage organization API keys.", no_args_is_help=True)
console = Console()


def _fail(exc: SightlineError) -> None:
    console.print(f"[red]error:[/red] {exc.detail}")
    raise typer.Exit(1)


@orgs_app.command("create")
def orgs_create(name: str) -> None:
    """Create an organization."""

    async def work(db: AsyncSession) -> str:
        return str((await service.create_org(db, name)).id)

    try:
        org_id = run_in_transaction(work)
    except SightlineError as exc:
        _fail(exc)
    console.print(f"created organization [bold]{name}[/bold] ({org_id})")


@orgs_app.command("list")
def orgs_list() -> None:
    """List organizations."""

    async def work(db: AsyncSession) -> list[tuple[str, str, str]]:
        return [
            (str(o.id), o.name, o.created_at.isoformat()) for o in await repository.list_orgs(db)
        ]

    table = Table("id", "name", "created_at")
    for row in run_in_transaction(work):
        table.add_row(*row)
    console.print(table)


@keys_app.command("create")
def keys_create(
    org: str = typer.Option(..., "--org", help="Organization name."),
    name: str = typer.Option("cli", "--name", help="A label for the key."),
) -> None:
    """Create an API key; the raw key is printed once and never stored."""

    async def work(db: AsyncSession) -> CreatedKey:
        org_row = await repository.get_org_by_name(db, org)
        if org_row is None:
            raise NotFound(f"Organization '{org}' not found.")
        return await service.create_key(db, org_row, name)

    try:
        created = run_in_transaction(work)
    except SightlineError as exc:
        _fail(exc)
    console.print(f"key id {created.id} (prefix {created.key_prefix}); store it now:")
    typer.echo(created.raw_key)


@keys_app.command("list")
def keys_list(
    org: str | None = typer.Option(None, "--org", help="Only this organization."),
) -> None:
    """List API keys (prefixes only)."""

    async def work(db: AsyncSession) -> list[tuple[str, ...]]:
        org_id = None
        if org is not None:
            org_row = await repository.get_org_by_name(db, org)
            if org_row is None:
                raise NotFound(f"Organization '{org}' not found.")
            org_id = org_row.id
        return [
            (
                str(k.id),
                k.name,
                k.key_prefix,
                "active" if k.is_active else "revoked",
                k.last_used_at.isoformat() if k.last_used_at else "-",
            )
            for k in await repository.list_keys(db, org_id)
        ]

    try:
        rows = run_in_transaction(work)
    except SightlineError as exc:
        _fail(exc)
    table = Table("id", "name", "prefix", "status", "last_used_at")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key: str = typer.Argument(..., help="Key id or its display prefix.")) -> None:
    """Revoke an API key."""

    async def work(db: AsyncSession) -> str:
        return str((await service.revoke_key(db, key)).id)

    try:
        key_id = run_in_transaction(work)
    except SightlineError as exc:
        _fail(exc)
    console.print(f"revoked key {key_id}")
