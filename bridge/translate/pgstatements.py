"""Split PostgreSQL statement text into statements, and keep the schema changes among them.

DDL capture records `current_query()`, the whole string a client sent. When that string also
holds DML (`BEGIN; UPDATE …; ALTER TABLE …; INSERT …; COMMIT`, as `psql -c` or a migration tool
may send), replaying it whole on the target would apply the DML twice: once from the string and
once from the row events that carry it. `ddl_statements` keeps only the schema changes.

The splitter knows PostgreSQL's lexical rules that can hide a `;`: quoted strings ('…' with ''
escapes, E'…' with backslash escapes), quoted identifiers, dollar quoting ($$…$$, $tag$…$tag$),
line comments and nested block comments.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)?\$")
_FIRST_WORDS = re.compile(r"[A-Za-z_]+")

# Statements that change the schema, by their first word(s). TRUNCATE is absent on purpose:
# pgoutput replicates it as a row-level event already.
_DDL_FIRST = frozenset(
    {"CREATE", "ALTER", "DROP", "COMMENT", "GRANT", "REVOKE", "SECURITY", "IMPORT", "REINDEX"}
)


def split_statements(text: str) -> list[str]:
    """The statements of `text`, each without its terminating `;`, blank ones dropped."""
    out: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "'":
            backslashes = i > 0 and text[i - 1] in "eE" and (i < 2 or not text[i - 2].isalnum())
            i = _skip_quoted(text, i, "'", backslashes=backslashes)
        elif c == '"':
            i = _skip_quoted(text, i, '"', backslashes=False)
        elif c == "-" and text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif c == "/" and text.startswith("/*", i):
            i = _skip_block_comment(text, i)
        elif c == "$" and (m := _DOLLAR_TAG.match(text, i)) and not _in_word(text, i):
            end = text.find(m.group(0), m.end())
            i = n if end < 0 else end + len(m.group(0))
        elif c == ";":
            out.append(text[start:i])
            i += 1
            start = i
        else:
            i += 1
    out.append(text[start:])
    return [s.strip() for s in out if _has_code(s)]


def ddl_statements(text: str) -> list[str]:
    """The schema-changing statements of `text`, in order (see the module docstring)."""
    return [s for s in split_statements(text) if _first_word(s) in _DDL_FIRST]


def _first_word(statement: str) -> str:
    body = _strip_leading_comments(statement)
    m = _FIRST_WORDS.match(body)
    return m.group(0).upper() if m else ""


def _strip_leading_comments(s: str) -> str:
    while True:
        s = s.lstrip()
        if s.startswith("--"):
            nl = s.find("\n")
            s = "" if nl < 0 else s[nl + 1 :]
        elif s.startswith("/*"):
            s = s[_skip_block_comment(s, 0) :]
        else:
            return s


def _has_code(s: str) -> bool:
    return bool(_strip_leading_comments(s).strip())


def _in_word(text: str, i: int) -> bool:
    """A `$` right after an identifier character is part of it (or a parameter like $1)."""
    return i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")


def _skip_quoted(text: str, i: int, quote: str, *, backslashes: bool) -> int:
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if backslashes and c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and text[i + 1] == quote:  # doubled quote: an escaped one
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _skip_block_comment(text: str, i: int) -> int:
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n
