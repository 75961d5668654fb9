"""What every demo shares: a command line built from its config dataclass, the output folder, pyplot on Agg.

Imported by each demo before NumPy (see the BLAS note below). A demo declares ``@dataclass class Config``
and a dict ``QUICK`` of the fields ``--quick`` changes, then::

    cfg = parse_config(Config, argv, __doc__, QUICK)    # --hidden-size 64 --no-bidirectional --quick ...
    out = output_dir(cfg.out)                            # created if missing
    plt = pyplot()                                       # matplotlib without a display
    save_figure(fig, out / "loss.png")                   # laid out, written at 120 dpi, closed
"""
import argparse
import dataclasses
import os
from pathlib import Path

# The demos multiply small matrices, for which BLAS threads cost more than they save (twenty times more on a
# busy two-core machine). This must run before NumPy loads, so every demo imports this module first; an
# OPENBLAS_NUM_THREADS already in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def parse_config(config_cls, argv, description, quick):
    """A ``config_cls`` instance from ``argv``: one ``--field-name`` per dataclass field, plus ``--quick``.

    Bool fields become ``--flag`` / ``--no-flag``. ``--quick`` applies the ``quick`` overrides first;
    flags given explicitly win over both the defaults and the quick overrides.
    """
    parser = argparse.ArgumentParser(description=(description or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run of a few seconds (used by the tests)")
    defaults = config_cls()
    for field in dataclasses.fields(config_cls):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        if isinstance(default, bool):
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None,
                                help=f"(default {default})")
        else:
            kind = type(default) if default is not None else str
            parser.add_argument(flag, dest=field.name, type=kind, default=None, help=f"(default {default})")
    args = parser.parse_args(argv)
    config = dataclasses.replace(defaults, **quick) if args.quick else defaults
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)
             if getattr(args, f.name) is not None}
    return dataclasses.replace(config, **given)


def output_dir(path):
    """``path`` as a Path, created with its parents if missing."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    """Lay out ``fig``, write it to ``path`` (PNG at 120 dpi) and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
