"""JSON Lines form of the common logical log: one event per line, lossless, for people and tools.

Values JSON cannot hold exactly are tagged objects with one `$kind` key (see docs/log-format.md):
integers beyond ±(2**53 - 1) (where JavaScript and jq lose digits) become {"$int": "…"}, decimals
{"$decimal": "…"}, bytes {"$bytes": base64}, temporal values {"$date"|"$time"|"$timetz"|
"$timestamp"|"$timestamptz": ISO text} with "zero": true for MySQL zero dates and "special": true
for values Python cannot hold (infinity, BC), and so on. Plain JSON objects never appear as values
(JSON documents travel as text in {"$json": …}), so a tagged object is never ambiguous.

The schema of a line is `bridge/log/log-format.schema.json`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, cast

from bridge.errors import DecodeError
from bridge.log.events import (
    FORMAT_VERSION,
    Begin,
    Column,
    ColumnType,
    Commit,
    Ddl,
    Delete,
    Event,
    Heartbeat,
    Insert,
    Relation,
    SourceId,
    Statement,
    StatementContext,
    TableName,
    Truncate,
    Update,
)
from bridge.log.values import (
    ABSENT,
    UNCHANGED,
    BitString,
    Interval,
    Json,
    MysqlSet,
    SpecialTemporal,
    TemporalKind,
    Value,
    ZeroDate,
)
from bridge.positions import BinlogPosition, Lsn, Position, parse_gtid_state

_JS_SAFE = 2**53 - 1
JsonValue = Any  # what json.loads returns; narrowed at each use

# ---------------------------------------------------------------------------------------- values


def _enc_int(v: int) -> JsonValue:
    return v if -_JS_SAFE <= v <= _JS_SAFE else {"$int": str(v)}


def _enc_float(v: float) -> JsonValue:
    if math.isfinite(v):
        return v
    return {"$float": "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")}


def _enc_datetime(v: dt.datetime) -> JsonValue:
    if v.tzinfo is None:
        return {"$timestamp": v.isoformat()}
    return {"$timestamptz": v.isoformat()}


def _enc_time(v: dt.time) -> JsonValue:
    return {"$timetz": v.isoformat()} if v.tzinfo is not None else {"$time": v.isoformat()}


def _enc_temporal_text(tag: str, text: str, flag: str) -> JsonValue:
    return {tag: text, flag: True}


_TAG_OF_KIND: dict[str, str] = {
    "date": "$date",
    "time": "$time",
    "timestamp": "$timestamp",
    "timestamptz": "$timestamptz",
}

_ENCODERS: dict[type, Callable[[Any], JsonValue]] = {
    type(None): lambda _: None,
    bool: lambda v: v,
    int: _enc_int,
    float: _enc_float,
    str: lambda v: v,
    Decimal: lambda v: {"$decimal": str(v)},
    bytes: lambda v: {"$bytes": base64.b64encode(v).decode("ascii")},
    dt.datetime: _enc_datetime,
    dt.date: lambda v: {"$date": v.isoformat()},
    dt.time: _enc_time,
    uuid.UUID: lambda v: {"$uuid": str(v)},
    Json: lambda v: {"$json": v.text},
    BitString: lambda v: {"$bits": v.bits},
    Interval: lambda v: {"$interval": [v.months, v.days, v.microseconds]},
    ZeroDate: lambda v: _enc_temporal_text(_TAG_OF_KIND[v.kind], v.text, "zero"),
    SpecialTemporal: lambda v: _enc_temporal_text(_TAG_OF_KIND[v.kind], v.text, "special"),
    MysqlSet: lambda v: {"$set": sorted(v.members)},
}


def encode_value(v: Value) -> JsonValue:
    """Turn one row value into its JSON form."""
    enc = _ENCODERS.get(type(v))
    if enc is not None:
        return enc(v)
    if isinstance(v, list):
        return [encode_value(x) for x in v]
    if v is UNCHANGED or v is ABSENT:
        raise ValueError(f"{v!r} is a row-image marker, not a value")
    # Subclasses (e.g. an IntEnum, a str subclass) encode as their base type.
    for base, enc in _ENCODERS.items():
        if isinstance(v, base):
            return enc(v)
    raise TypeError(f"no log encoding for {type(v).__name__} value {v!r}")


def _dec_temporal(tag: str, kind: TemporalKind, parse: Callable[[str], Value]) -> Any:
    def dec(obj: dict[str, Any]) -> Value:
        text = obj[tag]
        if obj.get("zero"):
            return ZeroDate(kind, text)
        if obj.get("special"):
            return SpecialTemporal(kind, text)
        return parse(text)

    return dec


def _dec_float(text: str) -> float:
    if text not in ("NaN", "Infinity", "-Infinity"):
        raise ValueError(f"$float holds NaN, Infinity or -Infinity, not {text!r}")
    return float(text)


_DECODERS: dict[str, Callable[[dict[str, Any]], Value]] = {
    "$int": lambda o: int(o["$int"]),
    "$float": lambda o: _dec_float(o["$float"]),
    "$decimal": lambda o: Decimal(o["$decimal"]),
    "$bytes": lambda o: base64.b64decode(o["$bytes"], validate=True),
    "$date": _dec_temporal("$date", "date", dt.date.fromisoformat),
    "$timestamp": _dec_temporal("$timestamp", "timestamp", dt.datetime.fromisoformat),
    "$timestamptz": _dec_temporal("$timestamptz", "timestamptz", dt.datetime.fromisoformat),
    "$time": _dec_temporal("$time", "time", dt.time.fromisoformat),
    "$timetz": lambda o: dt.time.fromisoformat(o["$timetz"]),
    "$uuid": lambda o: uuid.UUID(o["$uuid"]),
    "$json": lambda o: Json(o["$json"]),
    "$bits": lambda o: BitString(o["$bits"]),
    "$interval": lambda o: Interval(*(int(x) for x in o["$interval"])),
    "$set": lambda o: MysqlSet(frozenset(o["$set"])),
}


def decode_value(j: JsonValue) -> Value:
    """Turn one JSON value back into a row value."""
    if isinstance(j, dict):
        tag = next((k for k in j if k.startswith("$")), None)
        dec = _DECODERS.get(tag) if tag else None
        if dec is None:
            raise ValueError(f"unknown value tag in {j!r}")
        return dec(j)
    if isinstance(j, list):
        return [decode_value(x) for x in j]
    return cast(Value, j)


# ------------------------------------------------------------------------------------- positions


def encode_position(p: Position) -> dict[str, Any]:
    if isinstance(p, Lsn):
        return {"lsn": str(p)}
    out: dict[str, Any] = {"file": p.file, "offset": p.offset}
    if p.gtid is not None:
        out["gtid"] = str(p.gtid)
    return out


def decode_position(j: dict[str, Any]) -> Position:
    if "lsn" in j:
        return Lsn.parse(j["lsn"])
    gtid = j.get("gtid")
    return BinlogPosition(j["file"], int(j["offset"]), parse_gtid_state(gtid) if gtid else None)


# ---------------------------------------------------------------------------------------- events


def _enc_time_utc(v: dt.datetime | None) -> str | None:
    if v is None:
        return None
    if v.tzinfo is None:
        raise ValueError("event timestamps must be timezone-aware (UTC)")
    return v.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _dec_time_utc(v: str | None) -> dt.datetime | None:
    return None if v is None else dt.datetime.fromisoformat(v)


def _enc_table(t: TableName) -> dict[str, str]:
    return {"schema": t.schema, "name": t.name}


def _enc_type(t: ColumnType) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": t.kind, "source_type": t.source_type}
    if t.size is not None:
        out["size"] = t.size
    if t.precision is not None:
        out["precision"] = t.precision
    if t.scale is not None:
        out["scale"] = t.scale
    if t.labels:
        out["labels"] = list(t.labels)
    if t.element is not None:
        out["element"] = _enc_type(t.element)
    if t.fixed:
        out["fixed"] = True
    return out


def _dec_type(j: dict[str, Any]) -> ColumnType:
    element = j.get("element")
    return ColumnType(
        kind=j["kind"],
        source_type=j["source_type"],
        size=j.get("size"),
        precision=j.get("precision"),
        scale=j.get("scale"),
        labels=tuple(j.get("labels", ())),
        element=_dec_type(element) if element is not None else None,
        fixed=bool(j.get("fixed", False)),
    )


def _enc_image(columns: tuple[str, ...], values: tuple[Value, ...], skip: object) -> dict[str, Any]:
    return {c: encode_value(v) for c, v in zip(columns, values, strict=True) if v is not skip}


def _dec_image(
    columns: tuple[str, ...], obj: dict[str, Any], missing: Value, allowed: frozenset[str] | None
) -> tuple[Value, ...]:
    extra = obj.keys() - set(columns)
    if extra:
        raise ValueError(f"image names columns not in 'columns': {sorted(extra)}")
    out: list[Value] = []
    for c in columns:
        if c in obj:
            out.append(decode_value(obj[c]))
        elif allowed is None or c in allowed:
            out.append(missing)
        else:
            raise ValueError(f"column {c!r} has no value and is not listed as unchanged")
    return tuple(out)


_CONTEXT_INTS = ("sql_mode", "insert_id", "last_insert_id", "thread_id")


def _enc_context(c: StatementContext) -> dict[str, Any]:
    out: dict[str, Any] = {"timestamp": _enc_time_utc(c.timestamp)}
    if c.time_zone is not None:
        out["time_zone"] = c.time_zone
    if c.system_time_zone is not None:
        out["system_time_zone"] = c.system_time_zone
    for name in _CONTEXT_INTS:
        value = getattr(c, name)
        if value is not None:
            out[name] = _enc_int(value)
    if c.rand_seeds is not None:
        out["rand_seeds"] = [_enc_int(s) for s in c.rand_seeds]
    if c.auto_increment is not None:
        out["auto_increment"] = list(c.auto_increment)
    if c.user_vars:
        out["user_vars"] = {k: encode_value(v) for k, v in c.user_vars.items()}
    return out


def _dec_context(j: dict[str, Any]) -> StatementContext:
    timestamp = _dec_time_utc(j["timestamp"])
    if timestamp is None:
        raise ValueError("a statement context needs a timestamp")
    ints = {name: int(decode_value(j[name])) for name in _CONTEXT_INTS if name in j}  # type: ignore[arg-type]
    seeds = j.get("rand_seeds")
    auto = j.get("auto_increment")
    return StatementContext(
        timestamp=timestamp,
        time_zone=j.get("time_zone"),
        system_time_zone=j.get("system_time_zone"),
        rand_seeds=(int(decode_value(seeds[0])), int(decode_value(seeds[1])))  # type: ignore[arg-type]
        if seeds is not None
        else None,
        auto_increment=(int(auto[0]), int(auto[1])) if auto is not None else None,
        user_vars={k: decode_value(v) for k, v in j.get("user_vars", {}).items()},
        **ints,
    )


def _event_body(ev: Event) -> dict[str, Any]:  # noqa: PLR0911 - one branch per event type
    if isinstance(ev, Insert):
        return {
            "type": "insert",
            "table": _enc_table(ev.relation),
            "key": list(ev.key),
            "columns": list(ev.columns),
            "after": _enc_image(ev.columns, ev.after, ABSENT),
        }
    if isinstance(ev, Update):
        body: dict[str, Any] = {
            "type": "update",
            "table": _enc_table(ev.relation),
            "key": list(ev.key),
            "columns": list(ev.columns),
        }
        if ev.before is not None:
            body["before"] = _enc_image(ev.columns, ev.before, ABSENT)
        body["after"] = _enc_image(ev.columns, ev.after, UNCHANGED)
        body["unchanged"] = list(ev.unchanged)
        return body
    if isinstance(ev, Delete):
        return {
            "type": "delete",
            "table": _enc_table(ev.relation),
            "key": list(ev.key),
            "columns": list(ev.columns),
            "before": _enc_image(ev.columns, ev.before, ABSENT),
        }
    if isinstance(ev, Begin | Commit):
        return {
            "type": "begin" if isinstance(ev, Begin) else "commit",
            "xid": ev.xid,
            "commit_time": _enc_time_utc(ev.commit_time),
            "commit_position": (
                encode_position(ev.commit_position) if ev.commit_position is not None else None
            ),
            "origin": ev.origin,
        }
    if isinstance(ev, Truncate):
        return {
            "type": "truncate",
            "tables": [_enc_table(t) for t in ev.relations],
            "cascade": ev.cascade,
            "restart_identity": ev.restart_identity,
        }
    if isinstance(ev, Ddl):
        return {
            "type": "ddl",
            "text": ev.text,
            "dialect": ev.dialect,
            "schema": ev.schema,
            "translated": dict(ev.translated),
        }
    if isinstance(ev, Statement):
        return {
            "type": "statement",
            "text": ev.text,
            "dialect": ev.dialect,
            "schema": ev.schema,
            "deterministic": ev.deterministic,
            "context": _enc_context(ev.context),
            "tables": [_enc_table(t) for t in ev.tables],
            "translated": dict(ev.translated),
        }
    if isinstance(ev, Relation):
        return {
            "type": "relation",
            "table": _enc_table(ev.relation),
            "key": list(ev.key),
            "columns": [
                {"name": c.name, "type": _enc_type(c.type), "nullable": c.nullable}
                | ({"default": c.default} if c.default is not None else {})
                for c in ev.columns
            ],
        }
    if isinstance(ev, Heartbeat):
        return {"type": "heartbeat", "time": _enc_time_utc(ev.time)}
    raise TypeError(f"not a log event: {ev!r}")


def event_to_dict(ev: Event) -> dict[str, Any]:
    """The JSON object of one event (before serialization)."""
    src = ev.source
    body = _event_body(ev)
    return {
        "v": FORMAT_VERSION,
        "type": body.pop("type"),
        "source": {"engine": src.engine, "system_id": src.system_id, "version": src.version},
        "position": encode_position(ev.position),
        **body,
    }


def encode_event(ev: Event) -> str:
    """One event as one line of JSON (no trailing newline)."""
    return json.dumps(event_to_dict(ev), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _table(j: dict[str, Any]) -> TableName:
    return TableName(j["schema"], j["name"])


def _decode_row(kind: str, j: dict[str, Any], common: dict[str, Any]) -> Event:
    columns = tuple(j["columns"])
    key = tuple(j.get("key", ()))
    rel = _table(j["table"])
    if kind == "insert":
        after = _dec_image(columns, j["after"], ABSENT, frozenset())
        return Insert(**common, relation=rel, columns=columns, after=after, key=key)
    if kind == "update":
        unchanged = frozenset(j.get("unchanged", ()))
        before = j.get("before")
        return Update(
            **common,
            relation=rel,
            columns=columns,
            before=_dec_image(columns, before, ABSENT, None) if before is not None else None,
            after=_dec_image(columns, j["after"], UNCHANGED, unchanged),
            key=key,
        )
    before_img = _dec_image(columns, j["before"], ABSENT, None)
    return Delete(**common, relation=rel, columns=columns, before=before_img, key=key)


def _decode_dict(j: Any) -> Event:  # noqa: PLR0911 - one return per event type
    if not isinstance(j, dict):
        raise TypeError("a log line is a JSON object")
    if j.get("v") != FORMAT_VERSION:
        raise ValueError(f"log format version {j.get('v')!r} is not {FORMAT_VERSION}")
    s = j["source"]
    common: dict[str, Any] = {
        "source": SourceId(s["engine"], s["system_id"], s["version"]),
        "position": decode_position(j["position"]),
    }
    kind = j["type"]
    if kind in ("insert", "update", "delete"):
        return _decode_row(kind, j, common)
    if kind in ("begin", "commit"):
        cp = j.get("commit_position")
        fields: dict[str, Any] = {
            "xid": j.get("xid"),
            "commit_time": _dec_time_utc(j.get("commit_time")),
            "commit_position": decode_position(cp) if cp is not None else None,
            "origin": j.get("origin"),
        }
        if kind == "commit" and fields["commit_position"] is None:
            raise ValueError("a commit event needs a commit_position")
        return Begin(**common, **fields) if kind == "begin" else Commit(**common, **fields)
    if kind == "truncate":
        return Truncate(
            **common,
            relations=tuple(_table(t) for t in j["tables"]),
            cascade=bool(j.get("cascade", False)),
            restart_identity=bool(j.get("restart_identity", False)),
        )
    if kind == "ddl":
        return Ddl(
            **common,
            text=j["text"],
            dialect=j["dialect"],
            schema=j.get("schema"),
            translated=dict(j.get("translated", {})),
        )
    if kind == "statement":
        return Statement(
            **common,
            text=j["text"],
            dialect=j["dialect"],
            schema=j.get("schema"),
            deterministic=j["deterministic"],
            context=_dec_context(j["context"]),
            tables=tuple(_table(t) for t in j.get("tables", ())),
            translated=dict(j.get("translated", {})),
        )
    if kind == "relation":
        cols = tuple(
            Column(c["name"], _dec_type(c["type"]), bool(c["nullable"]), c.get("default"))
            for c in j["columns"]
        )
        return Relation(**common, relation=_table(j["table"]), columns=cols, key=tuple(j["key"]))
    if kind == "heartbeat":
        time = _dec_time_utc(j["time"])
        if time is None:
            raise ValueError("a heartbeat needs a time")
        return Heartbeat(**common, time=time)
    raise ValueError(f"unknown event type {kind!r}")


def decode_event(line: str | bytes) -> Event:
    """Parse one line of the JSON Lines log; raises DecodeError naming what is wrong."""
    try:
        return _decode_dict(json.loads(line))
    except (ValueError, KeyError, TypeError) as e:
        text = line if isinstance(line, str) else line.decode("utf-8", "replace")
        raise DecodeError(
            f"malformed log line ({type(e).__name__}: {e}): {text[:200]}",
            hint="check the line against docs/log-format.md",
        ) from e


def write_events(events: Iterable[Event]) -> Iterator[str]:
    """Yield JSON Lines (with newline) for `events`."""
    for ev in events:
        yield encode_event(ev) + "\n"


def read_events(lines: Iterable[str | bytes]) -> Iterator[Event]:
    """Yield events from JSON Lines, skipping blank lines."""
    for line in lines:
        if line.strip():
            yield decode_event(line)
