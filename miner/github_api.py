"""PyGithub, made patient and frugal: rate limits waited out with a countdown, errors explained,
and GET responses cached with their ETags so that asking again costs nothing.

`GitHubAPI.call(fn)` runs any PyGithub call with the waiting and retrying; `get_json`/`paginate`
are conditional GETs through PyGithub's requester (a 304 does not count against GitHub's rate
limit). The cache lives in one SQLite file ($SWEFARM_HOME/github-cache.db by default).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import github
import requests
from github import Auth, Github, GithubException
from swefarm.tasks.database import enable_wal, retry_while_locked

from swefarm.settings import current, swefarm_home

DEFAULT_BASE_URL = "https://api.github.com"
T = TypeVar("T")
#: on_wait(seconds, why) waits `seconds` (a caller's version shows a countdown).
WaitHook = Callable[[float, str], None]


class GitHubError(RuntimeError):
    """A GitHub request failed in a way retrying does not fix; the message says what to do."""


class GitHubAPI:
    """One authenticated PyGithub client with retries, rate-limit waits and a response cache."""

    def __init__(
        self,
        token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        throttle_s: float | None = None,
        cache_path: Path | None = None,
        on_wait: WaitHook | None = None,
        retries: int = 4,
        max_wait_s: float = 3700.0,
    ):
        token = token if token is not None else current().github_token
        if throttle_s is None:  # GitHub asks integrators to space requests; test servers need not
            throttle_s = 0.25 if base_url.rstrip("/") == DEFAULT_BASE_URL else 0.0
        self.base_url = base_url.rstrip("/")
        self.gh = Github(
            auth=Auth.Token(token) if token else None,
            base_url=self.base_url,
            retry=None,  # we retry ourselves, visibly
            per_page=100,
            seconds_between_requests=throttle_s or None,
            timeout=30,
        )
        self.has_token = bool(token)
        self.on_wait = on_wait or _print_wait
        self.retries = retries
        self.max_wait_s = max_wait_s
        self.calls = 0  # calls that succeeded (a PyGithub list read counts once)
        self.not_modified = 0  # conditional GETs answered 304: served from the cache, no budget spent
        self._cache = _Cache(cache_path or swefarm_home() / "github-cache.db")

    def close(self) -> None:
        self._cache.close()
        self.gh.close()

    # -- running calls ---------------------------------------------------------------------------

    def call(self, fn: Callable[[], T], what: str) -> T:
        """Run `fn` (PyGithub calls), waiting out rate limits and retrying transient failures."""
        attempt = 0
        while True:
            try:
                result = fn()
                self.calls += 1
                return result
            except github.RateLimitExceededException as exc:
                self._wait(self._rate_limit_wait(exc), f"GitHub rate limit reached while {what}")
            except (github.BadCredentialsException, github.TwoFactorException):
                raise GitHubError(
                    f"GitHub rejected the token (401) while {what}: set GITHUB_TOKEN to a valid token"
                ) from None
            except github.UnknownObjectException:
                raise GitHubError(
                    f"not found (404) while {what}: check the name"
                    + ("" if self.has_token else ", or set GITHUB_TOKEN if the repository is private")
                ) from None
            except GithubException as exc:
                attempt += 1
                message = _message(exc)
                if exc.status in (500, 502, 503, 504) and attempt <= self.retries:
                    self._wait(2.0**attempt, f"GitHub answered {exc.status} while {what}; retrying")
                    continue
                if exc.status == 403:
                    raise GitHubError(f"forbidden (403) while {what}: {message}") from None
                raise GitHubError(f"GitHub answered {exc.status} while {what}: {message}") from None
            except (requests.RequestException, OSError) as exc:
                attempt += 1
                if attempt > self.retries:
                    raise GitHubError(f"cannot reach {self.base_url} while {what}: {exc}") from None
                self._wait(2.0**attempt, f"network error while {what} ({type(exc).__name__}); retrying")

    def _rate_limit_wait(self, exc: GithubException) -> float:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        if retry_after := headers.get("retry-after"):  # a secondary ("abuse") limit says how long
            return float(retry_after)
        if headers.get("x-ratelimit-remaining") == "0" and (reset := headers.get("x-ratelimit-reset")):
            return max(0.0, float(reset) - time.time()) + 1.0
        return 60.0  # GitHub's advice for a secondary limit without Retry-After

    def _wait(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait_s:
            raise GitHubError(f"{why}: the wait ({seconds:.0f}s) is longer than allowed ({self.max_wait_s:.0f}s)")
        self.on_wait(seconds, why)

    # -- cached GETs -----------------------------------------------------------------------------

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
        """GET `path` (relative to the API root, or an absolute URL from a Link header), conditionally."""
        key = _cache_key(self.base_url, path, params)
        cached = self._cache.get(key)
        headers = {"If-None-Match": cached[0]} if cached else {}

        def fetch():
            return self.gh.requester.requestJsonAndCheck("GET", path, parameters=params, headers=headers)

        answer_headers, data = self.call(fetch, f"reading {path}")
        if data is None and cached:  # 304 Not Modified: the cached body is still current
            self.not_modified += 1
            return json.loads(cached[1]), json.loads(cached[2])
        if etag := answer_headers.get("etag"):
            link = {"link": answer_headers["link"]} if "link" in answer_headers else {}
            self._cache.put(key, etag, json.dumps(data), json.dumps(link))
        return data, answer_headers

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, page by page (following the Link header), each page cached."""
        url: str | None = path
        query = dict(params or {}, per_page=100)
        while url:
            data, headers = self.get_json(url, query)
            yield from data or []
            url, query = _next_link(headers.get("link", "")), None


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    return str(data.get("message") or exc.data or exc)[:300]


def _print_wait(seconds: float, why: str) -> None:
    """Wait, printing the time left every 10 seconds."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        print(f"{why}: resuming in {left:.0f}s", flush=True)
        time.sleep(min(10.0, left))


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        if match := re.search(r'<([^>]+)>\s*;\s*rel="next"', part):
            return match.group(1)
    return None


def _cache_key(base_url: str, path: str, params: dict | None) -> str:
    return json.dumps([base_url, path, sorted((params or {}).items())], default=str)


class _Cache:
    """url -> (etag, body, headers) in SQLite, shared by threads."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        db = self._db
        retry_while_locked(lambda: enable_wal(db))
        table = "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, etag TEXT, body TEXT, headers TEXT)"
        retry_while_locked(lambda: db.execute(table))

    def get(self, key: str) -> tuple[str, str, str] | None:
        with self._lock:
            return self._db.execute("SELECT etag, body, headers FROM responses WHERE key=?", (key,)).fetchone()

    def put(self, key: str, etag: str, body: str, headers: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?,?,?,?)", (key, etag, body, headers))

    def close(self) -> None:
        self._db.close()
