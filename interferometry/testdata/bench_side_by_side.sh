#!/bin/sh
# Runs the numpy baseline and the Go benchmarks of the black-hole forward model back to back
# (same machine, same load). From the repository root: sh interferometry/testdata/bench_side_by_side.sh
set -e
(cd interferometry/testdata && /usr/bin/python3 bench_numpy.py)
go test -run '^$' -bench 'BenchmarkDFTOne|BenchmarkDFTBatch256|BenchmarkBlackHole' -benchmem -benchtime 2s ./interferometry
(cd interferometry/testdata && /usr/bin/python3 bench_numpy.py)
