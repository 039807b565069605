"""Organizations, API keys and the resolution of credentials into a project scope."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import ApiKey, Organization, Project
from sightline.db.session import SessionFactory, transaction
from sightline.db.types import utcnow
from sightline.errors import Conflict, DomainValidationError, NotFound, Unauthorized
from sightline.identity import keys, repository
from sightline.identity.schemas import PROJECT_NAME_RULE, CreatedKey, Scope

logger = logging.getLogger("sightline")

MISSING_CREDENTIALS = (
    "Missing credentials. Provide Authorization: Bearer <token> (with X-Project-ID) "
    "or X-API-Key header."
)
DEFAULT_PROJECT = "default"  # what the dashboard opens in an organization without projects
PROJECT_SCOPE_REQUIRED = (
    "Project scope required. Provide X-Project-ID (Bearer) or X-Project-Name (API key)."
)


async def create_org(db: AsyncSession, name: str) -> Organization:
    name = name.strip()
    if not name or len(name) > 255:
        raise DomainValidationError("Organization name must be 1-255 characters.")
    if await repository.get_org_by_name(db, name) is not None:
        raise Conflict(f"Organization '{name}' already exists.")
    org = Organization(id=uuid.uuid4(), name=name)
    await repository.add(db, org)
    return org


async def create_key(
    db: AsyncSession, org: Organization, name: str, raw_key: str | None = None
) -> CreatedKey:
    raw = raw_key or keys.generate_key()
    if await repository.get_key_by_hash(db, keys.hash_key(raw)) is not None:
        raise Conflict("That API key already exists.")
    row = ApiKey(
        id=uuid.uuid4(),
        org_id=org.id,
        name=name,
        key_hash=keys.hash_key(raw),
        key_prefix=keys.display_prefix(raw),
        is_active=True,
    )
    await repository.add(db, row)
    return CreatedKey(id=row.id, org_id=org.id, name=name, raw_key=raw, key_prefix=row.key_prefix)


async def revoke_key(db: AsyncSession, ident: str) -> ApiKey:
    row = await repository.get_key_by_id_or_prefix(db, ident)
    if row is None:
        raise NotFound(f"API key {ident} not found.")
    row.is_active = False
    await db.flush()
    return row


async def ensure_org_with_key(db: AsyncSession, org_name: str, raw_key: str) -> bool:
    """Idempotent headless provisioning; returns True when something was created."""
    created = False
    org = await repository.get_org_by_name(db, org_name)
    if org is None:
        org = await create_org(db, org_name)
        created = True
    existing = await repository.get_key_by_hash(db, keys.hash_key(raw_key))
    if existing is None:
        await create_key(db, org, "init", raw_key)
        created = True
    elif existing.org_id != org.id:
        raise Conflict("SIGHTLINE_INIT_API_KEY already belongs to another organization.")
    return created


async def list_projects(db: AsyncSession, org_id: uuid.UUID) -> Sequence[Project]:
    return await repository.list_projects(db, org_id)


# -- an organization's own keys and projects (the dashboard's settings) ------------------
MAX_KEY_NAME = 255


async def list_org_keys(db: AsyncSession, org_id: uuid.UUID) -> Sequence[ApiKey]:
    return await repository.list_keys(db, org_id)


async def create_org_key(db: AsyncSession, org_id: uuid.UUID, name: str) -> CreatedKey:
    """A new key of the organization; its raw value exists only in the returned object."""
    name = name.strip()
    if not name or len(name) > MAX_KEY_NAME:
        raise DomainValidationError(f"Key name must be 1-{MAX_KEY_NAME} characters.")
    org = await repository.get_org(db, org_id)
    if org is None:
        raise NotFound(f"Organization {org_id} not found.")
    return await create_key(db, org, name)


async def revoke_org_key(db: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Revoke one of the organization's keys (idempotent); another organization's is a 404."""
    row = await repository.get_org_key(db, org_id, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found.")
    row.is_active = False
    await db.flush()
    return row


async def create_project(db: AsyncSession, org_id: uuid.UUID, raw_name: str) -> Project:
    name = validate_project_name(raw_name)
    if await repository.get_project_by_name(db, org_id, name) is not None:
        raise Conflict(f"Project '{name}' already exists.")
    project = Project(id=uuid.uuid4(), org_id=org_id, name=name)
    await repository.add(db, project)
    return project


# -- the dashboard's signed-in sessions ------------------------------------------------


async def start_dashboard_session(
    db: AsyncSession, session_id: str, key_id: uuid.UUID, max_age: timedelta
) -> None:
    """Record a sign-in (and forget the sessions that expired meanwhile)."""
    await repository.delete_dashboard_sessions_before(db, utcnow() - max_age)
    await repository.add_dashboard_session(db, session_id, key_id)


async def dashboard_session_is_live(
    db: AsyncSession, session_id: str, key_id: uuid.UUID, max_age: timedelta
) -> bool:
    """Signed in with this key, not signed out since, and not expired."""
    return await repository.dashboard_session_is_live(db, session_id, key_id, utcnow() - max_age)


async def end_dashboard_session(db: AsyncSession, session_id: str) -> None:
    await repository.delete_dashboard_session(db, session_id)


async def bootstrap_first_org(db: AsyncSession) -> CreatedKey | None:
    """On an empty database, create an organization and a key so a first start is usable."""
    if await repository.any_org_exists(db):
        return None
    org = await create_org(db, "default")
    return await create_key(db, org, "default")


def validate_project_name(raw: str) -> str:
    name = raw.strip()
    if not PROJECT_NAME_RULE.match(name):
        raise DomainValidationError(
            "X-Project-Name must be 1-255 characters, start and end with a letter or digit, "
            "and contain only letters, digits, spaces, '_', '.', \"'\" and '-'."
        )
    return name


@dataclass(slots=True)
class _CachedKey:
    key_id: uuid.UUID
    org_id: uuid.UUID
    expires_at: datetime | None
    fetched: float


class AuthResolver:
    """Turns credentials into a Scope.

    Key and project lookups are cached for `cache_seconds` so ingestion does not pay a query
    per request (a revoked key stops working within that window). last_used_at is buffered in
    memory and written by `flush_usage` in its own short transaction, never inside a request's
    transaction, so concurrent requests with one key never queue on that row's lock.
    """

    def __init__(self, factory: SessionFactory, cache_seconds: float = 5.0) -> None:
        self._factory = factory
        self._cache_seconds = cache_seconds
        self._keys: dict[str, _CachedKey] = {}
        self._projects: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
        self._project_ids: dict[uuid.UUID, set[uuid.UUID]] = {}  # projects never move
        self._pending_usage: dict[uuid.UUID, datetime] = {}

    async def resolve_api_key(self, raw_key: str, project_name: str | None) -> Scope:
        cached = await self._lookup_key(raw_key)
        if not project_name or not project_name.strip():
            raise DomainValidationError(PROJECT_SCOPE_REQUIRED)
        name = validate_project_name(project_name)
        project_id = await self._project_by_name(cached.org_id, name)
        self._pending_usage[cached.key_id] = utcnow()
        return Scope(org_id=cached.org_id, project_id=project_id, key_id=cached.key_id)

    async def resolve_bearer(
        self, raw_key: str, project_id_header: str | None, project_name: str | None
    ) -> Scope:
        """Bearer carries an API key here (Sightline has no external IdP)."""
        if project_id_header:
            cached = await self._lookup_key(raw_key)
            try:
                project_id = uuid.UUID(project_id_header)
            except ValueError as exc:
                raise DomainValidationError("X-Project-ID must be a valid UUID.") from exc
            async with transaction(self._factory) as db:
                project = await repository.get_project_by_id(db, cached.org_id, project_id)
            if project is None:
                raise DomainValidationError(
                    "Project not found or does not belong to your organization."
                )
            self._pending_usage[cached.key_id] = utcnow()
            return Scope(org_id=cached.org_id, project_id=project.id, key_id=cached.key_id)
        return await self.resolve_api_key(raw_key, project_name)

    async def resolve_key_hash(self, key_hash: str, project_id: uuid.UUID | None = None) -> Scope:
        """The dashboard's session: a key known by its hash (the cookie never holds the raw
        key), re-checked like any key, so revoking it ends its sessions within the cache
        time. ``project_id`` must be of the key's organization (NotFound otherwise); None
        picks the organization's first project, creating `default` in an empty one."""
        cached = await self._lookup_hash(key_hash)
        if project_id is None:
            async with transaction(self._factory) as db:
                projects = await repository.list_projects(db, cached.org_id)
            found = (
                projects[0].id
                if projects
                else await self._project_by_name(cached.org_id, DEFAULT_PROJECT)
            )
        else:
            found = await self._project_in_org(cached.org_id, project_id)
        return Scope(org_id=cached.org_id, project_id=found, key_id=cached.key_id)

    async def _project_in_org(self, org_id: uuid.UUID, project_id: uuid.UUID) -> uuid.UUID:
        if project_id in self._project_ids.get(org_id, ()):
            return project_id
        async with transaction(self._factory) as db:
            project = await repository.get_project_by_id(db, org_id, project_id)
        if project is None:
            raise NotFound(f"Project {project_id} not found.")
        self._project_ids.setdefault(org_id, set()).add(project_id)
        return project_id

    async def authenticate(self, raw_key: str) -> None:
        """Checks the key alone (401 unless it is valid), for a caller that names its
        project later: an OTLP export names it in the body, per resource."""
        await self._lookup_key(raw_key)

    async def _lookup_key(self, raw_key: str) -> _CachedKey:
        return await self._lookup_hash(keys.hash_key(raw_key))

    async def _lookup_hash(self, key_hash: str) -> _CachedKey:
        now = time.monotonic()
        cached = self._keys.get(key_hash)
        if cached is None or now - cached.fetched > self._cache_seconds:
            async with transaction(self._factory) as db:
                row = await repository.get_key_by_hash(db, key_hash)
            if row is None or not row.is_active:
                self._keys.pop(key_hash, None)
                raise Unauthorized("Invalid or revoked API key.")
            cached = _CachedKey(row.id, row.org_id, row.expires_at, now)
            self._keys[key_hash] = cached
        if cached.expires_at is not None and cached.expires_at <= utcnow():
            raise Unauthorized("API key has expired. Please generate a new one.")
        return cached

    async def _project_by_name(self, org_id: uuid.UUID, name: str) -> uuid.UUID:
        project_id = self._projects.get((org_id, name))
        if project_id is not None:
            return project_id
        project = await self._read_project(org_id, name)
        if project is None:
            async with transaction(self._factory) as db:
                await repository.insert_project_if_absent(db, org_id, name)
            project = await self._read_project(org_id, name)
        assert project is not None
        self._projects[(org_id, name)] = project.id
        return project.id

    async def _read_project(self, org_id: uuid.UUID, name: str) -> Project | None:
        async with transaction(self._factory) as db:
            return await repository.get_project_by_name(db, org_id, name)

    async def flush_usage(self) -> None:
        if not self._pending_usage:
            return
        pending, self._pending_usage = self._pending_usage, {}
        async with transaction(self._factory) as db:
            await repository.touch_keys(db, pending)


async def provision(settings: Settings, factory: SessionFactory) -> None:
    """At start-up: the organization and key of SIGHTLINE_INIT_* (idempotent), else, on an
    empty database, a first organization whose key is printed once."""
    async with transaction(factory) as db:
        if settings.init_org and settings.init_api_key:
            if await ensure_org_with_key(db, settings.init_org, settings.init_api_key):
                logger.info("provisioned organization %r from SIGHTLINE_INIT_*", settings.init_org)
            return
        created = await bootstrap_first_org(db)
    if created is not None:
        # Printed, not logged: this is the only time the raw key is ever shown.
        print(
            "\nSightline created organization 'default' and an API key (shown only once):\n"
            f"  {created.raw_key}\n"
            f"Sign in to the dashboard at http://{settings.host}:{settings.port}/ui with it,\n"
            "and use it as PANDAPROBE_API_KEY.\n",
            flush=True,
        )
