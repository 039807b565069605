"""The embedded deployment loads nothing of the scaled one: `serve` on the default settings
(and the whole CLI) runs without Celery or redis-py, which only the `scale` extra installs."""

from __future__ import annotations

import subprocess
import sys

from tests.support.server import REPO_SRC

SCRIPT = r"""
import asyncio, sys, tempfile
from sightline.cli.main import app  # every command registered
from sightline.app import create_app
from sightline.config import Settings

async def main():
    with tempfile.TemporaryDirectory() as data:
        application = create_app(Settings(data_dir=data))
        async with application.router.lifespan_context(application):
            pass

asyncio.run(main())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("celery", "kombu", "redis")))
"""


def test_serve_on_the_defaults_imports_neither_celery_nor_redis() -> None:
    env = {"PYTHONPATH": str(REPO_SRC), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
