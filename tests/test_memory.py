"""retain_freed_memory: freed blocks stay mapped for the next step, for a script that asks; the command does not."""
import subprocess
import sys

import pytest

import tinygrad_rnn.training.memory as memory
from tinygrad_rnn import cli

# Three rounds of a "training step" that allocates 40 arrays of 1 MiB, touches every page, and frees them;
# prints the minor page faults of each round.
PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "retain":
    from tinygrad_rnn.training import retain_freed_memory
    assert retain_freed_memory()
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(2**17) for _ in range(40)]
    del arrays
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults_per_round(mode):
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return [int(line) for line in done.stdout.split()]


@pytest.mark.skipif(memory._glibc() is None, reason="the settings are glibc's")
def test_a_retained_step_reuses_the_pages_the_last_one_freed():
    control = faults_per_round("default")
    if control[-1] < 1_000:
        pytest.skip(f"this malloc already keeps freed pages mapped (faults per round: {control})")
    retained = faults_per_round("retain")
    assert retained[0] > 1_000                      # the first step still has to map its memory once
    assert retained[-1] < control[-1] / 20, (retained, control)


def test_without_glibc_nothing_is_changed(monkeypatch):
    def no_such_name(name):
        raise ValueError(f"unrecognized configuration name {name!r}")
    monkeypatch.setattr(memory.os, "confstr", no_such_name)
    assert memory.retain_freed_memory() is False


def test_a_refused_mmap_threshold_leaves_the_trim_threshold_alone(monkeypatch):
    class RefusingLibc:                  # as glibc on a 32-bit system answers a 32 MiB mmap threshold
        def __init__(self):
            self.set = []

        def mallopt(self, param, value):
            self.set.append(param)
            return 0 if param == memory.M_MMAP_THRESHOLD else 1

    libc = RefusingLibc()
    monkeypatch.setattr(memory, "_glibc", lambda: libc)
    assert memory.retain_freed_memory() is False
    assert libc.set == [memory.M_MMAP_THRESHOLD]      # a trim threshold alone would make things worse


def test_the_command_leaves_malloc_as_it_is(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(memory, "retain_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(sys, "argv", ["tinygrad-rnn", "--help"])
    assert cli.run() == 0
    assert cli.main(["--help"]) == 0
    assert calls == []
    assert "train" in capsys.readouterr().out
