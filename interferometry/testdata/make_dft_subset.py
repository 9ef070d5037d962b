# Provenance of dft_A_subset.npy / dft_A_subset_cols.npy: a column subset of the reference
# dft_A_sample.npy (84 rows of ehtim's DFT matrix, 5.5 MB), kept small for the repository.
# Run from this directory with the reference folder as argument:
#   /usr/bin/python3 make_dft_subset.py /path/to/shared/reference/eht
import sys
import numpy as np
ref = sys.argv[1]
A = np.load(ref + "/dft_A_sample.npy")
cols = np.unique(np.concatenate([np.arange(3, 4096, 16), [10 * 64 + 40, 0, 4095, 31 * 64 + 31, 32 * 64 + 32]])).astype(np.int64)
np.save("dft_A_subset.npy", np.ascontiguousarray(A[:, cols]))
np.save("dft_A_subset_cols.npy", cols)
