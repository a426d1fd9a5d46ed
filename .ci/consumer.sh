#!/usr/bin/env bash
# Consumer check (issue 12): pack the package as npm would publish it, install the tarball into a fresh
# project outside the repository, and use it as an app would: ESM, CommonJS (with and without Node's
# require(esm)), a TypeScript CommonJS app, the README's quick start type-checked as TypeScript
# (strict, module nodenext) both as ESM and as CommonJS, and an app with an unreachable Redis that must
# exit by itself within 500 ms of close(). One line per check; the failing step's output on failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
apps="$root/.ci/consumer"
work="$(mktemp -d "${TMPDIR:-/tmp}/herdcache-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log="$work/step.log"

# Issue 12 item 5: an app that forgets nothing but close() must exit by itself promptly, even with Redis
# unreachable. Set to 1 only to report a regression here as a KNOWN FAILURE without failing CI.
EXIT_CHECK_KNOWN_FAILURE=0
EXIT_LIMIT_MS=500

# step NAME COMMAND...: runs COMMAND with its output in the log; shows the log and stops on failure.
step() {
  local name=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "consumer check FAILED at: $name" >&2
    tail -n 80 "$log" >&2
    exit 1
  fi
}

dev_version() { node -p "require('$root/package.json').devDependencies['$1']"; }

# 1. Pack (runs `prepare`, i.e. the build) and check what the tarball holds.
cd "$root"
step "npm pack" npm pack --pack-destination "$work"
tarball=$(echo "$work"/herdcache-*.tgz)
tar -tzf "$tarball" | sed 's|^package/||' | sort >"$work/files"
missing=""
for file in package.json README.md LICENSE CHANGELOG.md dist/index.js dist/index.d.ts dist/http/index.js \
  dist/http/index.d.ts dist/cjs/package.json dist/cjs/index.js dist/cjs/index.d.ts dist/cjs/http/index.js \
  dist/cjs/http/index.d.ts; do
  grep -qx "$file" "$work/files" || missing="$missing $file"
done
[ -z "$missing" ] || { echo "consumer check FAILED: the tarball lacks$missing" >&2; exit 1; }
if grep -E '\.map$|^src/|^test/' "$work/files" >&2; then
  echo "consumer check FAILED: the tarball ships the files above" >&2
  exit 1
fi
echo "consumer: packed $(basename "$tarball"), $(wc -l <"$work/files") files"

# 2. A fresh project (CommonJS by default, as `npm init` makes it) with the tarball and what the apps use.
app="$work/app"
mkdir "$app"
echo '{ "name": "herdcache-consumer", "version": "1.0.0", "private": true }' >"$app/package.json"
cp "$apps"/{esm.mjs,cjs.cjs,ts-cjs.cts,exit.mjs,tsconfig.json,tsconfig.commonjs.json} "$app/"
cd "$app"
step "npm install" npm install --no-audit --no-fund --prefer-offline "$tarball" \
  "express@$(dev_version express)" "@types/express@$(dev_version @types/express)" \
  "@types/node@$(dev_version @types/node)" "typescript@$(dev_version typescript)"

# 3. Plain JavaScript, both module systems.
step "ESM app" node esm.mjs
sed -n 1p "$log"
step "CommonJS app" node cjs.cjs
sed -n 1p "$log"
if [ "$(node -p 'process.features.require_module === true')" = true ]; then
  # What Node releases without require(esm) (before 20.19 and 22.12) load: the CommonJS build.
  step "CommonJS app without require(esm)" node --no-experimental-require-module cjs.cjs
  sed -n 1p "$log"
fi

# 4. TypeScript (strict): the README's quick start as ESM and as CommonJS, and a CommonJS app that also
# runs; `npx --no-install tsc` is the TypeScript installed above.
snippet=$(awk '/^## Quick start/ { on = 1 } on && /^```ts/ { grab = 1; next } grab && /^```/ { exit } grab' \
  "$root/README.md")
[ -n "$snippet" ] || { echo "consumer check FAILED: no ts block under '## Quick start' in README.md" >&2; exit 1; }
for ext in mts cts; do
  { cat "$apps/quickstart-prelude.ts"; echo; echo "$snippet"; } >"quickstart.$ext"
done
step "tsc (module nodenext, strict)" npx --no-install tsc -p tsconfig.json
# The CommonJS files again as older TypeScript projects set up: module commonjs (node10 resolution).
step "tsc (module commonjs, strict)" npx --no-install tsc -p tsconfig.commonjs.json
step "TypeScript CommonJS app" node out/ts-cjs.cjs
echo "consumer: README quick start type-checks (strict; nodenext ESM and CommonJS, commonjs); $(sed -n 1p "$log")"

# 5. Unreachable Redis: the process must exit by itself within EXIT_LIMIT_MS of close(); with the ioredis a
# fresh install resolves, then with the one the lockfile pins (the oldest the dependency range allows).
exit_failures=0
exit_check() {
  local ioredis after detail closing closed exited
  ioredis=$(node -p "require(require.resolve('ioredis/package.json', { paths: [require('path').dirname(require.resolve('herdcache/package.json'))] })).version")
  local status=0
  timeout 10 node exit.mjs >"$log" 2>&1 || status=$?
  exited=$(date +%s%3N)
  if ! read -r _ closing closed < <(grep '^close ' "$log") || { [ "$status" != 0 ] && [ "$status" != 124 ]; }; then
    echo "consumer check FAILED at: exit app (ioredis $ioredis), status $status" >&2
    tail -n 80 "$log" >&2
    exit 1
  fi
  after=$((exited - closing))
  detail="ioredis $ioredis: exited ${after} ms after close() (close() took $((closed - closing)) ms; limit ${EXIT_LIMIT_MS} ms)"
  [ "$status" != 124 ] || detail="$detail, killed after 10 s"
  if [ "$after" -le "$EXIT_LIMIT_MS" ]; then
    echo "consumer: unreachable Redis, $detail"
  elif [ "$EXIT_CHECK_KNOWN_FAILURE" = 1 ]; then
    echo "consumer: KNOWN FAILURE (issue 12 item 5): unreachable Redis, $detail"
    exit_failures=$((exit_failures + 1))
  else
    echo "consumer check FAILED: unreachable Redis, $detail" >&2
    exit 1
  fi
}
exit_check
locked=$(node -p "require('$root/package-lock.json').packages['node_modules/ioredis'].version")
step "npm install ioredis@$locked" npm install --no-audit --no-fund --prefer-offline "ioredis@$locked"
exit_check
if [ "$EXIT_CHECK_KNOWN_FAILURE" = 1 ] && [ "$exit_failures" = 0 ]; then
  echo "consumer: the exit check passes now: set EXIT_CHECK_KNOWN_FAILURE=0 in .ci/consumer.sh"
fi
echo "consumer check passed"
