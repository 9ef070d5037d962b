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
