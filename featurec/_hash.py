"""Hash primitives bit-exact with TensorFlow's feature-column hashing.

TensorFlow hashes strings with FarmHash ``Fingerprint64`` (the platform
independent ``farmhashna::Hash64``), hashes integers by hashing their decimal
``as_string`` form, and chains crossed features with ``FingerprintCat64``.
This module implements those three functions in numba from the published
algorithm, plus batch kernels that reduce the hashes modulo a bucket count.

All arithmetic is on ``uint64`` modulo 2**64. Every constant and shift amount is
an ``np.uint64`` so numba never promotes a mixed signed/unsigned expression to
float64.
"""

import sys

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core.errors import TypingError
from numba.extending import intrinsic

_K0 = np.uint64(0xC3A5C85C97CB3127)
_K1 = np.uint64(0xB492B66FBE98F273)
_K2 = np.uint64(0x9AE16A3B2F90404F)
_K_MUL = np.uint64(0xC6A4A7935BD1E995)  # FingerprintCat64 multiplier.

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U8 = np.uint64(8)
_U9 = np.uint64(9)
_U47 = np.uint64(47)
_U64 = np.uint64(64)
_U113 = np.uint64(113)
_UFF = np.uint64(0xFF)
_U32_MASK = np.uint64(0xFFFFFFFF)
_SEED = np.uint64(81)

# Batches below this size hash on one thread. Idle 2-core machine, 8-byte
# strings, 1 thread vs prange on 2: 1,024 items 11 vs 7 us, 16,384 items 173
# vs 84 us, 1M items 11.9 vs 6.1 ms. The threshold sits well above the
# break-even because waking a sleeping worker (OMP_WAIT_POLICY=PASSIVE, or a
# busy machine) costs tens of microseconds.
PARALLEL_MIN_ITEMS = 8192


# ---------------------------------------------------------------------------
# Mixing steps shared by the buffer and the integer front ends.
# ---------------------------------------------------------------------------
# Every helper is inlined at numba IR level: a non-inlined call that takes the
# byte array costs an NRT incref/decref pair per string, which measured as a
# third of the time of hashing short strings.


@njit(cache=True, inline="always")
def _rot(v, r):
    # Rotate right; r is never 0 in FarmHash.
    return (v >> np.uint64(r)) | (v << np.uint64(64 - r))


@njit(cache=True, inline="always")
def _shift_mix(v):
    return v ^ (v >> _U47)


@njit(cache=True, inline="always")
def _hash_len16(u, v, mul):
    a = (u ^ v) * mul
    a ^= a >> _U47
    b = (v ^ a) * mul
    b ^= b >> _U47
    return b * mul


@njit(cache=True, inline="always")
def _mix_len8to16(n, first64, last64):
    """HashLen0to16 for 8 <= n <= 16, from Fetch64(s) and Fetch64(s+n-8)."""
    mul = _K2 + np.uint64(n) * _U2
    a = first64 + _K2
    c = _rot(last64, 37) * mul + a
    d = (_rot(a, 25) + last64) * mul
    return _hash_len16(c, d, mul)


@njit(cache=True, inline="always")
def _mix_len4to7(n, first32, last32):
    """HashLen0to16 for 4 <= n <= 7, from Fetch32(s) and Fetch32(s+n-4)."""
    mul = _K2 + np.uint64(n) * _U2
    return _hash_len16(np.uint64(n) + (first32 << _U3), last32, mul)


@njit(cache=True, inline="always")
def _mix_len1to3(n, a, b, c):
    """HashLen0to16 for 1 <= n <= 3, from bytes s[0], s[n>>1], s[n-1]."""
    y = (np.uint64(a) + (np.uint64(b) << _U8)) & _U32_MASK
    z = (np.uint64(n) + (np.uint64(c) << _U2)) & _U32_MASK
    return _shift_mix((y * _K2) ^ (z * _K0)) * _K2


@njit(cache=True, inline="always")
def _mix_len17to32(n, f0, f8, fn8, fn16):
    """HashLen17to32 from Fetch64 at s, s+8, s+n-8 and s+n-16."""
    mul = _K2 + np.uint64(n) * _U2
    a = f0 * _K1
    c = fn8 * mul
    d = fn16 * _K2
    return _hash_len16(
        _rot(a + f8, 43) + _rot(c, 30) + d, a + _rot(f8 + _K2, 18) + c, mul
    )


# ---------------------------------------------------------------------------
# Fingerprint64 of a byte buffer.
# ---------------------------------------------------------------------------


def _unaligned_load(bits):
    """An intrinsic `load(arr, p)`: the `bits`-bit little-endian word at byte
    p of a contiguous uint8 array, as uint64, in one unaligned load.

    Assembling the word byte by byte measured 8.0 ns per 8-byte string
    (LLVM did not fold the bytes into one load) against 1.2 ns with a load.
    Callers guarantee `p + bits / 8 <= len(arr)`, as for the byte reads.
    """
    word = ir.IntType(bits)

    @intrinsic
    def load(typingctx, arr, p):
        if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"):
            raise TypingError("unaligned load needs a contiguous 1-D array")
        sig = types.uint64(arr, types.intp)

        def codegen(context, builder, signature, args):
            ary = context.make_array(signature.args[0])(context, builder, args[0])
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), word.as_pointer())
            return builder.zext(builder.load(ptr, align=1), ir.IntType(64))

        return sig, codegen

    return load


_load64 = _unaligned_load(64)
_load32 = _unaligned_load(32)


@njit(cache=True, inline="always")
def _fetch64_bytes(buf, p):
    return (
        np.uint64(buf[p])
        | (np.uint64(buf[p + 1]) << np.uint64(8))
        | (np.uint64(buf[p + 2]) << np.uint64(16))
        | (np.uint64(buf[p + 3]) << np.uint64(24))
        | (np.uint64(buf[p + 4]) << np.uint64(32))
        | (np.uint64(buf[p + 5]) << np.uint64(40))
        | (np.uint64(buf[p + 6]) << np.uint64(48))
        | (np.uint64(buf[p + 7]) << np.uint64(56))
    )


@njit(cache=True, inline="always")
def _fetch32_bytes(buf, p):
    return (
        np.uint64(buf[p])
        | (np.uint64(buf[p + 1]) << np.uint64(8))
        | (np.uint64(buf[p + 2]) << np.uint64(16))
        | (np.uint64(buf[p + 3]) << np.uint64(24))
    )


if sys.byteorder == "little":
    # FarmHash reads little-endian words: one load on this machine.
    _fetch64, _fetch32 = _load64, _load32
else:  # pragma: no cover - no big-endian test machine
    _fetch64, _fetch32 = _fetch64_bytes, _fetch32_bytes


@njit(cache=True, inline="always")
def _weak_hash_len32_with_seeds(buf, p, a, b):
    w = _fetch64(buf, p)
    x = _fetch64(buf, p + 8)
    y = _fetch64(buf, p + 16)
    z = _fetch64(buf, p + 24)
    a += w
    b = _rot(b + a + z, 21)
    c = a
    a += x
    a += y
    b += _rot(a, 44)
    return a + z, b + c


@njit(cache=True, inline="always")
def _hash_len33to64(buf, s, n):
    mul = _K2 + np.uint64(n) * _U2
    a = _fetch64(buf, s) * _K2
    b = _fetch64(buf, s + 8)
    c = _fetch64(buf, s + n - 8) * mul
    d = _fetch64(buf, s + n - 16) * _K2
    y = _rot(a + b, 43) + _rot(c, 30) + d
    z = _hash_len16(y, a + _rot(b + _K2, 18) + c, mul)
    e = _fetch64(buf, s + 16) * mul
    f = _fetch64(buf, s + 24)
    g = (y + _fetch64(buf, s + n - 32)) * mul
    h = (z + _fetch64(buf, s + n - 24)) * mul
    return _hash_len16(
        _rot(e + f, 43) + _rot(g, 30) + h, e + _rot(f + a, 18) + g, mul
    )


@njit(cache=True, inline="always")
def _hash_len65plus(buf, s, n):
    x = _SEED
    y = _SEED * _K1 + _U113
    z = _shift_mix(y * _K2 + _U113) * _K2
    v0 = _U0
    v1 = _U0
    w0 = _U0
    w1 = _U0
    x = x * _K2 + _fetch64(buf, s)
    end = s + ((n - 1) // 64) * 64
    last64 = s + n - 64
    p = s
    while True:
        x = _rot(x + y + v0 + _fetch64(buf, p + 8), 37) * _K1
        y = _rot(y + v1 + _fetch64(buf, p + 48), 42) * _K1
        x ^= w1
        y += v0 + _fetch64(buf, p + 40)
        z = _rot(z + w0, 33) * _K1
        v0, v1 = _weak_hash_len32_with_seeds(buf, p, v1 * _K1, x + w0)
        w0, w1 = _weak_hash_len32_with_seeds(
            buf, p + 32, z + w1, y + _fetch64(buf, p + 16)
        )
        x, z = z, x
        p += 64
        if p == end:
            break
    mul = _K1 + ((z & _UFF) << _U1)
    p = last64
    w0 += np.uint64((n - 1) & 63)
    v0 += w0
    w0 += v0
    x = _rot(x + y + v0 + _fetch64(buf, p + 8), 37) * mul
    y = _rot(y + v1 + _fetch64(buf, p + 48), 42) * mul
    x ^= w1 * _U9
    y += v0 * _U9 + _fetch64(buf, p + 40)
    z = _rot(z + w0, 33) * mul
    v0, v1 = _weak_hash_len32_with_seeds(buf, p, v1 * mul, x + w0)
    w0, w1 = _weak_hash_len32_with_seeds(
        buf, p + 32, z + w1, y + _fetch64(buf, p + 16)
    )
    x, z = z, x
    return _hash_len16(
        _hash_len16(v0, w0, mul) + _shift_mix(y) * _K0 + z,
        _hash_len16(v1, w1, mul) + x,
        mul,
    )


@njit(cache=True, inline="always")
def fingerprint64(buf, start, end):
    """FarmHash Fingerprint64 of ``buf[start:end]``, as TensorFlow computes it.

    Args:
        buf: contiguous 1-D ``uint8`` array.
        start: first byte index (inclusive).
        end: last byte index (exclusive); ``start <= end <= len(buf)``.

    Returns:
        The 64-bit fingerprint as ``uint64``.
    """
    n = end - start
    s = start
    if n <= 16:
        if n >= 8:
            return _mix_len8to16(n, _fetch64(buf, s), _fetch64(buf, s + n - 8))
        if n >= 4:
            return _mix_len4to7(n, _fetch32(buf, s), _fetch32(buf, s + n - 4))
        if n > 0:
            return _mix_len1to3(n, buf[s], buf[s + (n >> 1)], buf[s + n - 1])
        return _K2
    if n <= 32:
        return _mix_len17to32(
            n,
            _fetch64(buf, s),
            _fetch64(buf, s + 8),
            _fetch64(buf, s + n - 8),
            _fetch64(buf, s + n - 16),
        )
    if n <= 64:
        return _hash_len33to64(buf, s, n)
    return _hash_len65plus(buf, s, n)


@njit(cache=True)
def fingerprint_cat64(fp1, fp2):
    """TensorFlow's ``FingerprintCat64``: combines two fingerprints in order.

    Args:
        fp1: running fingerprint (``uint64``; for crosses, seeded with hash_key).
        fp2: next feature's fingerprint (``uint64``).

    Returns:
        The combined fingerprint as ``uint64``.
    """
    fp1 = np.uint64(fp1)
    fp2 = np.uint64(fp2)
    result = fp1 ^ _K_MUL
    result ^= _shift_mix(fp2 * _K_MUL) * _K_MUL
    result *= _K_MUL
    result = _shift_mix(result) * _K_MUL
    return _shift_mix(result)


# ---------------------------------------------------------------------------
# Fingerprint64 of the decimal string of an int64, without a buffer.
# ---------------------------------------------------------------------------
# The decimal form of an int64 is 1 to 20 bytes long, so it fits in three
# little-endian uint64 words; fetching from the words replaces the byte loads.


# "00".."99" as two little-endian bytes each: tens digit first.
_DIGIT_PAIRS = np.array(
    [(48 + i // 10) | ((48 + i % 10) << 8) for i in range(100)], dtype=np.uint64
)


@njit(cache=True, inline="always")
def _word_fetch64(w0, w1, w2, p):
    q = p >> 3
    r = p & 7
    if q == 0:
        lo = w0
        hi = w1
    elif q == 1:
        lo = w1
        hi = w2
    else:
        lo = w2
        hi = _U0
    if r == 0:
        return lo
    sh = np.uint64(8 * r)
    return (lo >> sh) | (hi << (_U64 - sh))


@njit(cache=True, inline="always")
def _word_byte(w0, w1, w2, p):
    return (_word_fetch64(w0, w1, w2, p)) & _UFF


@njit(cache=True, inline="always")
def _shift_in(w0, w1, w2, chars, nbytes):
    """Shifts the 3-word little-endian buffer up by nbytes and puts chars at byte 0."""
    sh = np.uint64(8 * nbytes)
    back = np.uint64(64 - 8 * nbytes)
    return (w0 << sh) | chars, (w1 << sh) | (w0 >> back), (w2 << sh) | (w1 >> back)


@njit(cache=True)
def fingerprint64_int(v):
    """Fingerprint64 of ``as_string(v)``: the decimal text of an int64.

    This is how TensorFlow hashes integer features for hash buckets and
    vocabulary OOV buckets ('-' sign, no padding). Allocates nothing.

    Args:
        v: an int64 value (INT64_MIN included).

    Returns:
        The 64-bit fingerprint as ``uint64``.
    """
    v = np.int64(v)
    negative = v < 0
    # Magnitude as uint64: -(v+1)+1 avoids overflowing on INT64_MIN.
    if negative:
        mag = np.uint64(-(v + 1)) + _U1
    else:
        mag = np.uint64(v)
    # Build the text from its last character backwards, two digits at a time,
    # shifting earlier characters in at byte 0.
    w0 = _U0
    w1 = _U0
    w2 = _U0
    n = 0
    while mag >= np.uint64(100):
        q = mag // np.uint64(100)
        w0, w1, w2 = _shift_in(w0, w1, w2, _DIGIT_PAIRS[mag - q * np.uint64(100)], 2)
        mag = q
        n += 2
    if mag >= np.uint64(10):
        w0, w1, w2 = _shift_in(w0, w1, w2, _DIGIT_PAIRS[mag], 2)
        n += 2
    else:
        w0, w1, w2 = _shift_in(w0, w1, w2, mag + np.uint64(48), 1)
        n += 1
    if negative:
        w0, w1, w2 = _shift_in(w0, w1, w2, np.uint64(45), 1)  # '-'
        n += 1
    if n <= 16:
        if n >= 8:
            return _mix_len8to16(
                n, w0, _word_fetch64(w0, w1, w2, n - 8)
            )
        if n >= 4:
            return _mix_len4to7(
                n, w0 & _U32_MASK, _word_fetch64(w0, w1, w2, n - 4) & _U32_MASK
            )
        return _mix_len1to3(
            n,
            _word_byte(w0, w1, w2, 0),
            _word_byte(w0, w1, w2, n >> 1),
            _word_byte(w0, w1, w2, n - 1),
        )
    return _mix_len17to32(
        n,
        w0,
        w1,
        _word_fetch64(w0, w1, w2, n - 8),
        _word_fetch64(w0, w1, w2, n - 16),
    )


# ---------------------------------------------------------------------------
# Batch kernels.
# ---------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def hash_strings_mod(data, starts, ends, num_buckets, out):
    """``out[i] = Fingerprint64(string i) % num_buckets`` for a string batch.

    Strings are byte ranges of one buffer, so the same kernel serves packed
    strings (``starts = offsets[:-1]``, ``ends = offsets[1:]``) and numpy
    fixed-width ``S`` arrays read in place (``starts`` strided by the width).

    Args:
        data: ``uint8`` array holding the strings' bytes.
        starts, ends: ``int64`` arrays of length n; string i is
            ``data[starts[i]:ends[i]]``.
        num_buckets: bucket count, ``>= 1``.
        out: ``int64`` array of length n, written in place.
    """
    n = starts.shape[0]
    nb = np.uint64(num_buckets)
    if n < PARALLEL_MIN_ITEMS:
        for i in range(n):
            out[i] = np.int64(fingerprint64(data, starts[i], ends[i]) % nb)
    else:
        for i in prange(n):
            out[i] = np.int64(fingerprint64(data, starts[i], ends[i]) % nb)


@njit(cache=True, parallel=True)
def hash_ints_mod(values, num_buckets, out):
    """``out[i] = Fingerprint64(as_string(values[i])) % num_buckets``.

    Args:
        values: ``int64`` array.
        num_buckets: bucket count, ``>= 1``.
        out: ``int64`` array of the same length, written in place.
    """
    n = values.shape[0]
    nb = np.uint64(num_buckets)
    if n < PARALLEL_MIN_ITEMS:
        for i in range(n):
            out[i] = np.int64(fingerprint64_int(values[i]) % nb)
    else:
        for i in prange(n):
            out[i] = np.int64(fingerprint64_int(values[i]) % nb)


@njit(cache=True, parallel=True)
def hash_string_columns_mod(data, starts, ends, base, widths, col_splits, num_buckets, out):
    """`hash_strings_mod` for several string columns in one call.

    One call (and at most one parallel region) for every hash-bucket string
    column of a batch. A column is either

    * packed (``widths[c] == 0``): item i is
      ``data[base[c] + starts[i] : base[c] + ends[i]]``, hashed as is; or
    * a numpy ``S`` array read in place (``widths[c] >= 1``): item i is the
      ``widths[c]``-byte slot ``base[c] + (i - col_splits[c]) * widths[c]``
      without its trailing NUL bytes (numpy's semantics); an empty string,
      TF's ignore value, gets id -1. ``starts``/``ends`` are not read.

    Args:
        data: ``uint8`` bytes of every column, concatenated.
        starts, ends: ``int64[n]`` bounds of packed items (relative to
            their column's ``base``).
        base: ``int64[C]`` start of column c in ``data``.
        widths: ``int64[C]`` item size of a fixed-width column, 0 if packed.
        col_splits: ``int64[C + 1]``; column c's items are
            ``col_splits[c]:col_splits[c + 1]``.
        num_buckets: ``int64[C]`` bucket counts, each ``>= 1``.
        out: ``int64[n]`` ids, written in place.

    Raises:
        ValueError: a layout that does not fit the arrays (a caller bug).
    """
    columns = base.shape[0]
    n = out.shape[0]
    if (
        col_splits.shape[0] != columns + 1
        or widths.shape[0] != columns
        or num_buckets.shape[0] != columns
        or col_splits[0] != 0
        or col_splits[columns] != n
        or starts.shape[0] != n
        or ends.shape[0] != n
    ):
        raise ValueError("hash_string_columns_mod: inconsistent column layout.")
    for c in range(columns):
        count = col_splits[c + 1] - col_splits[c]
        if count < 0 or widths[c] < 0 or base[c] < 0 or base[c] + count * widths[c] > data.shape[0]:
            raise ValueError("hash_string_columns_mod: a column falls outside data.")
    if n < PARALLEL_MIN_ITEMS:
        _hash_columns_range(data, starts, ends, base, widths, col_splits, num_buckets, out, 0, n)
    else:
        chunks = (n + _COLUMN_CHUNK - 1) // _COLUMN_CHUNK
        for k in prange(chunks):
            lo = k * _COLUMN_CHUNK
            _hash_columns_range(
                data, starts, ends, base, widths, col_splits, num_buckets, out, lo,
                min(n, lo + _COLUMN_CHUNK),
            )  # fmt: skip


_COLUMN_CHUNK = 4096


@njit(cache=True)
def _hash_columns_range(data, starts, ends, base, widths, col_splits, num_buckets, out, lo, hi):
    if lo >= hi:
        return
    # The column holding item lo (columns may be empty); lo < col_splits[-1].
    c = 0
    while col_splits[c + 1] <= lo:
        c += 1
    for i in range(lo, hi):
        while col_splits[c + 1] <= i:
            c += 1
        w = widths[c]
        if w == 0:
            start = base[c] + starts[i]
            end = base[c] + ends[i]
        else:
            start = base[c] + (i - col_splits[c]) * w
            end = start + w
            while end > start and data[end - 1] == 0:
                end -= 1
            if end == start:
                out[i] = -1
                continue
        out[i] = np.int64(fingerprint64(data, start, end) % np.uint64(num_buckets[c]))
