"""Large lookup buffers: cache-line aligned, on transparent huge pages.

Embedding tables are read at random rows: 61k rows a 4,096-row call of the
Criteo-like set, spread over ~10 MB. Two things about their buffer matter
(benchmarks/featurec_breakdown.py --writer, decision 78):

* Alignment. numpy's allocator returns memory 16 bytes past a 64-byte
  boundary, so half of the 32-byte rows of a dimension-8 table straddled two
  cache lines: the writer took 11-13% longer than with the same tables
  aligned.
* Page size. On 4 KiB pages those rows span ~2,600 pages, past the data TLB;
  on 2 MiB pages, 6. Worth ~3% of the writer on one thread. numpy advises
  huge pages for large arrays too, but a malloc'ed block covers fewer whole
  huge pages and may reuse heap memory already faulted in small ones.

So the buffer is its own anonymous mapping, aligned to a huge page (hence to
every cache line) and advised before the first touch. Below one huge page,
or where that is not available (not Linux, THP disabled, mmap failing), it is
a numpy array aligned to 64 bytes: same contents, only the speed differs.
"""

import mmap

import numpy as np

HUGE_PAGE = 2 << 20
CACHE_LINE = 64


def huge_page_empty(count, dtype):
    """An uninitialised 1-D array of `count` items starting on a cache line,
    on transparent huge pages when the system offers them and the array spans
    at least one.

    Args:
        count: number of items.
        dtype: numpy dtype.

    Returns:
        A writable C-contiguous array; its memory lives as long as the array.
    """
    dtype = np.dtype(dtype)
    nbytes = count * dtype.itemsize
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if nbytes < HUGE_PAGE or advice is None:
        return aligned_empty(count, dtype)
    # One page more than needed, so a huge-page-aligned start fits whatever
    # address the kernel picks; the pages never touched cost no memory.
    size = (nbytes + 2 * HUGE_PAGE - 1) // HUGE_PAGE * HUGE_PAGE
    try:
        mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        mapping.madvise(advice)
    except (OSError, ValueError, AttributeError):
        return aligned_empty(count, dtype)
    raw = np.frombuffer(mapping, np.uint8)  # keeps the mapping alive
    start = (-raw.ctypes.data) % HUGE_PAGE
    return raw[start : start + nbytes].view(dtype)


def aligned_empty(shape, dtype=np.float32, alignment=CACHE_LINE):
    """An uninitialised C-contiguous array whose data starts on an
    `alignment`-byte boundary (numpy's own allocator gives 16)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + alignment, np.uint8)
    start = (-raw.ctypes.data) % alignment
    return raw[start : start + nbytes].view(dtype).reshape(shape)
