"""The shape of a rendered prompt part: fixed lines, labelled payloads, message lists, and
step blocks whose header always shows; ``emit`` writes it with every slot as allotted.

A step whose payloads were all left out folds their markers into its header line
(``- [TOOL] fetch OK 12ms …[args 1,018, result 50,000 chars omitted]``), so a
1,000-step trace still fits when only its headers do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sightline.engine.render.slots import Slot, omission


@dataclass(slots=True)
class Text:
    """One payload on a labelled line; its further lines are indented under the label."""

    label: str
    slot: Slot


@dataclass(slots=True)
class Message:
    role: str
    content: Slot
    calls: list[tuple[str, Slot]] = field(default_factory=list)  # (tool name, arguments)


@dataclass(slots=True)
class Messages:
    """A conversation; runs of messages that get no room collapse into one marker line."""

    label: str
    messages: list[Message]


Field = Text | Messages


@dataclass(slots=True)
class Block:
    header: str | None  # None: the fields stand at the block's own indent, without a header
    indent: str
    fields: list[Field]
    fold: bool = True  # fold fully omitted payloads into the header


Item = str | Block


def slots_of(items: list[Item]) -> list[Slot]:
    found: list[Slot] = []
    for item in items:
        if isinstance(item, Block):
            for f in item.fields:
                found.extend(_field_slots(f))
    return found


def _field_slots(f: Field) -> Iterator[Slot]:
    if isinstance(f, Text):
        yield f.slot
        return
    for message in f.messages:
        yield message.content
        yield from (args for _, args in message.calls)


def emit(items: list[Item]) -> str:
    lines: list[str] = []
    for item in items:
        if isinstance(item, str):
            lines.append(item)
        else:
            lines.extend(_block(item))
    return "\n".join(lines)


def _block(block: Block) -> Iterator[str]:
    if block.header is None:
        inner = block.indent
    elif block.fold and block.fields and all(_hidden(f) for f in block.fields):
        parts = ", ".join(f"{f.label} {_size(f):,}" for f in block.fields)
        yield f"{block.header} …[{parts} chars omitted]"
        return
    else:
        yield block.header
        inner = block.indent + "  "
    for f in block.fields:
        if isinstance(f, Text):
            yield from _lines(f"{inner}{f.label}: ", f.slot.shown(), inner)
        else:
            yield from _messages(f, inner)


def _messages(f: Messages, indent: str) -> Iterator[str]:
    if all(_message_hidden(m) for m in f.messages):
        yield f"{indent}{f.label}: {_collapsed(f.messages)}"
        return
    yield f"{indent}{f.label}:"
    inner = indent + "  "
    hidden: list[Message] = []
    for message in f.messages:
        if _message_hidden(message):
            hidden.append(message)
            continue
        if hidden:
            yield f"{inner}{_collapsed(hidden)}"
            hidden = []
        text = message.content.shown() if message.content.text else ""
        for name, args in message.calls:
            text += f" →call {name}({args.shown()})"
        yield from _lines(f"{inner}{message.role}: ", text.strip(), inner)
    if hidden:
        yield f"{inner}{_collapsed(hidden)}"


def _collapsed(messages: list[Message]) -> str:
    characters = sum(len(m.content.text) for m in messages)
    if len(messages) == 1:
        return f"{messages[0].role}: {omission(characters)}"
    return f"…[{len(messages)} messages omitted, {characters:,} characters]"


def _hidden(f: Field) -> bool:
    if isinstance(f, Text):
        return f.slot.empty
    return all(_message_hidden(m) for m in f.messages)


def _message_hidden(message: Message) -> bool:
    return not message.calls and message.content.empty


def _size(f: Field) -> int:
    return sum(len(slot.text) for slot in _field_slots(f))


def _lines(first_prefix: str, text: str, indent: str) -> Iterator[str]:
    lines = text.splitlines() or [""]
    yield first_prefix + lines[0]
    for line in lines[1:]:
        yield f"{indent}  {line}"
