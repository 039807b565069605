"""Budget by priority: payload slots, the water-filling allocation, and the marked cut.

A slot is one payload (a tool's arguments, a message, an error). It takes part in the
allocation at one or more priorities, each with an optional cap in characters (the system
prompt, say, gets 1,200 characters next to the user's request and the rest only after
everything else). Priorities are served in order; within one, the characters left are shared
out evenly, and what a short slot does not need goes back to the longer ones ("water-filling").
When an even share would be a sliver, slots are served whole in rank order instead (the
newest turns of a conversation first). A slot shown in part is cut in place with a marker
saying what was removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Priorities, most important first (issue 9: task, answer, headers, calls, errors, the rest).
TASK = 0  # the user's request; the head of the system prompt
ANSWER = 1  # the trace's final output
ARGS = 2  # every tool call's arguments (headers are not slots: they are always shown)
ERRORS = 3
RESULTS = 4  # tool results, retrieved documents, LLM messages of the steps
HISTORY = 5  # the rest of the system prompt, older turns, what a cap held back

# Below this many characters a cut shows nothing but its marker.
_MIN_SHOWN = 24
# When an even share would be smaller than this, slivers help no one: the slots are served
# whole, one after another in rank order, until the characters run out.
_MIN_USEFUL = 160
# A cut keeps the end too when there is room: the last part of a SQL query or a request.
_TAIL_FROM = 240


@dataclass(eq=False, slots=True)
class Slot:
    text: str
    tiers: tuple[tuple[int, int | None], ...]  # (priority, cap in characters or None)
    rank: int = 0  # who is served first when there is too little to share (0: the newest turn)
    allotted: int = field(default=0)

    @property
    def full(self) -> bool:
        return self.allotted >= len(self.text)

    @property
    def empty(self) -> bool:
        return self.allotted < min(_MIN_SHOWN, len(self.text))

    def shown(self) -> str:
        """The text as rendered: whole, or cut in place with the omission marker."""
        return cut(self.text, self.allotted)


def omission(characters: int) -> str:
    return f"…[{characters:,} characters omitted]"


def cut(text: str, allotted: int) -> str:
    if allotted >= len(text):
        return text
    if allotted < _MIN_SHOWN:
        return omission(len(text))
    if allotted < _TAIL_FROM:
        return text[:allotted] + omission(len(text) - allotted)
    tail = allotted // 3
    head = allotted - tail
    return text[:head] + omission(len(text) - allotted) + text[len(text) - tail :]


def allocate(slots: Sequence[Slot], characters: int) -> None:
    """Share ``characters`` between the slots, priority by priority (see the module doc)."""
    for slot in slots:
        slot.allotted = 0
    left = max(0, characters)
    for priority in sorted({p for slot in slots for p, _ in slot.tiers}):
        wants = [(slot, _want(slot, priority)) for slot in slots]
        left = _water_fill([(s, w) for s, w in wants if w > 0], left)
        if left == 0:
            return


def _want(slot: Slot, priority: int) -> int:
    for tier_priority, cap in slot.tiers:
        if tier_priority == priority:
            ceiling = len(slot.text) if cap is None else min(len(slot.text), cap)
            return max(0, ceiling - slot.allotted)
    return 0


def _water_fill(wants: Iterable[tuple[Slot, int]], left: int) -> int:
    ordered = sorted(wants, key=lambda pair: pair[1])
    remaining = len(ordered)
    for index, (slot, want) in enumerate(ordered):
        share = left // remaining
        if want > share and share < _MIN_USEFUL:
            return _by_rank(ordered[index:], left)
        give = min(want, share)
        slot.allotted += give
        left -= give
        remaining -= 1
    return left


def _by_rank(wants: list[tuple[Slot, int]], left: int) -> int:
    for slot, want in sorted(wants, key=lambda pair: pair[0].rank):
        if left < _MIN_USEFUL:
            break
        give = min(want, left)
        slot.allotted += give
        left -= give
    return left
