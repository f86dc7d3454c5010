"""Text the database can store: PostgreSQL text holds no NUL, and UTF-8 has no lone surrogates.

A client may send both (JSON escapes `\\u0000` and `\\ud800` are valid JSON), and they would end
as a 500 from the driver. Every writer of user text checks it here first, so the answer is a
422 that names the field.
"""

from __future__ import annotations


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        return f"must not contain a lone surrogate (\\u{code:04x}): it is not valid Unicode text"
    return None
