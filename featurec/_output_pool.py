"""Output arrays that are reused when free and that TensorFlow adopts without a copy.

* Reuse: a fresh multi-megabyte array page-faults on every write (glibc
  maps large blocks anew, or returns them to the system once freed). An
  array goes back to work only when no Python reference to it or to a view
  of its memory is left, so a result the caller keeps (or slices) is never
  overwritten.
  Thread-safe under the GIL: a thread holding an array raises its
  reference count.
* Alignment: a `numpy_function` output whose buffer starts on TF's 64-byte
  boundary becomes a tensor over the same memory; any other buffer is
  copied first (numpy aligns to 16 bytes only). TF holds a reference to the
  array while the tensor lives, which keeps it out of reuse until then.
  Measured on the Criteo-like set at batch 1,024 in `featurec.dataset`
  (RESULTS.md): the copy cost ~0.4 ms a batch, and with one spare array the
  adopted buffer was never free again, so every call page-faulted a new one.
"""

import sys

import numpy as np

from featurec._memory import aligned_empty

TF_ALIGNMENT = 64

# References to a pooled array nobody else holds: the pool's list, the loop
# variable in `OutputPool.get` and getrefcount's argument. A view of the
# array refers to the memory's owner (`arr.base`, the aligned allocation)
# instead, whose free count is: `arr.base` itself and getrefcount's argument.
_FREE_REFS = 3
_FREE_OWNER_REFS = 2


class OutputPool:
    """A few float32 output arrays of the latest shape, handed out when free.

    Args:
        max_arrays: arrays kept for reuse (a `tf.data` pipeline holds a few
            batches at once: in its parallel calls and its prefetch buffer).
        max_bytes: the most memory kept for reuse; beyond it arrays are
            handed out but not kept.
    """

    def __init__(self, max_arrays=8, max_bytes=256 << 20):
        self._max_arrays = max_arrays
        self._max_bytes = max_bytes
        self._arrays = []

    def get(self, shape):
        """A float32 C-contiguous 64-byte-aligned array of `shape` that no
        one else references (its contents are stale)."""
        for arr in self._arrays:
            if (arr.shape == shape and sys.getrefcount(arr) <= _FREE_REFS
                    and sys.getrefcount(arr.base) <= _FREE_OWNER_REFS):
                return arr
        arr = aligned_empty(shape, np.float32, TF_ALIGNMENT)
        if self._arrays and self._arrays[0].shape != shape:
            self._arrays = []
        kept = len(self._arrays) + 1
        if kept <= self._max_arrays and kept * arr.nbytes <= self._max_bytes:
            self._arrays.append(arr)
        return arr
