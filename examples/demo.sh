#!/usr/bin/env bash
# exp-ci on the bundled example, offline: a DVC project in a new folder, three real
# experiments, then the comparison table and the winner. Usage: bash examples/demo.sh [DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/exp-ci-demo.XXXXXX")}
mkdir -p "$dir" && cd "$dir"
if [ -e .git ]; then
  echo "$dir already holds a Git repository; pass an empty or new folder" >&2
  exit 2
fi
cp "$here"/quickstart/{train.py,params.yaml,dvc.yaml} .
git init -q -b main
# DVC commits experiments as the Git user; give the demo one if this machine has none.
git config user.name >/dev/null || git config user.name "exp-ci demo"
git config user.email >/dev/null || git config user.email "demo@example.invalid"
dvc init -q
mkdir -p ../"$(basename "$dir")-dvc-storage"
dvc remote add -q -d storage ../"$(basename "$dir")-dvc-storage"
dvc repro -q
git add -A
git commit -q -m "quickstart baseline"
for lr in 0.05 0.2 0.5; do
  echo "dvc exp run -S train.lr=$lr" >&2
  dvc exp run --temp -q -n "lr-$lr" -S "train.lr=$lr"
done
echo
exp-ci show --metric accuracy --only-changed
echo
echo "winner: $(exp-ci best --metric accuracy)"
echo
echo "as markdown for a pull request:"
exp-ci show --metric accuracy --only-changed --format md
echo
echo "the project is in $dir; try: exp-ci -h, exp-ci show -C $dir --format json" >&2
