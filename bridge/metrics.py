"""Prometheus metrics and a health check for a running pipeline (`dbbridge run --metrics-port`).

`/metrics` is the Prometheus text format, `/healthz` answers 200 or 503 with a small JSON body.
Nothing here touches the hot path: the collector reads the pipeline's `Status` (and the source
watch's numbers in it) when Prometheus scrapes, so the pipeline pays nothing per event; only the
batch-size histogram is fed, once per target commit, through `Pipeline.on_batch`.

Counters come from the status' totals, which restart when a retry builds a new applier; the
collector keeps them monotonic (`Monotonic`) so `rate()` never sees a reset that did not happen.

Health (`health`): 200 while the pipeline copies, or streams and has shown progress (a target
commit, an idle check, a written chunk) within `stale_after` seconds; 503 once transient faults
have lasted `failing_after` seconds, when progress stalls, or when the pipeline stopped or failed.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from bridge import __version__
from bridge.errors import ConfigError
from bridge.logformat import redact_text
from bridge.sourcewatch import WARN_RATIO

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from bridge.pipeline import Pipeline, Status

FAILING_AFTER: Final = 60.0
"""Seconds of continuous transient faults (retries) after which the health check fails."""
STALE_AFTER: Final = 300.0
"""Seconds without progress while streaming after which the health check fails; long enough
for one large source transaction or a slow DDL statement between two signs of progress."""
BATCH_BUCKETS: Final = (1, 10, 100, 1_000, 5_000, 20_000, 50_000, 100_000, 500_000, float("inf"))
PHASES: Final = ("starting", "snapshot", "streaming", "stopped", "failed")
_ERROR_LABEL_CHARS: Final = 300


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    reason: str

    def body(self, st: Status) -> bytes:
        return json.dumps(
            {
                "status": "ok" if self.ok else "failing",
                "pipeline": st.name,
                "phase": st.phase,
                "reason": self.reason,
                "position": st.position,
            }
        ).encode()


def health(
    st: Status,
    now: float,
    *,
    failing_after: float = FAILING_AFTER,
    stale_after: float = STALE_AFTER,
) -> Health:
    """Whether the pipeline is healthy at monotonic time `now`, and why (pure)."""
    if st.phase in ("stopped", "failed"):
        return Health(False, f"the pipeline has {st.phase}")
    if st.failing_since is not None and now - st.failing_since > failing_after:
        return Health(
            False, f"failing for {now - st.failing_since:.0f} s: {redact_text(st.last_error or '')}"
        )
    if st.phase == "snapshot":
        return Health(True, "copying")
    quiet = now - st.alive_at
    if quiet > stale_after:
        return Health(False, f"no progress for {quiet:.0f} s")
    return Health(True, st.phase)


class Monotonic:
    """A total that may restart from 0 (a new applier after a retry), made monotonic."""

    def __init__(self) -> None:
        self._base = 0
        self._last = 0

    def __call__(self, raw: int) -> int:
        if raw < self._last:
            self._base += self._last
        self._last = raw
        return self._base + raw


class PipelineCollector(Collector):
    """Reads one pipeline's status at scrape time."""

    def __init__(self, pipe: Pipeline, *, now: Callable[[], float] = time.time) -> None:
        self.pipe = pipe
        self.now = now
        self._changes = Monotonic()
        self._transactions = Monotonic()

    def collect(self) -> Iterator[Metric]:
        st = self.pipe.status
        name = st.name
        yield from _info(self.pipe)
        phase = GaugeMetricFamily(
            "dbbridge_phase", "1 for the pipeline's current phase", labels=["pipeline", "phase"]
        )
        for p in PHASES:
            phase.add_metric([name, p], 1.0 if st.phase == p else 0.0)
        yield phase
        position = InfoMetricFamily(
            "dbbridge_position",
            "Source positions: applied (committed on the target), received, the source's head",
        )
        position.add_metric(
            ["pipeline"],
            {
                "pipeline": name,
                "applied": st.position or "",
                "received": st.received or "",
                "source_head": st.source.head or "",
            },
        )
        yield position
        yield from self._totals(st)
        yield from self._lag(st)
        yield from self._source(st)
        yield from self._errors(st)

    def _totals(self, st: Status) -> Iterator[Metric]:
        name = st.name
        for metric, doc, value in (
            ("dbbridge_changes", "Row changes applied", self._changes(st.changes)),
            ("dbbridge_transactions", "Source transactions applied (heartbeats' included)",
             self._transactions(st.transactions)),
            ("dbbridge_copied_rows", "Rows copied by the initial snapshot", st.copied_rows),
            ("dbbridge_retries", "Transient faults retried", st.retries),
            ("dbbridge_heartbeats_written", "Heartbeat rows written on the source",
             st.source.beats_written),
        ):  # fmt: skip
            c = CounterMetricFamily(metric, doc, labels=["pipeline"])
            c.add_metric([name], float(value))
            yield c

    def _lag(self, st: Status) -> Iterator[Metric]:
        now = self.now()
        heartbeat_age = None if st.heartbeat_time is None else max(0.0, now - st.heartbeat_time)
        yield from _gauges(
            st.name,
            ("dbbridge_lag_seconds", "Source commit to target commit of the last applied"
             " transaction (heartbeats included, so it is fresh while the source is idle)",
             st.lag_seconds),
            ("dbbridge_heartbeat_timestamp_seconds", "Source time of the newest heartbeat"
             " applied on the target", st.heartbeat_time),
            ("dbbridge_heartbeat_age_seconds", "Seconds since the source wrote the newest"
             " heartbeat applied on the target: an upper bound of the lag", heartbeat_age),
            ("dbbridge_last_source_commit_timestamp_seconds", "Source commit time of the last"
             " applied transaction", st.commit_time),
            ("dbbridge_last_target_commit_timestamp_seconds", "Time of the last target commit",
             st.committed_at),
            ("dbbridge_heartbeats_enabled", "1 when this pipeline writes heartbeats",
             1.0 if st.source.heartbeats else 0.0),
        )  # fmt: skip

    def _source(self, st: Status) -> Iterator[Metric]:
        src = st.source
        engine = self.pipe.source.family
        ratio = src.retention_ratio
        yield from _gauges(
            st.name,
            ("dbbridge_lag_bytes", "Source log bytes between the applied position and the head"
             " (PostgreSQL: WAL after the slot's confirmed position; MySQL: binlog bytes)",
             src.lag_bytes),
            ("dbbridge_retained_wal_bytes", "WAL the pipeline's slot keeps on the source",
             src.retained_bytes),
            ("dbbridge_retention_limit_bytes", "The retained-WAL limit the guard checks",
             src.retention_limit if engine == "postgres" else None),
            ("dbbridge_binlog_expire_seconds", "The source's binlog expiry",
             src.retention_limit if engine == "mysql" else None),
            ("dbbridge_binlog_files_needed", "Binlog files from the applied position's on",
             float(len(src.needed_files)) if src.needed_files else None),
            ("dbbridge_retention_ratio", "Retained WAL / limit, or the needed binlog's age /"
             " expiry; the pipeline warns from 0.8", ratio),
            ("dbbridge_retention_warning", "1 while the retention ratio is 0.8 or more",
             None if ratio is None else float(ratio >= WARN_RATIO)),
        )  # fmt: skip

    def _errors(self, st: Status) -> Iterator[Metric]:
        now = time.monotonic()
        failing = 0.0 if st.failing_since is None else max(0.0, now - st.failing_since)
        yield from _gauges(
            st.name,
            ("dbbridge_failing_seconds", "Seconds the current run of transient faults has"
             " lasted (0: not failing)", failing),
            ("dbbridge_last_error_timestamp_seconds", "Time of the last error", st.last_error_at),
            ("dbbridge_healthy", "1 when /healthz answers 200", float(health(st, now).ok)),
        )  # fmt: skip
        if st.last_error:
            info = InfoMetricFamily("dbbridge_last_error", "The last error (retried or not)")
            text = redact_text(st.last_error)[:_ERROR_LABEL_CHARS]
            info.add_metric(["pipeline"], {"pipeline": st.name, "error": text})
            yield info


def _info(pipe: Pipeline) -> Iterator[Metric]:
    info = InfoMetricFamily("dbbridge", "The pipeline and the bridge's version")
    info.add_metric(
        ["pipeline"],
        {
            "pipeline": pipe.status.name,
            "source_engine": pipe.source.family,
            "target_engine": pipe.target.family,
            "version": __version__,
        },
    )
    yield info


def _gauges(pipeline: str, *specs: tuple[str, str, float | None]) -> Iterator[GaugeMetricFamily]:
    """One gauge per (name, help, value); a value not known (None) leaves the gauge out."""
    for metric, doc, value in specs:
        if value is not None:
            g = GaugeMetricFamily(metric, doc, labels=["pipeline"])
            g.add_metric([pipeline], float(value))
            yield g


# -- the HTTP endpoint --------------------------------------------------------------------------


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr: it would break --log-format json and the display."""


def app(pipe: Pipeline, registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: /metrics (also /), /healthz; 404 otherwise."""
    metrics = make_wsgi_app(registry)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path in ("/metrics", "/"):
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            h = health(pipe.status, time.monotonic())
            body = h.body(pipe.status)
            status = "200 OK" if h.ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(body)))])  # fmt: skip
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /healthz\n"]

    return application


class MetricsServer:
    """The endpoint's HTTP server, in a daemon thread."""

    def __init__(self, pipe: Pipeline, *, host: str = "127.0.0.1", port: int) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(PipelineCollector(pipe))
        batches = Histogram(
            "dbbridge_batch_rows",
            "Row changes per target commit",
            ["pipeline"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        ).labels(pipe.status.name)
        pipe.on_batch = batches.observe
        try:
            self.server = make_server(
                host, port, app(pipe, self.registry), _Server, handler_class=_QuietHandler
            )
        except OSError as e:
            raise ConfigError(
                f"cannot serve metrics on {host}:{port}: {e.strerror or e}",
                hint="choose another --metrics-port (or --metrics-host)",
            ) from e
        self.port = int(self.server.server_port)
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
