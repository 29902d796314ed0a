"""String columns read in place: numpy `S`, packed Python strings, Arrow buffers.

A string feature becomes a `StrSource`: one or more *segments*, each a run of
items whose bytes live in one buffer, described by an int64 row of raw
addresses and sizes (`SEG_*` columns). The kernels read the bytes, offsets and
validity bits where they are (a pandas/pyarrow/polars column's own Arrow
buffers, a numpy `S` array's memory), so no string is copied or re-encoded and
a chunked Arrow column needs no concatenation. The `StrSource` keeps every
buffer it points at alive.

Addresses are turned back into arrays inside numba (`_carray_u8` & co.); every
bound the kernels read is checked against the sizes recorded here, so a
malformed buffer is an error, never a read outside memory.

Nulls (Arrow validity bits) are missing values: categorical columns treat them
as TF treats the ignore value `''` of a dense string input, i.e. the row has
no id there.
"""

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic

from featurec._hash import fingerprint64, fingerprint_cat64
from featurec._prefetch import prefetch

# Segment layouts.
FIXED = 0  # numpy `S<width>`: item i is the width-byte slot i, trailing NULs dropped.
OFFSETS32 = 1  # Arrow string/binary: int32 offsets.
OFFSETS64 = 2  # Arrow large_string/large_binary: int64 offsets.
STARTS_ENDS = 3  # packed strings: int64 starts and ends arrays.

# How far ahead of the item being hashed its column's bytes are requested
# (`_prefetch.prefetch`; a hint, harmless past the buffer's end). The writer
# hashes every string column of a chunk of rows in turn, a run too short for
# the hardware prefetcher, and the strings of a large batch are not in cache.
PREFETCH_BYTES = 512

# Columns of a segment row.
SEG_DATA, SEG_DATA_LEN, SEG_LAYOUT, SEG_A, SEG_B, SEG_FIRST, SEG_COUNT, SEG_VALID, SEG_WIDTH = range(9)
SEG_COLUMNS = 9


def _pointer_intrinsic(numba_type):
    @intrinsic
    def at(typingctx, addr):
        sig = types.CPointer(numba_type)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(types.CPointer(numba_type)))

        return sig, codegen

    return at


_u8_at = _pointer_intrinsic(types.uint8)
_i32_at = _pointer_intrinsic(types.int32)
_i64_at = _pointer_intrinsic(types.int64)


@njit(cache=True, inline="always")
def _carray_u8(addr, n):
    return carray(_u8_at(addr), n)


@njit(cache=True, inline="always")
def _carray_i32(addr, n):
    return carray(_i32_at(addr), n)


@njit(cache=True, inline="always")
def _carray_i64(addr, n):
    return carray(_i64_at(addr), n)


class StrSource:
    """A string feature's items, in place.

    Attributes:
        n: rows.
        per_row: items per row (a dense `[n, k]` input has k; 1-D has 1).
        rows: the segments, each a tuple of SEG_COLUMNS ints; items in
            row-major order.

    Every source is a dense input: its `''` and nulls are TF's ignore value.
    """

    def __init__(self, n, per_row, rows, keep, catvalues=None):
        self.n = n
        self.per_row = per_row
        self.rows = rows
        self._keep = keep  # the buffers the addresses point into
        self._catvalues = catvalues

    @property
    def segments(self):
        """int64 `[S, SEG_COLUMNS]`: the rows as the kernels take them."""
        return np.array(self.rows, np.int64).reshape(-1, SEG_COLUMNS)

    def catvalues_parts(self):
        """(buf, starts, ends) of every item, nulls as empty strings.

        Zero-copy for the bytes of a single segment; several segments (a
        chunked Arrow column) are concatenated here.
        """
        if self._catvalues is not None:
            return self._catvalues
        bufs, starts, ends = [], [], []
        base = 0
        for row, arrays in zip(self.rows, self._keep):
            data = _as_array(arrays[0], np.uint8)
            first, count = int(row[SEG_FIRST]), int(row[SEG_COUNT])
            offset_type = np.int32 if row[SEG_LAYOUT] == OFFSETS32 else np.int64
            offsets = _as_array(arrays[1], offset_type)[first : first + count + 1].astype(np.int64)
            st, en = offsets[:-1], offsets[1:]
            if row[SEG_VALID]:
                valid = _valid_bits(_as_array(arrays[2], np.uint8), first, count)
                en = np.where(valid, en, st)
            _check_bounds(st, en, data.shape[0])
            if st.size:
                # A slice of a larger array: copy only the bytes it covers.
                lo, hi = int(st.min()), int(en.max())
                data = data[lo:hi]
                st, en = st - lo, en - lo
            st, en = st + base, en + base
            bufs.append(data)
            starts.append(st)
            ends.append(en)
            base += data.shape[0]
        buf = bufs[0] if len(bufs) == 1 else np.concatenate(bufs) if bufs else np.zeros(0, np.uint8)
        none = np.zeros(0, np.int64)
        self._catvalues = (
            buf,
            np.concatenate(starts) if starts else none,
            np.concatenate(ends) if ends else none,
        )
        return self._catvalues


def _as_array(buffer, dtype):
    """A numpy view of a kept buffer (numpy array, pyarrow Buffer or None)."""
    if isinstance(buffer, np.ndarray):
        return buffer
    if buffer is None or buffer.size == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(buffer, dtype)


def _valid_bits(bitmap, first, count):
    bits = np.unpackbits(bitmap, bitorder="little")
    return bits[first : first + count].astype(bool)


def _check_bounds(starts, ends, size):
    if starts.size and (starts.min() < 0 or (ends < starts).any() or ends.max() > size):
        raise ValueError("string offsets fall outside their data buffer.")


def _address(arr):
    return arr.__array_interface__["data"][0] if arr.size else 0


def from_fixed(arr):
    """StrSource of a C-contiguous numpy `S` array (rank 1 or 2, width >= 1)."""
    n = arr.shape[0]
    k = arr.shape[1] if arr.ndim == 2 else 1
    w = arr.dtype.itemsize
    # SEG_DATA, SEG_DATA_LEN, SEG_LAYOUT, SEG_A, SEG_B, SEG_FIRST, SEG_COUNT, SEG_VALID, SEG_WIDTH
    row = (_address(arr), arr.size * w, FIXED, 0, 0, 0, n * k, 0, w)
    return StrSource(n, k, [row], [arr])


def from_packed(buf, starts, ends, n, per_row, addresses=None):
    """StrSource of packed strings (`_inputs.strings` output); `addresses`
    are the three arrays' data addresses if the caller has them."""
    if addresses is None:
        addresses = (_address(buf), _address(starts), _address(ends))
    a_buf, a_starts, a_ends = addresses
    row = (a_buf, buf.shape[0], STARTS_ENDS, a_starts, a_ends, 0, starts.shape[0], 0, 0)
    return StrSource(n, per_row, [row], [buf, starts, ends], catvalues=(buf, starts, ends))


_ARROW_STRING_TYPES = {"string": False, "binary": False, "large_string": True, "large_binary": True}


def arrow_string_type(type_name):
    """None if the pyarrow type (by name) is not string/binary; else whether
    its offsets are int64."""
    return _ARROW_STRING_TYPES.get(type_name)


def from_arrow(chunks, n, large):
    """StrSource of pyarrow string/binary arrays (the chunks of one column).

    Args:
        chunks: the column's arrays, all of one type.
        n: rows.
        large: whether that type has int64 offsets (large_string/binary).

    Raises:
        ValueError: a chunk whose buffers are shorter than its offsets claim.
    """
    rows, keep = [], []
    width = 8 if large else 4
    layout = OFFSETS64 if large else OFFSETS32
    for chunk in chunks:
        count = len(chunk)
        if count == 0:
            continue
        validity, offsets_buf, data_buf = chunk.buffers()[:3]
        first = chunk.offset
        if offsets_buf is None or offsets_buf.size < (first + count + 1) * width:
            raise ValueError("Arrow string array with a short offsets buffer.")
        data_len = data_buf.size if data_buf is not None else 0
        data_addr = data_buf.address if data_len else 0
        valid_addr = 0
        if validity is not None and chunk.null_count:
            if validity.size * 8 < first + count:
                raise ValueError("Arrow string array with a short validity bitmap.")
            valid_addr = validity.address
        else:
            validity = None
        # The pyarrow buffers themselves are kept: they own the memory.
        # SEG_DATA, SEG_DATA_LEN, SEG_LAYOUT, SEG_A, SEG_B, SEG_FIRST, SEG_COUNT, SEG_VALID, SEG_WIDTH
        rows.append((data_addr, data_len, layout, offsets_buf.address, 0, first, count, valid_addr, 0))
        keep.append((data_buf, offsets_buf, validity))
    return StrSource(n, 1, rows, keep)


class JoinedStrings:
    """A dense string tensor as it crosses from a TF graph into numpy: its
    items' bytes in a buffer joined with other tensors', plus int64 offsets
    into it (see `featurec._input_layer._flatten_features`). Made by
    `split`.

    Args:
        buf: uint8 view of the joined bytes.
        offsets: int64 `[items + 1]`, positions in `buf`.
        shape: the tensor's shape, rank 1 or 2.
        addresses: (address of `buf`'s data, address of `offsets`' data).
    """

    def __init__(self, buf, offsets, shape, addresses):
        self.buf = buf
        self.offsets = offsets
        self.shape = shape
        self._addresses = addresses

    @classmethod
    def split(cls, joined, offsets, shapes):
        """One `JoinedStrings` a shape, all over one joined buffer: the
        tensors' items in order, `offsets` absolute positions in `joined`
        (`[total items + 1]`). The buffer view and addresses are made once
        for all (a dozen string features a batch in `featurec.dataset`:
        0.15 → 0.09 ms of Python a 1,024-row batch)."""
        buf = np.frombuffer(joined, np.uint8) if len(joined) else np.zeros(0, np.uint8)
        buf_address = _address(buf)
        offsets = np.ascontiguousarray(offsets, np.int64)
        offsets_address = _address(offsets)
        out, start = [], 0
        for shape in shapes:
            shape = tuple(int(d) for d in shape)
            count = 1
            for d in shape:
                count *= d
            view = offsets[start : start + count + 1]
            out.append(cls(buf, view, shape, (buf_address, offsets_address + 8 * start)))
            start += count
        return out

    def source(self):
        """The StrSource over the joined buffer.

        Raises:
            ValueError: offsets that do not describe `shape` items.
        """
        n = self.shape[0] if self.shape else 0
        per_row = self.shape[1] if len(self.shape) == 2 else 1
        count = n * per_row
        if len(self.shape) not in (1, 2) or self.offsets.shape[0] != count + 1:
            raise ValueError("joined strings: offsets do not match the shape.")
        if not count:
            return StrSource(n, per_row, [], [])
        buf_address, offsets_address = self._addresses
        row = (buf_address, self.buf.shape[0], OFFSETS64, offsets_address, 0, 0, count, 0, 0)
        return StrSource(n, per_row, [row], [(self.buf, self.offsets, None)])


# ---------------------------------------------------------------------------
# Kernels.
# ---------------------------------------------------------------------------


@njit(cache=True, inline="always")
def item_bounds(seg, s, local, data_len):
    """(start, end) of item `local` of segment `s` in its data buffer;
    (-1, -1) for a null; (-2, -2) for bounds outside the buffer."""
    layout = seg[s, SEG_LAYOUT]
    if seg[s, SEG_VALID] != 0:
        bit = seg[s, SEG_FIRST] + local
        valid = _carray_u8(seg[s, SEG_VALID], (bit >> 3) + 1)
        if (valid[bit >> 3] >> (bit & 7)) & 1 == 0:
            return -1, -1
    if layout == FIXED:
        w = seg[s, SEG_WIDTH]
        start = local * w
        end = start + w
        if end > data_len:
            return -2, -2
        data = _carray_u8(seg[s, SEG_DATA], data_len)
        return start, _fixed_end(data, start, w)
    p = seg[s, SEG_FIRST] + local
    if layout == OFFSETS32:
        off = _carray_i32(seg[s, SEG_A], p + 2)
        start = np.int64(off[p])
        end = np.int64(off[p + 1])
    elif layout == OFFSETS64:
        off64 = _carray_i64(seg[s, SEG_A], p + 2)
        start = off64[p]
        end = off64[p + 1]
    else:
        st = _carray_i64(seg[s, SEG_A], p + 1)
        en = _carray_i64(seg[s, SEG_B], p + 1)
        start = st[p]
        end = en[p]
    if start < 0 or end < start or end > data_len:
        return -2, -2
    return start, end


@njit(cache=True, inline="always")
def _seek(seg, s_lo, s_hi, item0):
    """(segment holding item `item0` of the column `s_lo:s_hi`, items before it)."""
    base = 0
    s = s_lo
    while s < s_hi and base + seg[s, SEG_COUNT] <= item0:
        base += seg[s, SEG_COUNT]
        s += 1
    return s, base


@njit(cache=True, inline="always")
def _fixed_end(data, start, w):
    """End of the fixed-width item at `start`: numpy `S` pads with NULs."""
    end = start + w
    while end > start and data[end - 1] == 0:
        end -= 1
    return end


@njit(cache=True, inline="always")
def _hash_offset_items(data, offsets, shift, i, stop, nb, ids, off):
    """The hash loop of items `i:stop` of an Arrow segment without nulls
    (item j's bounds at `offsets[j + shift]`); int32 and int64 offsets each
    get their own specialization. False if a bound falls outside `data`."""
    data_len = data.shape[0]
    for j in range(i, stop):
        p = j + shift
        start = np.int64(offsets[p])
        end = np.int64(offsets[p + 1])
        if start < 0 or end < start or end > data_len:
            return False
        prefetch(data, start + PREFETCH_BYTES)
        if end == start:
            ids[off + j] = -1
        else:
            ids[off + j] = np.int64(fingerprint64(data, start, end) % nb)
    return True


@njit(cache=True)
def hash_items(seg, s_lo, s_hi, item0, item1, num_buckets, ids, off):
    """`ids[off + i] = Fingerprint64(item i) % num_buckets` for items
    `item0:item1` of the column made of segments `s_lo:s_hi`; -1 for
    empty strings and nulls (a dense input's ignore value).

    Segments without nulls in the common layouts (numpy `S`, Arrow int32 and
    int64 offsets) take loops of their own, with the layout decided and the
    buffers bound once per segment instead of once per item.

    Returns:
        False if an item's bounds fall outside its buffer or the segments
        hold fewer items (nothing outside the buffers is read).
    """
    nb = np.uint64(num_buckets)
    s, base = _seek(seg, s_lo, s_hi, item0)
    i = item0
    while i < item1 and s < s_hi:
        count = seg[s, SEG_COUNT]
        stop = min(item1, base + count)
        data_len = seg[s, SEG_DATA_LEN]
        data = _carray_u8(seg[s, SEG_DATA], data_len)
        layout = seg[s, SEG_LAYOUT]
        if seg[s, SEG_VALID] == 0 and layout == FIXED:
            w = seg[s, SEG_WIDTH]
            if w <= 0 or (stop - base) * w > data_len:
                return False
            for j in range(i, stop):
                start = (j - base) * w
                # Many columns are read a chunk of rows at a time: too short
                # a run for the hardware prefetcher (see PREFETCH_BYTES).
                prefetch(data, start + PREFETCH_BYTES)
                end = _fixed_end(data, start, w)
                if end == start:
                    ids[off + j] = -1
                else:
                    ids[off + j] = np.int64(fingerprint64(data, start, end) % nb)
        elif seg[s, SEG_VALID] == 0 and layout == OFFSETS32:
            first = seg[s, SEG_FIRST]
            offsets = _carray_i32(seg[s, SEG_A], first + stop - base + 1)
            if not _hash_offset_items(data, offsets, first - base, i, stop, nb, ids, off):
                return False
        elif seg[s, SEG_VALID] == 0 and layout == OFFSETS64:
            # Arrow large_string: pandas 3's default `str` columns.
            first = seg[s, SEG_FIRST]
            offsets64 = _carray_i64(seg[s, SEG_A], first + stop - base + 1)
            if not _hash_offset_items(data, offsets64, first - base, i, stop, nb, ids, off):
                return False
        else:
            for j in range(i, stop):
                start, end = item_bounds(seg, s, j - base, data_len)
                if start == -2:
                    return False
                if end <= start:
                    ids[off + j] = -1
                else:
                    ids[off + j] = np.int64(fingerprint64(data, start, end) % nb)
        i = stop
        base += count
        s += 1
    return i >= item1


@njit(cache=True)
def chain_items(seg, s_lo, s_hi, item0, item1, chain):
    """`chain[i - item0] = FingerprintCat64(chain[i - item0], Fingerprint64(item i))`
    for items `item0:item1` of the column made of segments `s_lo:s_hi`: one
    key's step of a cross's hash chain. Empty strings and nulls are hashed
    as `''`, as a crossed column hashes a dense key's values (nothing is
    dropped there).

    Returns:
        False if an item's bounds fall outside its buffer or the segments
        hold fewer items (nothing outside the buffers is read).
    """
    s, base = _seek(seg, s_lo, s_hi, item0)
    i = item0
    while i < item1 and s < s_hi:
        count = seg[s, SEG_COUNT]
        stop = min(item1, base + count)
        data_len = seg[s, SEG_DATA_LEN]
        data = _carray_u8(seg[s, SEG_DATA], data_len)
        if seg[s, SEG_VALID] == 0 and seg[s, SEG_LAYOUT] == FIXED:
            w = seg[s, SEG_WIDTH]
            if w <= 0 or (stop - base) * w > data_len:
                return False
            for j in range(i, stop):
                start = (j - base) * w
                prefetch(data, start + PREFETCH_BYTES)
                end = _fixed_end(data, start, w)
                chain[j - item0] = fingerprint_cat64(chain[j - item0], fingerprint64(data, start, end))
        else:
            for j in range(i, stop):
                start, end = item_bounds(seg, s, j - base, data_len)
                if start == -2:
                    return False
                if end <= start:
                    start = end = 0  # null or '': the empty string's fingerprint
                chain[j - item0] = fingerprint_cat64(chain[j - item0], fingerprint64(data, start, end))
        i = stop
        base += count
        s += 1
    return i >= item1
