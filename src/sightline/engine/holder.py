"""Who holds a lease: one identity per evaluating process, and whether a holder is gone.

Every process that evaluates (``serve``'s worker, ``sightline scheduler``) takes a fresh
identity at start-up and records it on the tasks it claims (``eval_task.lease_holder``).
While it lives it keeps an exclusive ``flock`` on ``<data_dir>/holders/<identity>.lock``.
The kernel drops that lock when the process dies, SIGKILL included, and whatever PID the
next process gets, so any process sharing the data directory can tell a dead holder from a
live one: if it can take the lock, the holder is gone, and its leases are free at once.

A holder whose lock file is not in this data directory (another machine) is never judged
here: its leases are freed by their expiry, as before. Without a writable data directory
the identity still tags the leases; only the fast take-over is lost (logged once).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO

logger = logging.getLogger("sightline.engine")

_SUFFIX = ".lock"


class LeaseHolder:
    def __init__(self, data_dir: Path) -> None:
        self.id = uuid.uuid4().hex
        self._dir = data_dir / "holders"
        self._file: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take this process's lock (idempotent). Failing to is logged, never fatal."""
        if self._file is not None:
            return
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            handle = (self._dir / f"{self.id}{_SUFFIX}").open("wb")
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            logger.warning(
                "no lease-holder lock in %s (%s): a crashed process's evaluation work "
                "resumes only when its leases expire",
                self._dir,
                exc,
            )
            return
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            (self._dir / f"{self.id}{_SUFFIX}").unlink()
        self._file.close()  # closing drops the flock
        self._file = None

    def gone(self, holders: Iterable[str]) -> set[str]:
        """The holders among ``holders`` known to be dead: their lock file is here and free."""
        return {h for h in holders if h != self.id and _is_dead(self._dir / f"{h}{_SUFFIX}")}

    def sweep(self) -> None:
        """Delete the lock files of dead processes (their tasks were freed already)."""
        with contextlib.suppress(OSError):
            for path in self._dir.glob(f"*{_SUFFIX}"):
                if path.stem != self.id and _is_dead(path):
                    with contextlib.suppress(OSError):
                        path.unlink()


def _is_dead(path: Path) -> bool:
    try:
        handle = path.open("rb")
    except OSError:
        return False  # not ours to judge (another machine's, or already swept)
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return False  # still locked: the holder lives
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True
