"""Large lookup buffers on transparent huge pages.

Embedding tables are read at random rows: 61k rows a 4,096-row call of the
Criteo-like set, spread over ~10 MB. On 4 KiB pages that is ~2,600 pages,
past the data TLB, so most lookups also walked the page tables; on 2 MiB
pages it is 6 pages. Measured (benchmarks/RESULTS.md, decision 78): the
writer 1.13-1.15 ms instead of 1.27-1.32 on 2 threads, 2.11-2.15 instead of
2.60-2.66 on one.

numpy already asks for huge pages on large allocations, but those come from
malloc, which in a long-running process (TensorFlow imported, batches freed)
often hands out heap memory already faulted in 4 KiB pages, and an unaligned
block covers fewer whole huge pages. So the buffer here is its own anonymous
mapping, aligned to a huge page and advised before the first touch. Where
that is not available (not Linux, THP disabled) it is a plain numpy array:
same contents, only the speed differs.
"""

import mmap

import numpy as np

HUGE_PAGE = 2 << 20


def huge_page_empty(count, dtype):
    """An uninitialised 1-D array of `count` items, on transparent huge pages
    when the system offers them and the array spans at least one.

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
        return np.empty(count, dtype)
    # One page more than needed, so a huge-page-aligned start fits whatever
    # address the kernel picks; the pages never touched cost no memory.
    size = (nbytes + 2 * HUGE_PAGE - 1) // HUGE_PAGE * HUGE_PAGE
    try:
        mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        mapping.madvise(advice)
    except (OSError, ValueError, AttributeError):
        return np.empty(count, dtype)
    raw = np.frombuffer(mapping, np.uint8)  # keeps the mapping alive
    start = (-raw.ctypes.data) % HUGE_PAGE
    return raw[start : start + nbytes].view(dtype)
