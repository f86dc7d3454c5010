"""Find the tasks a few words name: exact title, then every word found, then close spelling."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

FILLER = {"the", "a", "an", "my", "to", "task", "item", "one", "thing", "that", "this"}
WORD_CLOSENESS = 0.8
TITLE_CLOSENESS = 0.6


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[\w']+", text.lower()) if w not in FILLER]


def _word_found(word: str, title_words: Sequence[str]) -> bool:
    return any(
        word == other
        or (len(word) >= 3 and other.startswith(word))
        or difflib.SequenceMatcher(None, word, other).ratio() >= WORD_CLOSENESS
        for other in title_words
    )


def matching_tasks(words: str, tasks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks (list_tasks items) that `words` names, best kind of match only, in list order."""
    wanted = " ".join(_words(words)) or words.lower().strip()
    exact = [task for task in tasks if " ".join(_words(task["title"])) == wanted]
    if exact:
        return exact
    every_word = [
        task
        for task in tasks
        if all(_word_found(word, _words(task["title"])) for word in wanted.split())
    ]
    if every_word:
        return every_word
    titles = [" ".join(_words(task["title"])) for task in tasks]
    close = set(difflib.get_close_matches(wanted, titles, n=5, cutoff=TITLE_CLOSENESS))
    return [task for task, title in zip(tasks, titles, strict=True) if title in close]
