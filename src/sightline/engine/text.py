"""Text helpers shared by rendering and the embedding metrics: message envelopes, tokens."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"\w+")

# A fixed English stop-word list (API.md §4.2): loop detection compares content words only.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


def message_list(value: Any) -> list[dict[str, Any]] | None:
    """The messages of a ``{"messages": [...]}`` envelope (or a bare list of messages)."""
    candidate = value.get("messages") if isinstance(value, dict) else value
    if (
        isinstance(candidate, list)
        and candidate
        and all(isinstance(m, dict) and "role" in m for m in candidate)
    ):
        return candidate
    return None


def content_text(content: Any) -> str:
    """A message's content as plain text (OpenAI content parts are joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return " ".join(p for p in parts if p)
    return compact_json(content)


def plain_text(value: Any) -> str:
    """What a payload says, without JSON envelope boilerplate (API.md §6 item 18)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    messages = message_list(value)
    if messages is not None:
        return "\n".join(content_text(m.get("content")) for m in messages).strip()
    return compact_json(value)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def content_tokens(text: str) -> set[str]:
    return {t for t in _WORD.findall(text.lower()) if len(t) > 1 and t not in STOP_WORDS}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


USER_ROLES = frozenset({"user", "human"})


def user_request(value: Any) -> str:
    """What the user asked, without the system prompt: the last user message with text of
    a conversation (``{"messages": [...]}`` or a bare message list; a user message holding
    only tool results has none), else the plain text of the payload. A conversation with
    no such user message gives its non-system messages."""
    messages = message_list(value)
    if messages is None:
        return plain_text(value).strip()
    for message in reversed(messages):
        if str(message.get("role", "")).lower() in USER_ROLES:
            text = content_text(message.get("content")).strip()
            if text:
                return text
    others = (m for m in messages if str(m.get("role", "")).lower() != "system")
    return "\n".join(content_text(m.get("content")) for m in others).strip()
