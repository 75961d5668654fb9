"""Write docs/api.md, the reference of tinygrad_rnn's public names, from their signatures and docstrings.

    python docs/gen_api.py            # rewrite docs/api.md
    python docs/gen_api.py --check    # exit 1 if docs/api.md differs from what would be written

The public names are each namespace's ``__all__`` (or, for modules without one, the functions they
define). tests/test_docs.py fails when docs/api.md is stale.
"""
import importlib
import inspect
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "api.md"

# (module, the prefix readers type, a one-line description of the namespace); a module without __all__
# contributes the functions it defines, and also those it re-exports when listed in REEXPORTS.
REEXPORTS = {"tinygrad_rnn.nn.functional"}
NAMESPACES = [
    ("tinygrad_rnn", "tg", "The engine: tensors, Functions, gradient modes, gradcheck and the functional ops."),
    ("tinygrad_rnn.nn", "tg.nn", "Modules: layers, recurrent cells and stacks, and helpers for recurrent state."),
    ("tinygrad_rnn.nn.init", "tg.nn.init", "Initialisation rules, each filling a tensor in place."),
    ("tinygrad_rnn.nn.functional", "tg.nn.functional", "The ops a model's forward pass calls directly."),
    ("tinygrad_rnn.optim", "tg.optim", "Optimizers, gradient clipping and learning-rate schedules "
                                       "(`import tinygrad_rnn.optim`)."),
    ("tinygrad_rnn.data", "tg.data", "Text data: vocabularies, corpora and truncated-BPTT batches "
                                     "(`import tinygrad_rnn.data`)."),
    ("tinygrad_rnn.training", "tg.training", "Checkpoints and the n-gram baseline (`import tinygrad_rnn.training`)."),
    ("tinygrad_rnn.autograd.buffers", "tg.autograd.buffers", "The pool of large arrays that each training step "
                                                             "reuses from the last (`from tinygrad_rnn.autograd "
                                                             "import buffers`)."),
    ("tinygrad_rnn.kernels", "tg.kernels", "Numba kernels on NumPy arrays, under the fused Functions "
                                           "(`from tinygrad_rnn import kernels`)."),
]


def _plain_signature(obj):
    """The call signature without annotations (they are for type checkers, not for this page)."""
    target = getattr(obj, "py_func", obj)          # a numba dispatcher wraps the Python function
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return "(...)"
    params = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=params, return_annotation=inspect.Signature.empty))


def _own_doc(obj):
    """The object's own docstring, cleaned; '' when it has none (inherited ones are not repeated)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if doc is None and hasattr(obj, "py_func"):
        doc = obj.py_func.__doc__
    return inspect.cleandoc(doc) if doc else ""


def _split_doc(doc):
    """(summary paragraph as one line, the rest)."""
    if not doc:
        return "", ""
    head, _, rest = doc.partition("\n\n")
    return " ".join(line.strip() for line in head.splitlines()), rest.strip()


def _public_names(module):
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and inspect.isfunction(value)
            and (value.__module__ == module.__name__ or module.__name__ in REEXPORTS)]


def _public_base(cls):
    """The nearest ancestor with a public name (private helper bases are skipped), or None."""
    for base in cls.__mro__[1:]:
        if base is not object and not base.__name__.startswith("_"):
            return base.__name__
    return None


def _methods(cls):
    """(name, member) for the public methods and properties a class defines, in source order, including
    those it inherits from private helper bases (whose own pages do not exist)."""
    owners = [cls] + [base for base in cls.__mro__[1:] if base.__name__.startswith("_") and base is not object]
    members, seen = [], set()
    for owner in owners:
        for name, value in owner.__dict__.items():
            if name in seen or (name.startswith("_") and name != "__call__"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                members.append((name, value))
                seen.add(name)
    return members


def _entry(prefix, name, obj):
    lines = []
    if inspect.ismodule(obj):
        summary, _ = _split_doc(inspect.cleandoc(obj.__doc__ or ""))
        lines.append(f"### `{prefix}.{name}` (module)\n")
        if summary:
            lines.append(summary + "\n")
        return lines
    if isinstance(obj, type):
        base = _public_base(obj)
        kind = f"class, subclass of {base}" if base else "class"
        lines.append(f"### `{prefix}.{name}{_plain_signature(obj)}` ({kind})\n")
    elif not callable(obj):
        lines.append(f"### `{prefix}.{name} = {obj!r}`\n")
        return lines
    else:
        lines.append(f"### `{prefix}.{name}{_plain_signature(obj)}`\n")
    summary, rest = _split_doc(_own_doc(obj))
    if summary:
        lines.append(summary + "\n")
    if rest:
        lines.append("```text\n" + rest + "\n```\n")
    if isinstance(obj, type):
        methods = _methods(obj)
        if methods:
            lines.append("Methods and properties:\n")
            for method_name, member in methods:
                if isinstance(member, property):
                    doc, label = _own_doc(member.fget), f"`{method_name}` (property)"
                else:
                    signature = _plain_signature(member)
                    for bound, unbound in (("(self, ", "("), ("(self)", "()"), ("(cls, ", "("), ("(cls)", "()")):
                        signature = signature.replace(bound, unbound)
                    doc, label = _own_doc(member), f"`{method_name}{signature}`"
                method_summary = _split_doc(doc)[0]
                lines.append(f"- {label}" + (f": {method_summary}" if method_summary else ""))
            lines.append("")
    return lines


def render():
    """The text of docs/api.md."""
    out = [
        "# API reference",
        "",
        "<!-- Generated by docs/gen_api.py from the package's docstrings: edit those, then run "
        "`python docs/gen_api.py`. -->",
        "",
        "Every public name of the package, with its signature and docstring. `tg` is "
        "`import tinygrad_rnn as tg`. The examples in the docstrings are run by the test suite. "
        "For a guided tour, start at the [tutorials](index.md); for a mapping from PyTorch, see "
        "[pytorch.md](pytorch.md).",
        "",
    ]
    for module_name, prefix, description in NAMESPACES:
        out.append(f"- [`{prefix}`](#{prefix.replace('.', '')}): {description}")
    out.append("")
    for module_name, prefix, description in NAMESPACES:
        module = importlib.import_module(module_name)
        out += [f"## {prefix}", "", description, ""]
        for name in _public_names(module):
            out += _entry(prefix, name, getattr(module, name))
    return "\n".join(out).rstrip() + "\n"


def main(argv):
    text = render()
    if "--check" in argv:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: run python docs/gen_api.py")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
