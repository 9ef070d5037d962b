# Shared by the study scripts (source it after cd to the repository root):
# cgo flags for Debian's serial libhdf5, and helpers to read and skip finished solves.

# libhdf5 on Debian lives under hdf5/serial; cgo finds it through these flags (as the Makefile).
HDF5_CFLAGS=$(pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LDFLAGS=$(pkg-config --libs-only-L hdf5 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial)
export CGO_ENABLED=1 CGO_CFLAGS="${CGO_CFLAGS:-} $HDF5_CFLAGS" CGO_LDFLAGS="${CGO_LDFLAGS:-} $HDF5_LDFLAGS"

# solve_done DIR: true when DIR holds the metrics of a solve that ran to its end (a killed or
# cancelled solve writes "complete": false, or no metrics at all, and is redone).
solve_done() { grep -qs '"complete": true' "$1/metrics.json"; }

# metric KEY FILE: the first value of "KEY" in a metrics.json.
metric() { grep -o "\"$1\": [^,}]*" "$2" | head -1 | cut -d' ' -f2; }

# unet_bench_binary OUT [REV]: builds the diffusion/unet test binary (its benchmarks) into OUT
# from the working tree, or from commit REV in a temporary worktree (a baseline for the
# benchmark scripts' ENKG_BENCH_BASE).
unet_bench_binary() {
  if [[ -z "${2:-}" ]]; then
    go test -c -o "$1" ./diffusion/unet/
    return
  fi
  local wt
  wt=$(mktemp -d)
  git worktree add -q --detach "$wt" "$2"
  (cd "$wt" && go test -c -o "$1" ./diffusion/unet/)
  git worktree remove --force "$wt"
}
