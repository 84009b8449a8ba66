"""Prometheus metrics of one API process, in their own registry (several apps in one process never clash).

Counters and histograms are updated as requests and steps happen; the farm's gauges (live
sessions, workers, evaluations by status) are read from the database at scrape time, so every
API replica reports the same farm.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from swefarm.api.farm import db

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class FarmCollector:
    """Gauges from the database: sessions and evaluations by status, workers alive."""

    def __init__(self, database: db.Database):
        self.database = database

    def collect(self):
        sessions = GaugeMetricFamily("swefarm_sessions", "sessions by status", labels=["status"])
        evaluations = GaugeMetricFamily("swefarm_evaluations", "evaluation jobs by status", labels=["status"])
        workers = GaugeMetricFamily("swefarm_workers", "workers by status", labels=["status"])
        sandboxes = GaugeMetricFamily("swefarm_worker_sandboxes", "live sandboxes held by alive workers")
        with self.database.read() as conn:
            for table, family in ((db.sessions, sessions), (db.evaluations, evaluations), (db.workers, workers)):
                for status, count in conn.execute(select(table.c.status, func.count()).group_by(table.c.status)):
                    family.add_metric([status], count)
            held = conn.execute(select(func.sum(db.workers.c.sandboxes)).where(db.workers.c.status == "alive"))
            sandboxes.add_metric([], held.scalar() or 0)
        yield from (sessions, evaluations, workers, sandboxes)


class Metrics:
    def __init__(self, database: db.Database):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "swefarm_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "swefarm_http_request_seconds", "HTTP request latency", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.step_latency = Histogram(
            "swefarm_session_step_seconds", "session step latency through the API", buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )  # fmt: skip
        self.sessions_started = Counter("swefarm_sessions_started", "sessions created", registry=self.registry)
        self.sessions_failed = Counter(
            "swefarm_sessions_failed", "sessions that failed (worker lost, start failed)", registry=self.registry
        )
        self.evaluations_created = Counter("swefarm_evaluations_created", "evaluation jobs", registry=self.registry)
        self.workers_reaped = Counter("swefarm_workers_reaped", "dead workers cleaned up", registry=self.registry)
        self.registry.register(FarmCollector(database))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
