from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sightline.engine.queue import JobQueue


def get_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.eval_queue
    return queue


QueueDep = Annotated[JobQueue, Depends(get_queue)]
