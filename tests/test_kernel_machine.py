"""kernels/machine.py: the vector widths that decide how far the compiled time loops reach."""
import numpy as np
import pytest

from tinygrad_rnn.kernels import machine


@pytest.mark.parametrize("features,bits", [
    ("+64bit,+avx,+avx2,+avx512f,+avx512vl,+fma", 512),
    ("+avx,+avx2,-avx512f,-avx512vl,+fma", 256),    # AVX-512 switched off, as NUMBA_CPU_FEATURES can
    ("+sse2,+sse4.2,-avx", 128),
    ("+neon", 128),
])
def test_vector_bits_of_features_reads_the_widest_enabled_extension(features, bits):
    assert machine.vector_bits_of_features(features) == bits


def test_openblas_core_names_map_to_their_kernels_width_and_unknown_names_to_none():
    assert machine.openblas_core_vector_bits("SkylakeX") == 512
    assert machine.openblas_core_vector_bits("HASWELL") == 256
    assert machine.openblas_core_vector_bits("Zen") == 256
    assert machine.openblas_core_vector_bits("Neoversen1") is None
    assert machine.openblas_core_vector_bits(None) is None


@pytest.mark.parametrize("kernel_bits,core,wider", [
    (512, "Haswell", True), (512, "SkylakeX", False), (256, "Haswell", False), (256, "Nehalem", True),
    (512, None, False), (512, "an unknown core", False), (None, "Haswell", False),
])
def test_kernels_count_as_wider_only_against_a_blas_known_to_be_narrower(monkeypatch, kernel_bits, core, wider):
    monkeypatch.setattr(machine, "kernel_vector_bits", lambda: kernel_bits)
    monkeypatch.setattr(machine, "openblas_core", lambda: core)
    assert machine.kernels_wider_than_blas() is wider


def test_this_machine_reports_a_known_width_or_nothing():
    core = machine.openblas_core()
    assert core is None or isinstance(core, str)
    blas = (np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {}).get("name", ""))
    if core is not None:
        assert "openblas" in blas.lower()
    assert machine.kernel_vector_bits() in (128, 256, 512)      # this numba's internals are where they were read
    assert isinstance(machine.kernels_wider_than_blas(), bool)


def test_kernel_width_is_unknown_when_numba_keeps_its_features_elsewhere(monkeypatch):
    from numba.core import codegen, config
    monkeypatch.setattr(config, "CPU_FEATURES", None)
    monkeypatch.delattr(codegen, "get_host_cpu_features")
    machine.kernel_vector_bits.cache_clear()
    try:
        assert machine.kernel_vector_bits() is None
        assert machine.kernels_wider_than_blas() is False
    finally:
        machine.kernel_vector_bits.cache_clear()
