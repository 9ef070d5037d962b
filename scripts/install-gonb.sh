#!/usr/bin/env bash
# Installs the GoNB Jupyter kernel (github.com/janpfeifer/gonb v0.11.1) and goimports into
# TOOLS (default .tools/bin) when missing, and registers the kernel with Jupyter.
# `go install ...@v0.11.1` is refused for gonb (its go.mod has replace directives), so it is
# built from a scratch module with go get + go build.
set -euo pipefail
TOOLS=${1:-.tools/bin}
mkdir -p "$TOOLS"
TOOLS=$(cd "$TOOLS" && pwd)
if [ ! -x "$TOOLS/gonb" ] || [ ! -x "$TOOLS/goimports" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  (
    cd "$scratch"
    go mod init gonbtools >/dev/null 2>&1
    go get github.com/janpfeifer/gonb@v0.11.1 >/dev/null
    go build -o "$TOOLS/gonb" github.com/janpfeifer/gonb
    go get golang.org/x/tools/cmd/goimports@v0.36.0 >/dev/null
    go build -o "$TOOLS/goimports" golang.org/x/tools/cmd/goimports
  )
  echo "built gonb and goimports into $TOOLS"
fi
export PATH="$TOOLS:$PATH"
# Always (re)register: a kernel spec left by another checkout would point at its binary.
gonb --install --force_deps >/dev/null 2>&1
jupyter kernelspec list 2>/dev/null | grep -q '^ *gonb ' || { echo "gonb kernel registration failed" >&2; exit 1; }
