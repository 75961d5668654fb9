"""How wide the vectors are that the kernels compile to, and those of the BLAS that NumPy calls.

A compiled time loop (:mod:`.sequences`) does its recurrent products in its own loops, which numba compiles
for this CPU; the other time loop hands each product to NumPy's BLAS. Which is faster depends on who has the
wider vectors. On a CPU with AVX-512, numba's code uses 512-bit registers, while an OpenBLAS told to run its
AVX2 kernels (``OPENBLAS_CORETYPE=Haswell``, as some machines set) multiplies 256 bits at a time; there the
compiled loop wins for larger steps than elsewhere (see ``nn.fused_sequences.compiled_loop_max_work``).

Both widths are read, not measured: numba's target features (the host CPU's, or ``NUMBA_CPU_FEATURES``) and the
core type OpenBLAS reports for the kernels it loaded (through ctypes, Linux only). Any other BLAS, or an
OpenBLAS whose core type cannot be read, counts as unknown, and then nothing is assumed.

>>> vector_bits_of_features("+avx,+avx2,-avx512f,+fma")
256
>>> openblas_core_vector_bits("SkylakeX"), openblas_core_vector_bits("Haswell"), openblas_core_vector_bits("?")
(512, 256, None)
"""
import ctypes
import functools

# OpenBLAS's x86-64 core types (as ``openblas_get_corename`` spells them) and the vector width of their kernels.
_OPENBLAS_CORE_BITS = {
    "skylakex": 512, "cooperlake": 512, "sapphirerapids": 512,
    "haswell": 256, "zen": 256, "excavator": 256, "steamroller": 256,
    "sandybridge": 256, "bulldozer": 256, "piledriver": 256,
    "nehalem": 128, "core2": 128, "penryn": 128, "dunnington": 128, "prescott": 128, "atom": 128,
    "barcelona": 128, "opteron": 128, "opteron_sse3": 128, "bobcat": 128, "nano": 128,
}


def vector_bits_of_features(features):
    """The widest float vector, in bits, of an LLVM feature string such as ``"+avx2,-avx512f"``."""
    enabled = {f[1:] for f in features.split(",") if f.startswith("+")}
    if "avx512f" in enabled:
        return 512
    if "avx" in enabled:
        return 256
    return 128


def openblas_core_vector_bits(core):
    """The vector width of an OpenBLAS core type's kernels, or None for a name not listed."""
    return _OPENBLAS_CORE_BITS.get(core.lower()) if core else None


@functools.lru_cache(maxsize=None)
def kernel_vector_bits():
    """The vector width numba compiles the kernels for: its target's features, as numba itself reads them
    (None if this numba keeps them elsewhere: these are internals, not numba's public API)."""
    try:
        from numba.core import config
        from numba.core.codegen import get_host_cpu_features
        features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    except (ImportError, AttributeError):
        return None
    return vector_bits_of_features(features)


@functools.lru_cache(maxsize=None)
def openblas_core():
    """The core type whose kernels the OpenBLAS that NumPy loaded runs (e.g. 'Haswell'), or None.

    OpenBLAS built for many CPUs picks its kernels when it loads, unless ``OPENBLAS_CORETYPE`` names them.
    Found among the libraries this process has mapped (``/proc/self/maps``), so None off Linux, and None
    when NumPy runs another BLAS."""
    import numpy  # noqa: F401  (loads its BLAS)
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            getter = getattr(library, name, None)
            if getter is not None:
                getter.restype = ctypes.c_char_p
                return getter().decode()
    return None


def kernels_wider_than_blas():
    """Whether the kernels' vectors are known to be wider than those of NumPy's BLAS (False if unknown)."""
    blas_bits, kernel_bits = openblas_core_vector_bits(openblas_core()), kernel_vector_bits()
    return blas_bits is not None and kernel_bits is not None and kernel_bits > blas_bits
