"""Counters and histograms rendered in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class Counter:
    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        return self.values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(labels)} {value:g}"


@dataclass
class Gauge:
    name: str
    help: str
    read: Callable[[], dict[Labels, float]]

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        for labels, value in sorted(self.read().items()):
            yield f"{self.name}{_labels(labels)} {value:g}"


@dataclass
class Histogram:
    name: str
    help: str
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        cumulative = 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            cumulative += count
            yield f'{self.name}_bucket{{le="{bound:g}"}} {cumulative}'
        yield f'{self.name}_bucket{{le="+Inf"}} {self.count}'
        yield f"{self.name}_sum {self.total:g}"
        yield f"{self.name}_count {self.count}"


class Metrics:
    """Everything ``/metrics`` reports about the server."""

    def __init__(self) -> None:
        self.webhook_requests = Counter(
            "botframework_webhook_requests_total", "Webhook POSTs by HTTP status."
        )
        self.events = Counter("botframework_webhook_events_total", "Accepted events by kind.")
        self.duplicates = Counter(
            "botframework_webhook_duplicates_total", "Events dropped as already received."
        )
        self.replies = Counter("botframework_replies_total", "Replies the Send API accepted.")
        self.failures = Counter(
            "botframework_reply_failures_total", "Messages given up on, by reason."
        )
        self.send_errors = Counter(
            "botframework_send_errors_total", "Failed Send API calls by error code."
        )
        self.send_retries = Counter("botframework_send_retries_total", "Send API retries.")
        self.store_errors = Counter(
            "botframework_store_errors_total", "Failed store calls (retried), by operation."
        )
        self.web_chat = Counter("botframework_web_chat_messages_total", "Web chat messages.")
        self.ack_seconds = Histogram(
            "botframework_webhook_ack_seconds", "Time from request to acknowledgement."
        )
        self.reply_seconds = Histogram(
            "botframework_reply_seconds", "Time from acknowledgement to the reply being accepted."
        )
        self.generate_seconds = Histogram(
            "botframework_generate_seconds", "Time one batched generate call took."
        )
        self.batch_size = Histogram(
            "botframework_batch_size", "Dialogues per generate call.", SIZE_BUCKETS
        )
        self.gauges: list[Gauge] = []

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.generate_seconds.observe(seconds)

    def add_gauge(self, name: str, help: str, read: Callable[[], dict[Labels, float]]) -> None:
        self.gauges.append(Gauge(name, help, read))

    def render(self, extra: Iterable[str] = ()) -> str:
        families = [
            self.webhook_requests,
            self.events,
            self.duplicates,
            self.replies,
            self.failures,
            self.send_errors,
            self.send_retries,
            self.store_errors,
            self.web_chat,
            self.ack_seconds,
            self.reply_seconds,
            self.generate_seconds,
            self.batch_size,
            *self.gauges,
        ]
        lines = [line for family in families for line in family.render()]
        return "\n".join([*lines, *extra]) + "\n"
