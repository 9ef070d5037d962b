#!/usr/bin/env bash
# Executes every notebook in notebooks/ headless with the GoNB kernel and fails on any error.
# GoNB reports compile errors, panics and non-zero exits as text while nbconvert still exits 0,
# so the executed notebooks are scanned for them (scripts/check-notebooks.py).
set -euo pipefail
TOOLS=$(cd "${1:-.tools/bin}" && pwd)
export PATH="$TOOLS:$PATH"
cd notebooks
mkdir -p .executed
status=0
for nb in *.ipynb; do
  [ -e "$nb" ] || continue
  echo "== notebook $nb"
  start=$(date +%s)
  if ! timeout 900 jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
      --output-dir .executed --output "$nb" "$nb" 2> ".executed/${nb%.ipynb}.log"; then
    echo "nbconvert failed for $nb:"; tail -20 ".executed/${nb%.ipynb}.log"; status=1; continue
  fi
  if ! python3 ../scripts/check-notebooks.py ".executed/$nb"; then
    echo "   FAILED: errors in the executed notebook notebooks/.executed/$nb"; status=1; continue
  fi
  echo "   ok ($(( $(date +%s) - start )) s)"
done
exit $status
