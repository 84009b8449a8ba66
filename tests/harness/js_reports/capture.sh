#!/usr/bin/env bash
# Makes the report files beside this script by running the real runners (node 20, jest 29, vitest 1,
# mocha 10) on the small project below, with the commands swefarm builds (harness/runners_js.py).
# Needs node and npm (the registry); run it from anywhere: it works in /tmp/swefarm-js-capture.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=/tmp/swefarm-js-capture
rm -rf "$work" && mkdir -p "$work/test" && cd "$work"
npm init -y >/dev/null && npm install --no-audit --no-fund -s jest@29 vitest@1 mocha@10 >/dev/null
cat > test/cases.test.js <<'JS'
const assert = require("node:assert");
const { describe, it, test } = require(process.env.RUNNER === "node" ? "node:test" : "./globals.js");
test("adds", () => { assert.strictEqual(1 + 1, 2); });
test("fails", () => { assert.strictEqual(1 + 1, 3); });
test("throws", () => { JSON.parse("{"); });
test.skip("skipped", () => {});
describe("group", () => {
  it("inner passes", () => {});
  it("inner fails", () => { assert.ok(false); });
  describe("deep", () => { it("x & <y>", () => {}); });
});
JS
cat > test/globals.js <<'JS'
module.exports = { describe: global.describe, it: global.it, test: global.test || global.it };
if (!global.test) module.exports.test.skip = global.it.skip;
JS
cat > test/hooks.test.js <<'JS'
const { describe, it, beforeEach } = require(process.env.RUNNER === "node" ? "node:test" : "./hooks-globals.js");
describe("hooked", () => {
  beforeEach(() => { throw new Error("set-up broke"); });
  it("never runs", () => {});
});
JS
cat > test/hooks-globals.js <<'JS'
module.exports = { describe: global.describe, it: global.it, beforeEach: global.beforeEach };
JS
printf 'this is not javascript (\n' > test/broken.test.js
cat > test/cases.vitest.test.mjs <<'JS'
import { describe, it, test, expect } from "vitest";
test("adds", () => { expect(1 + 1).toBe(2); });
test("fails", () => { expect(1 + 1).toBe(3); });
describe("group", () => { it("inner passes", () => {}); });
JS
cd "$work"
cmd() { python3 -c "import sys; from swefarm.harness.runners_js import js_command; print(js_command(*sys.argv[1:3], sys.argv[3]))" "$@"; }
ids='["test/cases.test.js::adds", "test/cases.test.js::fails", "test/cases.test.js::throws", "test/cases.test.js::skipped", "test/cases.test.js::group > inner passes", "test/cases.test.js::group > inner fails", "test/cases.test.js::group > deep > x & <y>", "test/hooks.test.js::hooked > never runs", "test/broken.test.js"]'
run() {  # runner, ids (a JSON list), report name
  c=$(python3 -c "import json,sys; from swefarm.harness.runners_js import js_command; print(js_command(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]))" "$1" "$2" "$here/$3")
  RUNNER=$1 bash -c "$c" > "$here/$3.log" 2>&1; echo "$1 exit code $?" >> "$here/$3.log"
}
run node "$ids" node.jsonl
run jest "$ids" jest.json
run mocha "${ids/, \"test\/broken.test.js\"/}" mocha.json
run vitest '["test/cases.vitest.test.mjs::adds", "test/cases.vitest.test.mjs::fails", "test/cases.vitest.test.mjs::group > inner passes"]' vitest.json
sed -i "s|$work|/CAPTURE|g" "$here"/*.json "$here"/*.log
