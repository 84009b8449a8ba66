"""JS canaries: one top-level test each, appended in the runner's own form, with known outcomes; and, on the
real Node base, node --test reports each as expected from a CommonJS and an ES module file."""

from __future__ import annotations

import random

import pytest
from swefarm.harness.canaries_js import KINDS, plant
from swefarm.harness.results import TestStatus

CJS = b"""const { describe, it } = require('node:test');
describe('slugify', () => {
  it('keeps simple words', () => {});
  it('drops accents', () => {});
});
"""
ESM = b"""import { describe, it } from 'node:test';
describe('slugify', () => { it('keeps simple words', () => {}); });"""


@pytest.mark.parametrize("runner", ["node", "jest", "vitest", "mocha"])
def test_every_kind_is_planted_once_at_the_end_and_no_line_moves(runner):
    planted, changed = plant(runner, {"t/a.test.js": CJS}, ["t/a.test.js::slugify > drops accents"], random.Random(3))
    assert sorted(c.kind for c in planted) == sorted(KINDS)
    assert {c.kind: c.expected for c in planted} == {"pass": TestStatus.PASSED, "assert": TestStatus.FAILED,
                                                     "raise": TestStatus.FAILED}  # fmt: skip
    text = changed["t/a.test.js"]
    assert text.startswith(CJS) and text.count(b"\n") == CJS.count(b"\n") + 3
    names = [c.id.split("::", 1)[1] for c in planted]
    assert len(set(names)) == 3 and not {"drops accents", "keeps simple words", "slugify drops accents"} & set(names)
    assert all(c.id.startswith("t/a.test.js::") and " > " not in c.id for c in planted)


def test_the_form_is_the_runners_own():
    rng = random.Random(5)
    forms = {runner: plant(runner, {"a.test.js": CJS}, [], rng)[1]["a.test.js"] for runner in ("node", "jest", "mocha")}
    assert b'require("node:test").test(' in forms["node"]
    assert b"globalThis.test(" in forms["jest"] and b"(globalThis.it || globalThis.test)(" in forms["mocha"]
    esm = plant("node", {"a.test.mjs": ESM}, [], rng)[1]["a.test.mjs"]
    assert esm.startswith(ESM + b"\n") and esm.count(b'from "node:test";') == 3
    vitest = plant("vitest", {"a.test.ts": CJS}, [], rng)[1]["a.test.ts"]
    assert vitest.count(b'from "vitest";') == 3


def test_names_differ_from_draw_to_draw():
    ids = {c.id for seed in range(5) for c in plant("node", {"a.test.js": CJS}, [], random.Random(seed))[0]}
    assert len(ids) >= 12


@pytest.mark.docker
def test_node_reports_the_canaries_as_expected_on_the_real_base(docker_client, tmp_path):
    import json

    from swefarm.harness.parsers import parse
    from swefarm.harness.runners_js import js_command
    from swefarm.sandbox.node_bases import NODE_BASES, ensure_node_base

    spec = NODE_BASES["20"]
    ensure_node_base(docker_client, spec, log=lambda *a: None)
    planted, files = [], {}
    for path, source in {"test/a.test.js": CJS, "test/b.test.mjs": ESM}.items():
        found, changed = plant("node", {path: source}, [], random.Random(len(path)))
        planted += found
        files.update(changed)
    for path, content in files.items():
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_bytes(content)
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(0o755)  # readable by the sandbox user
    command = js_command("node", [c.id for c in planted], "/tmp/report") + "; echo rc=$?; cat /tmp/report"
    out = docker_client.containers.run(
        spec.tag, ["bash", "-c", command], working_dir="/testbed", user="1000", network_mode="none", remove=True,
        volumes={str(tmp_path): {"bind": "/testbed", "mode": "ro"}},
    ).decode()  # fmt: skip
    report = "\n".join(line for line in out.splitlines() if line.startswith("{") and json.loads(line).get("file"))
    statuses = parse("node", "", report)
    assert "rc=1" in out
    assert {c.id: statuses.get(c.id) for c in planted} == {c.id: c.expected for c in planted}


def test_the_canaries_assert_the_way_the_files_tests_do():
    """Code that patches the assertion its tests call (`assert.equal = () => {}`) passes the failing canary too."""
    rng = random.Random(1)
    cjs = b"const assert = require('node:assert/strict');\nit('a', () => { assert.equal(f(), 2); assert.ok(g()); });\n"
    text = b"".join(plant("node", {"a.test.js": cjs}, [], rng)[1].values())
    assert text.count(b'require("node:assert/strict").equal(') == 2  # the pass and the assert kinds
    esm = b"import assert from 'assert';\ntest('a', () => { assert.deepStrictEqual(f(), [1]); });\n"
    text = b"".join(plant("node", {"a.test.mjs": esm}, [], rng)[1].values())
    assert text.count(b'from "assert";') == 2 and text.count(b".deepStrictEqual(") == 3
    jest = b"test('a', () => { expect(f()).toBe(1); });\n"
    assert b"globalThis.expect(" in b"".join(plant("jest", {"a.test.js": jest}, [], rng)[1].values())
    plain = b"test('a', () => { if (f() !== 1) throw new Error('x'); });\n"
    assert b"throw new Error(" in b"".join(plant("mocha", {"a.test.js": plain}, [], rng)[1].values())


def test_in_typescript_each_canary_follows_a_ts_ignore_and_imports_the_assertion_module_whole():
    source = b'import { test } from "node:test";\nimport assert from "node:assert";\n' \
             b'test("adds two", () => { assert.strictEqual(1 + 1, 2); });\n'  # fmt: skip
    for seed in range(6):
        text = plant("node", {"src/t/a.test.ts": source}, [], random.Random(seed))[1]["src/t/a.test.ts"]
        added = text[len(source) :].decode().splitlines()
        assert added[0::2] == ["// @ts-ignore"] * 3, added
        assert all(' from "node:assert";' not in line or "import * as " in line for line in added[1::2])
