"""Monitor cadences: validation and the next due time, always in UTC.

A cadence is ``every_6h``, ``daily``, ``weekly`` or ``cron:<expression>``. Schedules advance
from the time a monitor was *due*, not from when a scheduler happened to notice it, so a
monitor never drifts; and a monitor that missed several due times (the scheduler was down)
is moved to the first due time after now, so it fires once, not once per missed tick.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from sightline.errors import DomainValidationError

PRESETS: dict[str, timedelta] = {
    "every_6h": timedelta(hours=6),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
}
CRON_PREFIX = "cron:"
MAX_CADENCE_LENGTH = 100


def _invalid(value: str) -> DomainValidationError:
    return DomainValidationError(
        f"Invalid cadence '{value}'. Must be one of {sorted(PRESETS)} or 'cron:<expression>'."
    )


def normalize_cadence(value: str) -> str:
    """The stored form of a cadence, or a 422 that says what is wrong with it."""
    if len(value) > MAX_CADENCE_LENGTH:
        raise DomainValidationError(
            f"Cadence is too long ({len(value)} characters; at most {MAX_CADENCE_LENGTH})."
        )
    stripped = value.strip()
    if stripped in PRESETS:
        return stripped
    if not stripped.startswith(CRON_PREFIX):
        raise _invalid(value)
    expression = stripped[len(CRON_PREFIX) :].strip()
    if not expression:
        raise DomainValidationError("Cron expression must not be empty after 'cron:' prefix.")
    if not croniter.is_valid(expression):
        raise DomainValidationError(f"Invalid cron expression: '{expression}'")
    try:  # e.g. "0 0 31 2 *" is well-formed but never matches
        _cron_after(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except (CroniterBadDateError, CroniterBadCronError) as exc:
        raise DomainValidationError(
            f"Invalid cron expression: '{expression}' never matches a date"
        ) from exc
    return CRON_PREFIX + expression


def _cron_after(expression: str, after: datetime) -> datetime:
    result: datetime = croniter(expression, after.astimezone(UTC)).get_next(datetime)
    return result.astimezone(UTC)


def next_after(cadence: str, after: datetime) -> datetime:
    """The first due time strictly after ``after`` (creation, resume or a cadence change)."""
    if cadence in PRESETS:
        return after.astimezone(UTC) + PRESETS[cadence]
    return _cron_after(cadence[len(CRON_PREFIX) :], after)


def advance(cadence: str, scheduled: datetime, now: datetime) -> datetime:
    """The due time after ``scheduled`` that lies in the future: on the same grid as
    ``scheduled`` (no drift) and past ``now`` (missed due times collapse into one firing)."""
    scheduled = scheduled.astimezone(UTC)
    if cadence in PRESETS:
        step = PRESETS[cadence]
        missed = max(0, (now - scheduled) // step)
        return scheduled + (missed + 1) * step
    following = next_after(cadence, scheduled)
    return following if following > now else next_after(cadence, now)
