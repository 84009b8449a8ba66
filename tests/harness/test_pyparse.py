"""Parsing Python source in threads side by side (the miner validates tasks in a thread pool).

On CPython before 3.11.8 / 3.12.2, `ast.parse` in two threads at once can fail with "SystemError:
AST constructor recursion depth mismatch" when a thread switch lands inside the conversion (here:
finalizers of garbage run by the collector); CI on 3.11.7 failed so in the miner's tests. On this
machine's 3.11.7 the same loop with plain `ast.parse` fails about once per run.
"""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import pytest
from swefarm.harness import canaries, pyparse

pytestmark = pytest.mark.slow  # eight threads, a few seconds


class _Cycle:
    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        time.sleep(0)  # gives the interpreter lock away while the collector runs in another thread's parse


def test_parses_in_threads_side_by_side_never_fail():
    source = Path(canaries.__file__).read_text()
    failures: list[BaseException] = []

    def work() -> None:
        for _ in range(100):
            for _ in range(50):
                _Cycle()
            try:
                tree = pyparse.parse(source)
                assert tree.body
            except BaseException as exc:  # noqa: BLE001 - each is the finding
                failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    assert failures == []


def test_a_syntax_error_is_raised_as_by_ast():
    with pytest.raises(SyntaxError):
        pyparse.parse("def broken(:\n")
