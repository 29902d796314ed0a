"""A software prefetch for numba kernels: `prefetch(arr, index)`.

Kernels that read scattered or interleaved memory (embedding table rows,
many string columns a chunk of rows at a time, each too short for the
hardware prefetcher to follow) request the cache line of `arr.flat[index]`
ahead of the loop that reads it. `llvm.prefetch` is a hint: it never faults,
whatever the address, so an index past the array's end is harmless.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, index):
    """Requests the cache line holding `arr.flat[index]` (read, keep in all
    cache levels); returns nothing."""
    if not isinstance(arr, types.Array):
        return None
    sig = types.void(arr, types.int64)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen
