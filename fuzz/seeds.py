#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# seeds.py - write the small seed corpora in fuzz/corpus/<target>/.
# Pages are packed from the ABI (docs/abi.md), little-endian.  Run from the
# top of the tree; the output is committed, so this runs only when the
# seeds change.
import os
import struct

PERIOD_1GHZ = 0x89705F4136B4A597  # shift 29
ALL_ERR = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6)


def page(size=4096, magic=0x4B4C4356, version=1, counter_id=1, time_type=1,
         seq=2, marker=7, flags=ALL_ERR | 1, status=2, hint=0, tai=37,
         leap=0, shift=29, cv=10**12, period=PERIOD_1GHZ, est_rate=None,
         max_rate=None, sec=1700000000, frac=1 << 63, est=100, mx=1000,
         gen=3, length=112):
    est_rate = period // 10**6 if est_rate is None else est_rate
    max_rate = period // 10**5 if max_rate is None else max_rate
    b = struct.pack('<IIHBBIQQ2xBBhBBQQQQQQQQQ', magic, size, version,
                    counter_id, time_type, seq, marker, flags, status, hint,
                    tai, leap, shift, cv, period, est_rate, max_rate, sec,
                    frac, est, mx, gen)
    assert len(b) == 112
    return (b + bytes(length))[:length]


def write(target, name, data):
    d = os.path.join('fuzz', 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def page_seeds():
    def pre(counter, drift=50000):
        return struct.pack('<QI', counter, drift)
    c = 10**12 + 5 * 10**9
    write('fuzz_page', 'precise-tai', pre(c) + page())
    write('fuzz_page', 'precise-utc', pre(c) + page(time_type=0))
    write('fuzz_page', 'before-calibration', pre(10**12 - 3 * 10**9) + page())
    write('fuzz_page', 'no-rates', pre(c) + page(flags=(1 << 5) | (1 << 6) | 1))
    write('fuzz_page', 'est-only-rate', pre(c) + page(flags=(1 << 3) | (1 << 5) | (1 << 6) | 1,
                                                        est_rate=PERIOD_1GHZ // 1000))
    write('fuzz_page', 'basic-mode', pre(0) + page(counter_id=0xff, period=0, flags=0))
    write('fuzz_page', 'odd-seq', pre(c) + page(seq=3))
    write('fuzz_page', 'min-size', pre(c) + page(size=32, length=32))
    write('fuzz_page', 'size-to-frac', pre(c) + page(size=0x58, length=0x58))
    write('fuzz_page', 'bad-magic', pre(c) + page(magic=0x12345678))
    write('fuzz_page', 'bad-version', pre(c) + page(version=2))
    write('fuzz_page', 'size-beyond', pre(c) + page(size=8192, length=4096))
    write('fuzz_page', 'short', pre(c) + page()[:20])
    write('fuzz_page', 'year-2262', pre(c) + page(sec=9223372035, frac=(1 << 64) - 1))
    write('fuzz_page', 'max-shift', pre((1 << 64) - 1) + page(shift=63, cv=0, period=(1 << 64) - 1))
    write('fuzz_page', 'bad-shift', pre(c) + page(shift=64))
    write('fuzz_page', 'leap-pos', pre(c) + page(leap=3, hint=1, sec=1782863999))
    write('fuzz_page', 'smeared-type', pre(c) + page(time_type=3))
    write('fuzz_page', 'huge-errors', pre(c) + page(est=(1 << 64) - 2, mx=(1 << 64) - 2))


def arith_seeds():
    def rec(op, *words):
        return bytes([op]) + b''.join(struct.pack('<Q', w) for w in words)
    write('fuzz_arith', 'eval-1ghz', rec(0, 10**12, PERIOD_1GHZ, 1700000000, 1 << 63, 29, 10**12 + 12345))
    write('fuzz_arith', 'eval-negative', rec(0, 10**12, PERIOD_1GHZ, 5, 0, 29, 1))
    write('fuzz_arith', 'scale', rec(1, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 1000000000, 64, 1))
    write('fuzz_arith', 'growth', rec(2, 10**9, PERIOD_1GHZ // 10**5, 29, 1000000000, 1))
    write('fuzz_arith', 'period', rec(3, 10**9, 10**9))
    write('fuzz_arith', 'period-slow', rec(3, 999999999, 1))
    write('fuzz_arith', 'nsec-frac', rec(4, 999999999))
    write('fuzz_arith', 'cmp', rec(5, 1, 2, 3, 4, 1, 2, 5, 6))
    write('fuzz_arith', 'div', rec(6, 1, 2, 3, 0, 7))
    write('fuzz_arith', 'mul', rec(7, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF))


if __name__ == '__main__':
    page_seeds()
    arith_seeds()
