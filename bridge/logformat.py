"""`dbbridge run --log-format json`: one JSON object per line on stderr, for log collectors.

Every line has `time` (UTC, ISO 8601), `level`, `pipeline` and `message`, plus fields that say
more (`position`, `table`, `rows`, `lag_seconds`, …). `JsonDisplay` stands in for the terminal
display (`bridge.progress.RunDisplay`: the same `copy`/`status`/`notice` calls), and
`JsonFormatter` formats the `logging` records of the `bridge` loggers (the retention guard's
warnings, for one) the same way.

No line carries a password: messages can quote a DSN or a libpq connection string (an error from
a driver), so `redact_text` masks `scheme://user:password@` and `password=…` wherever they occur.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, TextIO

from bridge.pipeline import Status
from bridge.snapshot.postgres import TableProgress

_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
# Attributes every LogRecord has: anything else on a record came from `extra=` and is a field.
_PLAIN_RECORD = logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)
_RECORD_ATTRS: Final = frozenset(vars(_PLAIN_RECORD)) | {"message", "asctime"}


def redact_text(text: str) -> str:
    """`text` with passwords in URLs and key=value connection strings replaced by '***'."""
    return _KV_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clean(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


def json_line(level: str, pipeline: str, message: str, fields: Mapping[str, object]) -> str:
    """One log line: the four common keys first, then `fields` (None values left out)."""
    record: dict[str, object] = {
        "time": _now(),
        "level": level,
        "pipeline": pipeline,
        "message": redact_text(message),
    }
    for key, value in fields.items():
        if value is not None and key not in record:
            record[key] = _clean(value)
    return json.dumps(record, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """A `logging` record as one JSON line; `extra=` fields become keys."""

    def __init__(self, pipeline: str) -> None:
        super().__init__()
        self.pipeline = pipeline

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}
        pipeline = str(fields.pop("pipeline", self.pipeline))
        fields["logger"] = record.name
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return json_line(record.levelname.lower(), pipeline, record.getMessage(), fields)


class JsonDisplay:
    """What `dbbridge run` reports, as JSON lines (the interface of `progress.RunDisplay`)."""

    def __init__(self, pipeline: str, *, stream: TextIO | None = None, every: float = 10.0) -> None:
        self.pipeline = pipeline
        self.stream = stream
        self.every = every
        """Seconds between status lines."""
        self._last_status = 0.0
        self._status: Status | None = None

    def __enter__(self) -> JsonDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def emit(self, level: str, message: str, **fields: object) -> None:
        out = self.stream or sys.stderr  # looked up late: tests swap sys.stderr
        out.write(json_line(level, self.pipeline, message, fields) + "\n")
        out.flush()

    def copy(self, p: TableProgress) -> None:
        if p.done:
            self.emit("info", f"copied {p.table}", table=str(p.table), rows=p.rows,
                      seconds=round(p.seconds, 3))  # fmt: skip

    def status(self, st: Status) -> None:
        self._status = st
        now = time.monotonic()
        if now - self._last_status >= self.every:
            self._last_status = now
            self.emit("info", "status", **status_fields(st))

    def notice(self, message: str) -> None:
        st = self._status
        level = "warning" if message.startswith("warning: ") else "info"
        text = message.removeprefix("warning: ")
        self.emit(level, text, position=st.position if st is not None else None)


def status_fields(st: Status) -> dict[str, Any]:
    """A pipeline's status as log fields."""
    src = st.source
    return {
        "phase": st.phase,
        "position": st.position,
        "received": st.received,
        "transactions": st.transactions,
        "changes": st.changes,
        "lag_seconds": None if st.lag_seconds is None else round(st.lag_seconds, 6),
        "lag_bytes": src.lag_bytes,
        "retained_bytes": src.retained_bytes,
        "retries": st.retries,
        "copied_rows": st.copied_rows or None,
    }


class _NoticeHandler(logging.Handler):
    def __init__(self, notice: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.notice = notice

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.notice(f"{record.levelname.lower()}: {redact_text(record.getMessage())}")
        except Exception:  # noqa: BLE001 - logging must never break the pipeline
            self.handleError(record)


def install_notices(notice: Callable[[str], None]) -> None:
    """Show the `bridge` loggers' warnings and errors through the text display's notices."""
    _set_handler(_NoticeHandler(notice))


def _set_handler(handler: logging.Handler) -> logging.Logger:
    """Install `handler` on the `bridge` logger, replacing one an earlier call installed (a
    process may run the command twice: tests)."""
    logger = logging.getLogger("bridge")
    for old in list(logger.handlers):
        if getattr(old, "_dbbridge", False):
            logger.removeHandler(old)
    handler._dbbridge = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    return logger


def install(pipeline: str, *, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the `bridge` loggers' records to stderr as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(pipeline))
    logger = _set_handler(handler)
    logger.setLevel(level)
    logger.propagate = False  # one line per record, not a second plain one from the root
