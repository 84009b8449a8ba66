"""The JavaScript demo task: a small Node project made with real git, an issue, and the commit fixing it.

Like tasks/demo.py (fixed dates, so the same commits and images every run): `slugify` in
CommonJS, tested with `node --test` (Node's own runner, so the image needs nothing from the
registry but its base). `swefarm demo --lang js` builds, validates and plays it.
"""

from __future__ import annotations

from pathlib import Path

from swefarm.tasks.demo import make_project
from swefarm.tasks.models import Environment, Task

INSTANCE_ID = "swefarm-demo__slugify-js-7"
REPO = "swefarm-demo/slugify-js"

PACKAGE = """{
  "name": "slugify",
  "version": "1.2.0",
  "description": "Turn titles into URL slugs",
  "main": "src/slugify.js",
  "scripts": { "test": "node --test" },
  "engines": { "node": ">=20" },
  "license": "MIT"
}
"""

SLUG_BUGGY = """'use strict';

/** Lower-case ASCII words joined by `separator`, at most `maxLength` characters. */
function slugify(text, { separator = '-', maxLength } = {}) {
  const ascii = text.normalize('NFKD').replace(/[\\u0300-\\u036f]/g, '');
  const words = ascii.toLowerCase().split(/[^a-z0-9]/);
  let slug = words.join(separator);
  if (maxLength !== undefined) slug = slug.slice(0, maxLength);
  return slug;
}

module.exports = { slugify };
"""

SLUG_FIXED = """'use strict';

/** Lower-case ASCII words joined by `separator`, at most `maxLength` characters. */
function slugify(text, { separator = '-', maxLength } = {}) {
  const ascii = text.normalize('NFKD').replace(/[\\u0300-\\u036f]/g, '');
  const words = ascii.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  let slug = words.join(separator);
  if (maxLength !== undefined) {
    slug = slug.slice(0, maxLength);
    while (slug.endsWith(separator)) slug = slug.slice(0, -separator.length);
  }
  return slug;
}

module.exports = { slugify };
"""

TESTS_OLD = """'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { slugify } = require('../src/slugify.js');

describe('slugify', () => {
  it('keeps simple words', () => {
    assert.equal(slugify('hello'), 'hello');
  });

  it('drops accents', () => {
    assert.equal(slugify('café'), 'cafe');
  });
});
"""

TESTS_NEW = (
    TESTS_OLD.removesuffix("});\n")
    + """
  it('collapses punctuation and spaces', () => {
    assert.equal(slugify('Hello, World!'), 'hello-world');
  });

  it('takes a custom separator', () => {
    assert.equal(slugify('  A  title  ', { separator: '_' }), 'a_title');
  });

  it('does not end on a separator when cut', () => {
    assert.equal(slugify('one two three', { maxLength: 8 }), 'one-two');
  });
});
"""
)

ISSUE = """slugify() leaves repeated and trailing separators

`slugify('Hello, World!')` returns `hello--world-` instead of `hello-world`: every punctuation \
mark and space becomes its own separator, and separators at the ends are kept. The same happens \
with a custom separator (`slugify('  A  title  ', { separator: '_' })` gives `__a__title__`), and \
`maxLength` can cut a slug right after a separator (`slugify('one two three', { maxLength: 8 })` \
gives `one-two-`).

Expected: words joined by exactly one separator, none at the start or the end."""


def make_repo(root: Path) -> tuple[Path, dict[str, str]]:
    """The project at the buggy commit, then the fix with its tests; returns the repo and the diffs."""
    before = {"package.json": PACKAGE, "README.md": "# slugify\n\nTurn titles into URL slugs.\n",
              ".gitignore": "node_modules/\n", "src/slugify.js": SLUG_BUGGY,
              "test/slugify.test.js": TESTS_OLD}  # fmt: skip
    after = {"src/slugify.js": SLUG_FIXED, "test/slugify.test.js": TESTS_NEW}
    return make_project(root / "slugify-js", before, after, "slugify 1.2.0", "Collapse repeated separators (#7)")


def make_task(commits: dict[str, str]) -> Task:
    """The task; its recipe is inferred from package.json when it is built (node --test, Node 20)."""
    return Task(
        instance_id=INSTANCE_ID,
        repo=REPO,
        base_commit=commits["base"],
        patch=commits["patch"],
        test_patch=commits["test_patch"],
        problem_statement=ISSUE,
        created_at="2024-05-02T10:00:00Z",
        version="1.2",
        language="javascript",
        environment_setup_commit=commits["base"],
        environment=Environment(),
    )
