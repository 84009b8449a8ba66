"""The protected set of JavaScript/TypeScript tasks: what an agent's change may not touch, in JS terms."""

from __future__ import annotations

import pytest
from swefarm.harness.protect import Context, drop_reason

JS = Context(language="javascript", fix_dirs={"src", "src/lib"}, test_paths={"test/slug.test.js"})


@pytest.mark.parametrize(
    "path, reason",
    [("test/slug.test.js", "test_file"),
     ("test/new.test.js", "test_dir"), ("test/helpers.js", "test_dir"), ("src/__tests__/x.test.ts", "test_dir"),
     ("__mocks__/fs.js", "test_dir"), ("spec/support/jasmine.json", "test_dir"),
     ("jest.config.js", "config"), ("packages/a/jest.config.ts", "config"), ("vitest.config.mts", "config"),
     ("vite.config.js", "config"), (".mocharc.yml", "config"), (".mocharc.json", "config"),
     ("babel.config.js", "config"), (".babelrc", "config"), ("tsconfig.json", "config"),
     ("tsconfig.build.json", "config"), ("package.json", "config"), ("packages/a/package.json", "config"),
     ("package-lock.json", "config"), ("yarn.lock", "config"), ("pnpm-lock.yaml", "config"), (".npmrc", "config"),
     ("src/setupTests.ts", "config"), ("jest.setup.js", "config"),
     ("node_modules/jest/bin/jest.js", "shadowing"), ("src/node_modules/assert/index.js", "shadowing"),
     (".pnp.cjs", "startup"), (".pnp.loader.mjs", "startup"),
     ("src/slugify.js", None), ("src/lib/words.ts", None), ("README.md", None), ("docs/testing.md", None)],
)  # fmt: skip
def test_js_paths(path, reason):
    assert drop_reason({"path": path, "status": "M"}, JS) == reason


def test_a_directory_the_fix_changes_is_no_test_directory():
    ctx = Context(language="javascript", fix_dirs={"src/__tests__"})
    assert drop_reason({"path": "src/__tests__/util.js", "status": "M"}, ctx) is None


def test_python_tasks_keep_their_rules():
    for path in ("package.json", "jest.config.js", "src/node_modules/x.js", "__tests__/a.js"):
        assert drop_reason({"path": path, "status": "M"}, Context()) is None
