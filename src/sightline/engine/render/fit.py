"""Fit a document into a token budget: headers first, then payloads by priority."""

from __future__ import annotations

from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.render.document import Item, emit, slots_of
from sightline.engine.render.slots import allocate

_CHARS_PER_TOKEN = 4  # the inverse of estimate_tokens
_ROUNDS = 8


class DoesNotFit(Exception):
    def __init__(self, skeleton_tokens: int) -> None:
        super().__init__(skeleton_tokens)
        self.skeleton_tokens = skeleton_tokens


def fit(items: list[Item], budget_tokens: int) -> tuple[str, int]:
    """The text and how many payloads were cut. Raises DoesNotFit when even the skeleton
    (every header, every payload replaced by its marker) is over the budget."""
    slots = slots_of(items)
    allocate(slots, 0)
    skeleton = emit(items)
    if estimate_tokens(skeleton) > budget_tokens:
        raise DoesNotFit(estimate_tokens(skeleton))
    budget_chars = budget_tokens * _CHARS_PER_TOKEN
    room = budget_chars - len(skeleton)
    # Markers, labels and indentation are not in the slots' allotments; each round takes
    # what the last one overshot off the room, so this converges in two or three rounds.
    for _ in range(_ROUNDS):
        if room <= 0:
            break
        allocate(slots, room)
        text = emit(items)
        if estimate_tokens(text) <= budget_tokens:
            return text, sum(1 for slot in slots if not slot.full)
        room -= len(text) - budget_chars + 16
    allocate(slots, 0)
    return skeleton, sum(1 for slot in slots if slot.text)
