#!/usr/bin/env bash
# Proves the published package works: `npm pack`, check what goes in it, install the tarball
# into a fresh project, then run `npx producer --help` and `npx producer demo` there.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm pack --pack-destination "$work" --silent >/dev/null
tarball=$(ls "$work"/ai-producer-*.tgz)
tar -tzf "$tarball" | sed 's|^package/||' | sort > "$work/contents.txt"
echo "packed $(wc -l < "$work/contents.txt") files, $(du -k "$tarball" | cut -f1) KiB"

for needed in bin/producer.js dist/index.js dist/index.d.ts dist/pricing/pricing.json \
  templates/agent_prompt_template.md demo/agents/demo-agent.mjs README.md LICENSE package.json; do
  grep -qx "$needed" "$work/contents.txt" || { echo "missing from the package: $needed"; exit 1; }
done
if grep -E '^(src|test|bench|scripts|\.ci)/|\.test\.|\.map$' "$work/contents.txt"; then
  echo "the package carries files it does not need (above)"; exit 1
fi

mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tarball"
npx --no-install producer --help | head -3
npx --no-install producer demo --dir demo | tail -8
test -f demo/agent-state/ledger.db
echo "pack smoke test passed"
