"""`swefarm mine github|git|report`: pull requests in, validated tasks out, and the funnel between."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
app = typer.Typer(help="Mine repositories for tasks, and report what was kept.", no_args_is_help=True)

_SINCE = typer.Option(None, help="only PRs created on or after this date (YYYY-MM-DD or ISO time)")
_UNTIL = typer.Option(None, help="only PRs created on or before this date (a day includes all of it)")
_JUDGE = typer.Option(
    None,
    help="also ask a model whether each problem statement is thin or leaks the fix: a policy backend "
    "(transformers[:MODEL], openai:URL, vllm:MODEL)",
)
_MAX = typer.Option(None, "--max", help="at most this many candidates, newest first")
_WORKERS = typer.Option(4, help="candidates read at once")
_BUILD_WORKERS = typer.Option(2, help="image builds and validations at once")
_RUNS = typer.Option(2, help="gold runs per task in validation")
_CUTOFF = typer.Option(None, help="drop PRs created before this date (decontamination against a training cut-off)")
_MAX_FILES = typer.Option(15, help="most non-test files a gold patch may change")
_MAX_LINES = typer.Option(600, help="most lines a gold patch may change")
_BUILD = typer.Option(True, "--build/--no-build", help="build images and validate (--no-build: stop at tasks)")
_FORCE = typer.Option(False, help="process again candidates that already have a verdict")
_STATE = typer.Option(None, help="the miner's state file (default $SWEFARM_HOME/miner.db)")


def _date(value: str | None, name: str, end_of_day: bool = False) -> datetime | None:
    """A date option as an aware datetime (UTC unless it says otherwise); with `end_of_day`, a bare
    date means the last instant of that day, so `--until 2024-01-31` includes the 31st."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        console.print(f"[red]--{name} wants a date like 2024-01-31, got {value!r}[/]")
        raise typer.Exit(2) from None
    if end_of_day and _DAY.fullmatch(value.strip()):
        when = datetime.combine(when.date(), dtime.max)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


_LANG = typer.Option("python", "--lang", help="the tasks' language: python | javascript (js, ts)")


def _filters(
    require_issue: bool, cutoff: str | None, max_files: int, max_lines: int, allow_unknown_license: bool, lang: str
):
    from swefarm.miner.filters import FilterConfig

    language = {"js": "javascript", "ts": "javascript", "typescript": "javascript"}.get(lang, lang)
    if language not in ("python", "javascript"):
        console.print(f"[red]--lang wants python or javascript (js), got {lang!r}[/]")
        raise typer.Exit(2)
    return FilterConfig(
        language=language,
        require_issue=require_issue,
        cutoff=_date(cutoff, "cutoff"),
        max_files=max_files,
        max_lines=max_lines,
        allow_unknown_license=allow_unknown_license,
    )


def _run(
    source, git_dir, filters, workers: int, build_workers: int, runs: int, build: bool, force: bool, state, judge=None
):
    from swefarm.miner.pipeline import MineOptions, Miner
    from swefarm.miner.report import funnel_table
    from swefarm.miner.state import MinerState
    from swefarm.tasks.store import TaskStore

    options = MineOptions(
        workers=workers,
        build_workers=build_workers,
        validate_workers=build_workers,
        runs=runs,
        build=build,
        validate_tasks=build,
        force=force,
    )
    miner_state = MinerState(state)
    columns = (TextColumn("{task.description}", style="bold"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    model = _judge(judge) if judge else None
    try:
        with Progress(*columns, console=console) as progress:
            miner = Miner(
                source,
                git_dir,
                TaskStore(),
                miner_state,
                filters,
                options,
                progress=progress,
                log=console.print,
                judge=model,
            )
            summary = miner.run()
        console.print(funnel_table(miner_state.funnel(source.repo)))
        line = (
            f"this run: {summary.candidates} candidates ({summary.known} known from earlier runs), "
            f"{summary.tasks} new tasks, {summary.built} built, {summary.valid} valid in {summary.seconds:.0f}s"
        )
        if summary.api_calls is not None:
            line += f"; GitHub calls {summary.api_calls}, {summary.api_not_modified} answered from the cache"
        console.print(line)
    finally:
        miner_state.close()
        if model is not None:
            model.close()


def _judge(spec: str):
    from swefarm.cli.mine_judge import PolicyJudge

    try:
        return PolicyJudge(spec)
    except (ValueError, RuntimeError, OSError) as exc:
        console.print(f"[red]--judge {spec}: {exc}[/]")
        raise typer.Exit(2) from None


@app.command()
def github(
    repo: str = typer.Argument(..., help="OWNER/NAME"),
    since: str = _SINCE,
    until: str = _UNTIL,
    max_candidates: int = _MAX,
    workers: int = _WORKERS,
    build_workers: int = _BUILD_WORKERS,
    runs: int = _RUNS,
    base_url: str = typer.Option("https://api.github.com", help="API root (GitHub Enterprise: https://HOST/api/v3)"),
    repo_path: Path = typer.Option(None, help="a local clone or mirror of the repository (default: clone it)"),
    require_issue: bool = typer.Option(
        True, "--require-issue/--no-require-issue", help="keep only PRs that close an issue"
    ),
    cutoff: str = _CUTOFF,
    max_files: int = _MAX_FILES,
    max_lines: int = _MAX_LINES,
    allow_unknown_license: bool = typer.Option(False, help="keep repositories whose license is not recognised"),
    lang: str = _LANG,
    build: bool = _BUILD,
    force: bool = _FORCE,
    state: Path = _STATE,
    judge: str = _JUDGE,
) -> None:
    """Mine merged pull requests of a GitHub repository (token from GITHUB_TOKEN)."""
    from swefarm.harness.repos import resolve_repo
    from swefarm.miner.github_api import GitHubAPI, GitHubError
    from swefarm.miner.github_source import GitHubSource

    if repo.count("/") != 1 or not all(repo.split("/")):
        console.print(f"[red]want OWNER/NAME, got {repo!r}[/]")
        raise typer.Exit(2)
    filters = _filters(require_issue, cutoff, max_files, max_lines, allow_unknown_license, lang)
    api = GitHubAPI(base_url=base_url, on_wait=_countdown)
    try:
        source = GitHubSource(api, repo, _date(since, "since"), _date(until, "until", end_of_day=True), max_candidates)
        paths = {repo: repo_path.resolve()} if repo_path else {}
        _run(
            source,
            lambda: resolve_repo(repo, paths, log=console.print),
            filters,
            workers,
            build_workers,
            runs,
            build,
            force,
            state,
            judge,
        )
    except GitHubError as exc:
        console.print(f"[red]{exc}[/]")
        console.print("what was mined so far is saved; run the same command again to resume")
        raise typer.Exit(1) from None
    finally:
        api.close()


@app.command()
def git(
    path: Path = typer.Argument(..., help="a local clone or mirror", exists=True, file_okay=False),
    repo: str = typer.Option(..., help="OWNER/NAME the tasks belong to"),
    branch: str = typer.Option(None, help="the branch to mine (default: HEAD's)"),
    since: str = _SINCE,
    until: str = _UNTIL,
    max_candidates: int = _MAX,
    workers: int = _WORKERS,
    build_workers: int = _BUILD_WORKERS,
    runs: int = _RUNS,
    issues: Path = typer.Option(
        None, exists=True, dir_okay=False, help="JSONL of GitHub issues for problem statements"
    ),
    license: str = typer.Option(None, help="SPDX id of the license (default: read from the repository)"),
    plain_commits: bool = typer.Option(True, help="also mine plain commits that change code and tests"),
    require_issue: bool = typer.Option(
        False, "--require-issue/--no-require-issue", help="keep only changes whose messages close an issue"
    ),
    cutoff: str = _CUTOFF,
    max_files: int = _MAX_FILES,
    max_lines: int = _MAX_LINES,
    allow_unknown_license: bool = typer.Option(False, help="keep repositories whose license is not recognised"),
    lang: str = _LANG,
    build: bool = _BUILD,
    force: bool = _FORCE,
    state: Path = _STATE,
    judge: str = _JUDGE,
) -> None:
    """Mine the local git history of a repository (offline)."""
    from swefarm.harness.repos import RepoError
    from swefarm.miner.git_source import GitSource, default_branch
    from swefarm.miner.license import license_at

    if repo.count("/") != 1 or not all(repo.split("/")):
        console.print(f"[red]--repo wants OWNER/NAME, got {repo!r}[/]")
        raise typer.Exit(2)
    git_dir = path.resolve()
    try:
        branch = branch or default_branch(git_dir)
        spdx = license or license_at(git_dir, branch)
        source = GitSource(
            git_dir,
            repo,
            branch,
            _date(since, "since"),
            _date(until, "until", end_of_day=True),
            max_candidates,
            plain_commits=plain_commits,
            issues_file=issues,
            license=spdx,
        )
    except (RepoError, ValueError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    console.print(f"mining {repo} from {git_dir} ({branch}), license {spdx or 'not recognised'}")
    filters = _filters(require_issue, cutoff, max_files, max_lines, allow_unknown_license, lang)
    _run(source, lambda: git_dir, filters, workers, build_workers, runs, build, force, state, judge)


@app.command()
def report(
    repo: str = typer.Option(None, help="one repository (default: all)"),
    html: Path = typer.Option(None, help="write the funnel as an HTML page with a chart here"),
    as_json: bool = typer.Option(False, "--json", help="print the funnel as JSON"),
    state: Path = _STATE,
) -> None:
    """The funnel: candidates, linked, with tests, built, valid, and why the rest were dropped."""
    from swefarm.miner.report import funnel_json, funnel_table, write_html
    from swefarm.miner.state import MinerState
    from swefarm.tasks.store import TaskStore

    miner_state = MinerState(state)
    try:
        funnel = miner_state.funnel(repo)
        rows = [r for r in miner_state.rows(repo) if r.instance_id and r.stage == "valid"]
    finally:
        miner_state.close()
    if as_json:
        print(json.dumps(funnel_json(funnel), indent=2))
    else:
        console.print(funnel_table(funnel))
    if html:
        examples = []
        store = TaskStore()
        for row in rows[:20]:
            try:
                task = store.get(row.instance_id)
            except KeyError:
                continue
            examples.append(
                {
                    "instance_id": task.instance_id,
                    "status": str(task.status),
                    "title": row.record.title,
                    "problem_statement": task.problem_statement,
                    "url": task.provenance.pr_url or "",
                }
            )
        out = write_html(funnel, html, examples)
        console.print(f"wrote {out}")


def _countdown(seconds: float, why: str) -> None:
    """Wait `seconds` with a visible countdown."""
    end = time.monotonic() + seconds
    resume = datetime.now().astimezone().timestamp() + seconds
    console.print(
        f"[yellow]{why}: waiting {seconds:.0f}s (until {time.strftime('%H:%M:%S', time.localtime(resume))})[/]"
    )
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(10.0, left))
        if (left := end - time.monotonic()) > 1:
            console.print(f"[yellow]  resuming in {left:.0f}s[/]")
