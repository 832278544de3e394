"""mysql-replication 1.0.17 defects that made bridge decode binlog events itself, pinned on
captured bytes (tests/data/binlog/). If one of these fails, the library changed: revisit
bridge/readers/binlog.py's module docstring. The MariaDB GTID streaming defects need a server:
tests/integration/test_mysql_reader.py::test_library_mariadb_gtid_defects_pinned."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pymysql.protocol import MysqlPacket

from bridge.errors import DecodeError
from bridge.readers import binlog as bl
from tests.unit.test_binlog import captured, with_type

pytest.importorskip("pymysqlreplication")


def _library_event(buf: bytes, event_class: Any) -> Any:
    from pymysqlreplication.packet import BinLogPacketWrapper  # noqa: PLC0415

    wrapped = BinLogPacketWrapper(
        MysqlPacket(b"\x00" + buf, "utf8"),
        {},
        SimpleNamespace(charset="utf8", _get_dbms=lambda: "mariadb"),
        (10, 11, 0),
        True,  # use_checksum
        frozenset({event_class}),
        None, None, None, None, False, False, False, False, False,
    )  # fmt: skip
    return wrapped.event


def test_library_reads_intvar_as_32_bits() -> None:
    from pymysqlreplication.event import IntvarEvent  # noqa: PLC0415

    buf = next(e for e in captured() if e[4] == bl.INTVAR)
    assert _library_event(buf, IntvarEvent).value == 705032704  # 5000000000 mod 2**32
    dec = bl.BinlogDecoder(checksum=True)
    dec.decode(buf)
    query = next(e for e in captured() if e[4] == bl.QUERY and b"INSERT INTO" in e)
    _, body = dec.decode(query)
    assert isinstance(body, bl.Query)
    assert [c.value for c in body.context if isinstance(c, bl.Intvar)] == [5000000000]


def test_library_drops_unknown_event_types() -> None:
    from pymysqlreplication.event import NotImplementedEvent  # noqa: PLC0415

    unknown = with_type(next(e for e in captured() if e[4] == bl.XID), 99)
    # The default event list filters NotImplementedEvent out: the event silently vanishes.
    assert _library_event(unknown, frozenset) is None
    assert type(_library_event(unknown, NotImplementedEvent)).__name__ == "NotImplementedEvent"
    with pytest.raises(DecodeError, match="unknown binlog event type 99"):
        bl.BinlogDecoder(checksum=True).decode(unknown)
