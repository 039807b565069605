"""Cadence validation and due times over simulated days (pure; UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sightline.errors import DomainValidationError
from sightline.monitors.cadence import advance, next_after, normalize_cadence

T0 = datetime(2026, 3, 1, 10, 17, 42, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("daily", "daily"),
        (" weekly ", "weekly"),
        ("every_6h", "every_6h"),
        ("cron:  0 9 * * 1-5 ", "cron:0 9 * * 1-5"),
        ("cron:*/15 * * * *", "cron:*/15 * * * *"),
    ],
)
def test_valid_cadences(raw: str, stored: str) -> None:
    assert normalize_cadence(raw) == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("hourly", "Invalid cadence 'hourly'. Must be one of ['daily', 'every_6h', 'weekly']"),
        ("custom", "Invalid cadence"),
        ("cron:", "Cron expression must not be empty after 'cron:' prefix."),
        ("cron:   ", "must not be empty"),
        ("cron:61 * * * *", "Invalid cron expression: '61 * * * *'"),
        ("cron:not a cron", "Invalid cron expression"),
        ("cron:0 0 31 2 *", "never matches"),
        ("cron:" + "1," * 60 + "2 * * * *", "Cadence is too long"),
    ],
)
def test_invalid_cadences(raw: str, message: str) -> None:
    with pytest.raises(DomainValidationError) as error:
        normalize_cadence(raw)
    assert message in error.value.detail


def _simulate(cadence: str, start: datetime, days: int, tick: timedelta) -> list[datetime]:
    """Tick every ``tick`` for ``days``; return the due times that fired."""
    due = next_after(cadence, start)
    fired = []
    now = start
    while now < start + timedelta(days=days):
        now += tick
        if due <= now:
            fired.append(due)
            due = advance(cadence, due, now)
    return fired


def test_daily_preset_over_a_week_never_drifts() -> None:
    # A 7-minute tick notices each due time up to 7 minutes late; the schedule stays put.
    fired = _simulate("daily", T0, 7, timedelta(minutes=7))
    assert fired == [T0 + timedelta(days=d) for d in range(1, 8)]


def test_every_6h_over_three_days() -> None:
    fired = _simulate("every_6h", T0, 3, timedelta(minutes=30))
    assert fired == [T0 + timedelta(hours=6 * n) for n in range(1, 13)]


def test_cron_fires_on_its_wall_clock_times_in_utc() -> None:
    fired = _simulate("cron:0 9 * * *", T0, 3, timedelta(minutes=13))
    assert fired == [datetime(2026, 3, d, 9, 0, tzinfo=UTC) for d in (2, 3, 4)]
    weekdays = _simulate("cron:30 8 * * 1-5", T0, 7, timedelta(minutes=10))  # 1 Mar: a Sunday
    assert [d.day for d in weekdays] == [2, 3, 4, 5, 6]


def test_missed_due_times_fire_once_and_stay_on_the_grid() -> None:
    due = T0 + timedelta(days=1)
    # the scheduler was down for 4.5 days: one firing, then the next grid point after now
    now = due + timedelta(days=4, hours=12)
    assert advance("daily", due, now) == T0 + timedelta(days=6)
    assert advance("every_6h", due, now) == due + timedelta(days=4, hours=18)
    cron_due = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert advance("cron:0 9 * * *", cron_due, now) == datetime(2026, 3, 7, 9, tzinfo=UTC)


def test_next_after_is_strictly_after() -> None:
    at_nine = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert next_after("cron:0 9 * * *", at_nine) == at_nine + timedelta(days=1)
    assert next_after("weekly", T0) == T0 + timedelta(days=7)
