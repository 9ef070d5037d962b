#!/usr/bin/python3
"""Writes the numpy fixtures of datasets/testdata (run from that folder with Debian's
python3-numpy: `cd datasets/testdata && python3 make_fixtures.py`).

Element k (C order) of every real array is (k-5)*0.375 + 0.001*k cast to the dtype
(integers: 7k mod 97 - 40, unsigned: 7k mod 97); complex arrays have imaginary part
1 - 2*real. npy_test.go checks the same formula.

It also writes numpy-made seeds for FuzzReadNPY under fuzz/FuzzReadNPY in Go's corpus
format.
"""
import io
import os

import numpy as np


def pat(dtype, shape):
    n = int(np.prod(shape, dtype=np.int64))
    k = np.arange(n)
    dt = np.dtype(dtype)
    v = (k - 5) * 0.375 + 0.001 * k
    if dt.kind == 'c':
        a = (v + 1j * (1 - 2 * v)).astype(dt)
    elif dt.kind == 'f':
        a = v.astype(dt)
    elif dt.kind == 'u':
        a = (7 * k % 97).astype(dt)
    else:
        a = (7 * k % 97 - 40).astype(dt)
    return a.reshape(shape)


np.savez_compressed('fixture.npz',
                    f8=pat('<f8', (3, 4)),
                    f4=pat('<f4', (2, 3, 2)),
                    c16=pat('<c16', (2, 2)),
                    c8=pat('<c8', (3,)),
                    i8=pat('<i8', (5,)),
                    u1=pat('|u1', (4,)),
                    f8_fortran=np.asfortranarray(pat('<f8', (3, 4))),
                    f8_be=pat('>f8', (2, 2)))
np.save('fixture_f8.npy', pat('<f8', (3, 4)))
np.save('fixture_f4_fortran.npy', np.asfortranarray(pat('<f4', (2, 3, 4))))
np.save('fixture_c16_be.npy', pat('>c16', (3,)))

seeds = {
    'numpy_f8_2d': pat('<f8', (2, 3)),
    'numpy_f4_fortran': np.asfortranarray(pat('<f4', (2, 3))),
    'numpy_c8_be': pat('>c8', (2,)),
    'numpy_i4_scalar': pat('<i4', ()),
    'numpy_f2': pat('<f2', (3,)),
    'numpy_bool': np.array([True, False]),
}
os.makedirs('fuzz/FuzzReadNPY', exist_ok=True)
for name, a in seeds.items():
    b = io.BytesIO()
    np.save(b, a)
    data = b.getvalue()
    lit = ''.join('\\x%02x' % c for c in data)
    with open(os.path.join('fuzz/FuzzReadNPY', name), 'w') as f:
        f.write('go test fuzz v1\n[]byte("%s")\n' % lit)
