"""What ``/metrics`` reports, kept by ``prometheus-client``.

With ``serve --workers N`` the workers share ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode): counters and histograms are summed over every worker, live gauges summed (queue
lengths) or maxed (a failing store, a send backoff) over the workers alive, whichever worker
answers the scrape. Without it each server keeps its metrics in a registry of its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import prometheus_client
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

Labels = tuple[tuple[str, str], ...]


def multiprocess_mode() -> bool:
    """Whether this process shares its metrics with other workers."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


class Counter:
    """A counter whose labels are given by name when it is incremented."""

    def __init__(
        self, registry: CollectorRegistry | None, name: str, help: str, *labels: str
    ) -> None:
        self.labels = labels
        self._counter = prometheus_client.Counter(
            name.removesuffix("_total"), help, labels, registry=registry
        )

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        target = self._counter.labels(**labels) if self.labels else self._counter
        target.inc(amount)


class Histogram:
    def __init__(
        self,
        registry: CollectorRegistry | None,
        name: str,
        help: str,
        buckets: tuple[float, ...] = LATENCY_BUCKETS,
    ) -> None:
        self._histogram = prometheus_client.Histogram(
            name, help, buckets=buckets, registry=registry
        )

    def observe(self, value: float) -> None:
        self._histogram.observe(value)


class Gauge:
    """A gauge read from ``read`` (label values -> value) each time the metrics are rendered
    (and, by workers, every second, so the others' scrapes see it too)."""

    def __init__(
        self,
        registry: CollectorRegistry | None,
        name: str,
        help: str,
        read: Callable[[], dict[Labels, float]],
        labels: tuple[str, ...] = (),
        mode: str = "livesum",
    ) -> None:
        self.read, self.labels = read, labels
        self._gauge = prometheus_client.Gauge(
            name, help, labels, registry=registry, multiprocess_mode=mode  # type: ignore[arg-type]
        )

    def refresh(self) -> None:
        for labels, value in self.read().items():
            target = self._gauge.labels(**dict(labels)) if self.labels else self._gauge
            target.set(value)


class Metrics:
    """Everything ``/metrics`` reports about the server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        if multiprocess_mode():
            multiprocess.MultiProcessCollector(self.registry)
        own = None if multiprocess_mode() else self.registry  # shared ones are read from files
        self._own = own
        self.webhook_requests = Counter(
            own, "botframework_webhook_requests_total", "Webhook POSTs by HTTP status.", "status"
        )
        self.events = Counter(
            own, "botframework_webhook_events_total", "Accepted events by kind.", "kind"
        )
        self.duplicates = Counter(
            own, "botframework_webhook_duplicates_total", "Events dropped as already received."
        )
        self.replies = Counter(own, "botframework_replies_total", "Replies the Send API accepted.")
        self.failures = Counter(
            own, "botframework_reply_failures_total", "Messages given up on, by reason.", "reason"
        )
        self.send_errors = Counter(
            own, "botframework_send_errors_total", "Failed Send API calls by error code.", "code"
        )
        self.send_retries = Counter(own, "botframework_send_retries_total", "Send API retries.")
        self.store_errors = Counter(
            own,
            "botframework_store_errors_total",
            "Failed store calls (retried), by operation.",
            "operation",
        )
        self.web_chat = Counter(own, "botframework_web_chat_messages_total", "Web chat messages.")
        self.ack_seconds = Histogram(
            own, "botframework_webhook_ack_seconds", "Time from request to acknowledgement."
        )
        self.reply_seconds = Histogram(
            own,
            "botframework_reply_seconds",
            "Time from acknowledgement to the reply being accepted.",
        )
        self.generate_seconds = Histogram(
            own, "botframework_generate_seconds", "Time one batched generate call took."
        )
        self.batch_size = Histogram(
            own, "botframework_batch_size", "Dialogues per generate call.", SIZE_BUCKETS
        )
        self.gauges: list[Gauge] = []

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.generate_seconds.observe(seconds)

    def add_gauge(
        self,
        name: str,
        help: str,
        read: Callable[[], dict[Labels, float]],
        labels: tuple[str, ...] = (),
        mode: str = "livesum",
    ) -> None:
        """A gauge read by ``read``; ``mode`` combines the workers' values (``livesum``,
        ``livemax``)."""
        self.gauges.append(Gauge(self._own, name, help, read, labels, mode))

    def refresh_gauges(self) -> None:
        for gauge in self.gauges:
            gauge.refresh()

    def render(self, extra: Iterable[str] = ()) -> str:
        self.refresh_gauges()
        lines = generate_latest(self.registry).decode().splitlines()
        return "\n".join([*lines, *extra]) + "\n"
