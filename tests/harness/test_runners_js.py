"""Commands for JS runners: the files of the ids, a name filter, the report path, the build first."""

from __future__ import annotations

import pytest
from swefarm.harness.runners import MAX_COMMAND_CHARS, test_command
from swefarm.harness.runners_js import NODE_REPORTER, js_command, split_id


def test_ids_split_into_file_and_title():
    assert split_id("test/a.test.js::group > it works") == ("test/a.test.js", "group > it works")
    assert split_id("test/a.test.js") == ("test/a.test.js", "")


def test_node_runs_the_files_with_the_leaf_names_and_swefarms_reporter():
    cmd = js_command("node", ["t/a.test.js::g > x (1)", "t/b.test.mjs::top", "t/a.test.js::other"], "/tmp/r")
    assert cmd.startswith("rm -f /tmp/r; d=$(mktemp -d /tmp/swefarm-node.XXXXXX)")
    assert NODE_REPORTER in cmd and "--test-reporter-destination=/tmp/r" in cmd
    assert r"--test-name-pattern='^x\ \(1\)$'" in cmd and "--test-name-pattern='^top$'" in cmd
    assert cmd.endswith(" t/a.test.js t/b.test.mjs")


@pytest.mark.parametrize("runner, word", [("jest", "-t"), ("vitest", "-t"), ("mocha", "--grep")])
def test_jest_vitest_and_mocha_filter_by_full_names(runner, word):
    cmd = js_command(runner, ["src/a.test.ts::parse > reads a date", "src/a.test.ts::x|y"], "/tmp/r")
    assert f"{word} '^ ?(?:parse\\ reads\\ a\\ date|x\\|y)$'" in cmd
    assert "./node_modules/.bin/" + runner in cmd and "/tmp/r" in cmd and cmd.count("src/a.test.ts") == 1


def test_a_whole_file_asked_for_runs_without_a_name_filter():
    cmd = js_command("jest", ["a.test.js::x", "b.test.js"], "/tmp/r")
    assert " -t " not in cmd and cmd.endswith("a.test.js b.test.js")


def test_too_many_names_run_the_files_whole_never_dropping_a_test():
    ids = [f"a.test.js::test number {i} " + "x" * 40 for i in range(3000)]
    cmd = js_command("node", ids, "/tmp/r")
    assert len(cmd) <= MAX_COMMAND_CHARS and "--test-name-pattern" not in cmd and cmd.endswith(" a.test.js")


def test_the_build_runs_first_and_a_failed_build_runs_no_tests():
    cmd = test_command("jest", ["a.test.ts::x"], "/tmp/r", build=["npm run build"])
    assert cmd.startswith("rm -f /tmp/r; { npm run build ; } >&2 || {") and "exit 2" in cmd


def test_no_tests_and_unknown_runners_are_refused():
    with pytest.raises(ValueError, match="no tests"):
        js_command("node", [], "/tmp/r")
    with pytest.raises(ValueError, match="unknown JS test runner"):
        js_command("ava", ["a.js::x"], "/tmp/r")


def test_a_compiled_test_runs_as_its_outdir_file_and_its_ids_keep_the_source_path():
    from swefarm.harness.recipe_js_scripts import compiled_path, source_path

    compiled = {"src/": "dist/esm/"}
    cmd = js_command("node", ["src/test/v4.test.ts::v4 > is random"], "/tmp/r", options=["--enable-source-maps"],
                     compiled=compiled)  # fmt: skip
    assert cmd.rstrip().endswith(" dist/esm/test/v4.test.js") and "node --enable-source-maps --test" in cmd
    assert source_path("dist/esm/test/v4.test.js", compiled) == "src/test/v4.test.ts"
    assert source_path("dist/esm/test/v4.test.mjs", compiled) == "src/test/v4.test.mts"
    assert compiled_path("src/test/a.test.mts", compiled) == "dist/esm/test/a.test.mjs"
    assert compiled_path("test/other.test.js", compiled) == "test/other.test.js"  # not under the sources: as is
    assert source_path("lib/x.test.js", compiled) == "lib/x.test.js"


def test_a_title_holding_a_nul_runs_its_file_whole_since_no_command_line_can_hold_it():
    cmd = js_command("vitest", ["test/parse.test.ts::parseURL > 'a\x00b'", "test/parse.test.ts::other"], "/tmp/r")
    assert "\x00" not in cmd and " -t " not in cmd and cmd.endswith(" test/parse.test.ts")
