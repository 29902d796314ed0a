"""Python `str`/`bytes` object arrays packed into one UTF-8 buffer in numba.

An `object` array of Python strings used to cost `tolist` + `join` + `encode`
per call (~23 ns an item, more than the rest of a call). `pack` reads the
array's element pointers in one numba pass and copies each item's UTF-8 bytes
(`str`, read with `PyUnicode_AsUTF8AndSize`) or raw bytes (`bytes`) into one
buffer plus starts/ends: the packed layout the hash kernels read in place.

Safety:
* The kernel is a plain `njit` function called from Python, so it runs with
  the GIL held: the objects cannot change or die under it, and the C API it
  calls (through function addresses passed as arguments, so the kernel stays
  cacheable) is allowed.
* Each item's type is checked before any call: exactly `str` or `bytes`
  (compared with the type pointer at `ob_type`, offset 8 of a PyObject in
  CPython GIL builds), else a subclass of either (`PyType_GetFlags`). Any
  other item (None, numbers, lists) or a failed conversion (lone
  surrogates) stops the pass and returns its index; Python's error state is
  cleared, and the caller falls back to the per-item path, which raises the
  error naming the feature.
* Only CPython GIL builds use it (`available()`); elsewhere the Python path
  runs.

`PyUnicode_AsUTF8AndSize` returns the string's own bytes for ASCII strings; for
others CPython caches the UTF-8 form inside the string object (as pyarrow's
conversion does), so the first call on a non-ASCII string allocates it.
"""

import ctypes
import sys
import sysconfig

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from featurec._strings import _carray_i64, _carray_u8

# Slots of the `api` array the kernel takes.
_STR_TYPE, _BYTES_TYPE, _AS_UTF8, _BYTES_AS_STRING, _BYTES_SIZE, _TYPE_FLAGS, _ERR_CLEAR = range(7)
_BYTES_SUBCLASS = 1 << 27  # Py_TPFLAGS_BYTES_SUBCLASS
_UNICODE_SUBCLASS = 1 << 28  # Py_TPFLAGS_UNICODE_SUBCLASS
_OB_TYPE_SLOT = 1  # ob_type is the second 8-byte word of a PyObject (GIL builds)
_PREFETCH_AHEAD = 24

_api = None


@intrinsic
def _memcpy(typingctx, dst, src, count):
    sig = types.void(types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        dst, src, count = (builder.inttoptr(a, cgutils.voidptr_t) if i < 2 else a for i, a in enumerate(args))
        cgutils.raw_memcpy(builder, dst, src, count, 1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _prefetch(typingctx, addr):
    """Hints the CPU to fetch the cache line at `addr` (never faults)."""
    sig = types.void(types.int64)

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high locality, data cache
        builder.call(fn, [builder.inttoptr(args[0], i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _call0(typingctx, fn):
    sig = types.void(types.int64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.VoidType(), [])
        builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _call1(typingctx, fn, a):
    sig = types.int64(types.int64, types.int64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(i64, [i64])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [args[1]])

    return sig, codegen


@intrinsic
def _call2(typingctx, fn, a, b):
    sig = types.int64(types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(i64, [i64, i64])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [args[1], args[2]])

    return sig, codegen


def _layout_known():
    return (
        sys.implementation.name == "cpython"
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
        and ctypes.sizeof(ctypes.c_void_p) == 8
    )


_LAYOUT_KNOWN = _layout_known()


def available():
    """Whether this interpreter's object layout is the one `pack` reads."""
    return _LAYOUT_KNOWN


def _api_array():
    global _api
    if _api is None:
        py = ctypes.pythonapi

        def addr(fn):
            return ctypes.cast(fn, ctypes.c_void_p).value

        _api = np.array(
            [
                id(str),
                id(bytes),
                addr(py.PyUnicode_AsUTF8AndSize),
                addr(py.PyBytes_AsString),
                addr(py.PyBytes_Size),
                addr(py.PyType_GetFlags),
                addr(py.PyErr_Clear),
            ],
            np.int64,
        )
    return _api


def pack(values):
    """(buf, starts, ends, addresses) of a 1-D object array of str/bytes, or
    None; see `pack_many`."""
    if values.ndim != 1 or values.dtype != object:
        return None
    return pack_many([values])


def pack_many(arrays):
    """Packs 1-D object arrays of str/bytes into one buffer, in one call.

    Args:
        arrays: 1-D `object` ndarrays (not empty).

    Returns:
        (buf, starts, ends, addresses): the uint8 buffer and int64 bounds of
        each item's UTF-8 (str) or raw (bytes) bytes, the arrays' items one
        after the other, and the three arrays' data addresses (for
        `_strings.from_packed`); None when an item is neither (or cannot be
        encoded), for the caller's per-item path to report.
    """
    if not available() or not arrays:
        return None
    # The arrays' own memory: a concatenated copy would incref and decref
    # every item (~1 ms for 106k items).
    arrays = [np.ascontiguousarray(a) for a in arrays]
    descs = np.empty((len(arrays), 2), np.int64)
    for k, a in enumerate(arrays):
        if a.ndim != 1 or a.dtype != object or not a.shape[0]:
            return None
        descs[k, 0] = a.__array_interface__["data"][0]
        descs[k, 1] = a.shape[0]
    bad, buf, starts, ends, addresses = _pack(descs, _api_array())
    if bad >= 0:
        return None
    # Read-only like every other string buffer, so each kernel is compiled
    # for one buffer type only.
    buf.flags.writeable = False
    return buf, starts, ends, addresses


@njit(cache=True)
def _pack(descs, api):
    """Packs the objects of the arrays `descs` describes (rows of PyObject
    pointer array address, item count); holds the GIL.

    One pass: each item's bytes are copied while its object is in cache,
    into a buffer of 16 bytes an item that doubles when full. (Two passes,
    pointers and lengths first, then a copy into a buffer of the exact size,
    measured 1.5 ms against 1.0 ms for 106k 8-byte strings: the second pass
    missed the cache on every object again.)

    Returns:
        (-1, buf, starts, ends, their addresses), or (index of the first
        item that is not a str/bytes or fails to encode, ...) with the
        buffers meaningless.
    """
    n = 0
    for k in range(descs.shape[0]):
        n += descs[k, 1]
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    size = np.zeros(1, np.int64)
    size_addr = size.ctypes.data
    str_type, bytes_type = api[_STR_TYPE], api[_BYTES_TYPE]
    cap = 16 * n + 64
    buf = np.empty(cap, np.uint8)
    base = buf.ctypes.data
    pos = 0
    i = 0
    for k in range(descs.shape[0]):
        count = descs[k, 1]
        objs = _carray_i64(descs[k, 0], count)
        for q in range(count):
            if q + _PREFETCH_AHEAD < count:
                # The objects are scattered over the heap: ask for the one
                # a few items ahead while this one is copied.
                _prefetch(objs[q + _PREFETCH_AHEAD])
            obj = objs[q]
            typ = _carray_i64(obj, 2)[_OB_TYPE_SLOT]
            is_str = typ == str_type
            is_bytes = typ == bytes_type
            if not (is_str or is_bytes):
                flags = _call1(api[_TYPE_FLAGS], typ)
                is_str = (flags & _UNICODE_SUBCLASS) != 0
                is_bytes = (flags & _BYTES_SUBCLASS) != 0
            if is_str:
                p = _call2(api[_AS_UTF8], obj, size_addr)
                length = size[0]
            elif is_bytes:
                p = _call1(api[_BYTES_AS_STRING], obj)
                length = _call1(api[_BYTES_SIZE], obj)
            else:
                return i, np.empty(0, np.uint8), starts, ends, (0, 0, 0)
            if p == 0 or length < 0:  # lone surrogates: UnicodeEncodeError is set
                _call0(api[_ERR_CLEAR])
                return i, np.empty(0, np.uint8), starts, ends, (0, 0, 0)
            if pos + length > cap:
                cap = max(2 * cap, pos + length)
                grown = np.empty(cap, np.uint8)
                _memcpy(grown.ctypes.data, base, pos)
                buf = grown
                base = buf.ctypes.data
            _memcpy(base + pos, p, length)
            starts[i] = pos
            pos += length
            ends[i] = pos
            i += 1
    return -1, buf[:pos], starts, ends, (base, starts.ctypes.data, ends.ctypes.data)
