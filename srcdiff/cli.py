"""The ``srcdiff`` command: write gradient modules, show generated code, list the rules.

Exit status: 0 success; 1 ``generate --check`` found a stale or missing module; 2 an
error (bad arguments, a missing file or folder, a syntax error, an exception while
importing the user's module, an unknown function, a construct srcdiff does not support),
reported as one line on standard error; 141 when whoever reads standard output closes
it early (``srcdiff rules | head -1``), quietly, as a program killed by SIGPIPE.

The user's module is imported (so its top-level code runs); whatever it prints goes to
standard error, never into the command's own output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import re
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LocatedError, SrcdiffError

if TYPE_CHECKING:
    from .kinds import Kind

EPILOG = """examples:
  srcdiff generate model.py                      write model_grad.py: grad_<name> for every function
  srcdiff generate model.py --function loss --wrt w,b -o loss_grad.py
  srcdiff generate model.py -o -                 print the module instead of writing it
  srcdiff generate model.py --check              exit 1 if model_grad.py is out of date
  srcdiff generate model.py --mode hessian       write model_hessian.py: hvp_<name>, hessian_<name>
  srcdiff generate model.py --numba              the gradients compiled: @numba.njit(cache=True)
  srcdiff show model.py:loss                     print the generated gradient
  srcdiff show model.py:loss --stage lower       print the three-address form
  srcdiff rules --verify                         prove every derivative rule with SymPy
  srcdiff rules --verify model.py                prove the rules model.py registers
  srcdiff explain model.py:h --at x=3 --svg h.svg  the lecture's view: graph, local derivatives, chain rule

The module is imported, so its top-level code runs: what it prints is shown on standard
error, never mixed into the command's output (-o - writes only the generated module).

exit status: 0 success, 1 stale module (--check), 2 error (one line on standard error),
141 standard output closed early (srcdiff rules | head -1)
"""

STAGES = {"normalize": "normalize", "lower": "lower", "reverse": "reverse",
          "optimized": "optimize", "optimize": "optimize"}


class UsageError(SrcdiffError):
    """A mistake in the command line or in what it names."""


BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a program the signal ended


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        status: int = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit as a traceback
        return status
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE
    except LocatedError as error:
        print(_one_line(error), file=sys.stderr)
    except (SrcdiffError, OSError) as error:
        print(f"srcdiff: error: {error}", file=sys.stderr)
    except SyntaxError as error:
        print(f"{error.filename}:{error.lineno}:{error.offset or 0}: syntax error: "
              f"{error.msg}", file=sys.stderr)
    return 2


def _discard_stdout() -> None:
    """The reader of standard output has gone: send what is left (Python flushes
    ``sys.stdout`` at exit) to the null device, so no second error is printed."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no file descriptor (stdout replaced in-process)
        pass


def _one_line(error: LocatedError) -> str:
    text = f"{error.filename}:{error.lineno}:{error.col + 1}: {error.message}"
    return text + (f" ({error.hint})" if error.hint else "")


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="srcdiff", description="Source-to-source reverse-mode differentiation of "
        "Python: write gradient modules that need no AD library at run time.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"srcdiff {__version__}")
    commands = parser.add_subparsers(title="commands")

    generate = commands.add_parser(
        "generate", help="write a module of gradient functions",
        description="Write a module holding grad_<name> (or, with --mode, jvp_<name>, or "
        "hvp_<name> and hessian_<name>) for each function: every "
        "top-level function of PATH by default (one that cannot be differentiated is "
        "skipped, with its reason on standard error), or those named with --function.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    generate.add_argument("path", type=Path, help="the Python file to differentiate")
    generate.add_argument("--function", action="append", metavar="NAME",
                          help="a function to differentiate (repeatable)")
    generate.add_argument("--wrt", metavar="NAME[,NAME]",
                          help="parameters to differentiate with respect to (default: "
                          "those annotated float, else the first)")
    generate.add_argument("--types", metavar="NAME=TYPE[,...]",
                          help="parameter types where there are no annotations: float "
                          "or array[RANK] (a NumPy array; both differentiated by default), "
                          "or int; e.g. --types w=array[1],X=array[2]")
    generate.add_argument("--mode", choices=("grad", "jvp", "hessian"), default="grad",
                          help="grad (default): grad_<name>, the gradient; jvp: "
                          "jvp_<name>(args..., tangents...) returning (value, tangent), "
                          "forward mode; hessian: hvp_<name>(args..., vectors...), the "
                          "Hessian-vector product, and with one parameter to differentiate, "
                          "hessian_<name>(args...)")
    generate.add_argument("--numba", action="store_true",
                          help="compile each gradient with numba: @numba.njit(cache=True), "
                          "checked by compiling it now (numbers only; the module imports "
                          "numba)")
    generate.add_argument("-o", "--output", metavar="OUT.py",
                          help="where to write (default: PATH's name with _grad, _jvp or "
                          "_hessian; - for standard output)")
    generate.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 if OUT.py differs from what would "
                          "be written")
    generate.add_argument("--force", action="store_true",
                          help="overwrite OUT.py even if srcdiff did not generate it")
    generate.set_defaults(run=_generate)

    show = commands.add_parser("show", help="print the generated source of one function")
    show.add_argument("target", metavar="PATH:NAME")
    show.add_argument("--stage", choices=sorted(STAGES), help="print this pipeline "
                      "stage instead of the final gradient")
    show.add_argument("--wrt", metavar="NAME[,NAME]")
    show.add_argument("--types", metavar="NAME=TYPE[,...]", help="as for generate")
    show.set_defaults(run=_show)

    explain = commands.add_parser(
        "explain", help="print the computational graph and chain rule at a point",
        description="Run PATH:NAME at the point given by --at and print its three-address "
        "form with values, each primitive's local derivatives, the backward sweep and the "
        "chain-rule products; optionally write the graph as DOT or SVG.")
    explain.add_argument("target", metavar="PATH:NAME")
    explain.add_argument("--at", metavar="NAME=VALUE[,...]", required=True,
                         help="the point, e.g. x=3,y=0.5 (every parameter without a default)")
    explain.add_argument("--wrt", metavar="NAME[,NAME]")
    explain.add_argument("--dot", metavar="OUT.dot", help="write the graph in DOT")
    explain.add_argument("--svg", metavar="OUT.svg", help="draw the graph with Graphviz's dot")
    explain.add_argument("--max-rows", type=int, default=200, metavar="N")
    explain.set_defaults(run=_explain)

    rules = commands.add_parser(
        "rules", help="list the derivative rules",
        description="List srcdiff's derivative rules, or, given modules, the rules they "
                    "register with srcdiff.register_rule when imported.")
    rules.add_argument("paths", nargs="*", metavar="PATH",
                       help="modules whose registered rules to list or verify (imported)")
    rules.add_argument("--verify", action="store_true",
                       help="prove every rule with SymPy (numerically where a rule has no "
                            "SymPy primal) and say how (needs srcdiff[verify])")
    rules.set_defaults(run=_rules)
    return parser


# -- generate -----------------------------------------------------------------------
def _generate(args: argparse.Namespace) -> int:
    from .standalone import MARK, Request, module_functions, module_text, prepare
    path = _existing(args.path)
    if args.numba:  # without numba: one line naming the extra, before any work
        from .jit import require_numba
        require_numba()
    output = args.output or str(path.with_name(f"{path.stem}_{args.mode}.py"))
    if output != "-":
        _check_output(Path(output), path)
    module = _import_user_module(path)
    types_given = _parse_types(args.types)
    named = args.function or []
    functions = {f.__name__: f for f in module_functions(module)}
    for name in named:
        if name not in functions:
            raise UsageError(f"{path}: no function named {name!r} (it has "
                             f"{', '.join(functions) or 'none'})")
    chosen = [functions[n] for n in named] if named else list(functions.values())
    parts = []
    for function in chosen:
        try:
            wrt, kinds = _wrt(function, args.wrt, types_given)
            parts.append(prepare(Request(function, wrt, kinds,
                                         frozenset(_declared(function, types_given)),
                                         mode=args.mode, numba=args.numba,
                                         integers=_integers(function, types_given),
                                         said=_said(function, kinds, args.types))))
        except SrcdiffError as error:
            if named:
                raise
            reason = _one_line(error) if isinstance(error, LocatedError) else str(error)
            print(f"srcdiff: skipped {function.__name__}: {reason}", file=sys.stderr)
    if not parts:
        raise UsageError(f"{path}: no function could be differentiated")
    if args.mode == "hessian":
        for part in parts:
            if ", hessian_" not in part.name:
                print(f"srcdiff: {part.name} only: hessian_<name> needs one parameter to "
                      "differentiate (--wrt NAME)", file=sys.stderr)
    command = _command(path, args, output)
    text = module_text(path, parts, command + _where_to_run(path), compiled=args.numba)
    if output == "-":
        sys.stdout.write(text)
        return 0
    target = Path(output)
    if args.check:
        if not target.exists() or target.read_text() != text:
            print(f"srcdiff: {target} is stale: regenerate with `{command}`"
                  f"{_where_to_run(path)}", file=sys.stderr)
            return 1
        return 0
    if target.exists() and not target.read_text().startswith(MARK) and not args.force:
        raise UsageError(f"{target} exists and was not generated by srcdiff; pass --force "
                         "to overwrite it")
    _write_atomically(target, text)
    print(f"wrote {target} ({', '.join(part.name for part in parts)})", file=sys.stderr)
    return 0


def _command(path: Path, args: argparse.Namespace, output: str) -> str:
    """The command that regenerates the module, as recorded in its header (the same
    whichever way the files were named, so --check compares like with like).

    Paths are relative to the folder the module is imported from: its own folder, or,
    for a module inside a package, the folder holding the top package, where the
    command is to be run (``srcdiff generate pkg/sub/model.py -o pkg/sub/model_grad.py``,
    from the folder holding ``pkg``)."""
    root = _import_root(path)
    parts = ["srcdiff generate", _relative(path, root)]
    parts += [f"--function {name}" for name in args.function or []]
    if args.wrt:
        parts.append(f"--wrt {args.wrt}")
    if args.types:
        parts.append(f"--types {args.types}")
    if args.mode != "grad":
        parts.append(f"--mode {args.mode}")
    if args.numba:
        parts.append("--numba")
    if output != "-":
        parts.append(f"-o {_relative(Path(output), root)}")
    return " ".join(parts)


def _where_to_run(path: Path) -> str:
    """Where the regenerate command runs, when that is not the module's own folder."""
    root = _import_root(path)
    if root == path.resolve().parent:
        return ""
    return f" (in the folder holding {Path(_relative(path, root)).parts[0]}/)"


def _import_root(path: Path) -> Path:
    """The folder ``path`` is imported from (``standalone.load_module``'s rule)."""
    folder = path.resolve().parent
    while (folder / "__init__.py").exists():
        folder = folder.parent
    return folder


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path.resolve(), root)).as_posix()


def _existing(path: Path) -> Path:
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give the Python file to differentiate")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    return path


def _check_output(target: Path, source: Path) -> None:
    """Refuse an output that is the input itself (even with --force), a folder, or
    in a folder that does not exist, before anything is imported or generated."""
    if target.resolve() == source.resolve() or (target.exists() and target.samefile(source)):
        raise UsageError(f"{target}: is the input file itself; srcdiff never writes over "
                         "its input (give another -o)")
    _check_writable(target)


def _check_writable(target: Path) -> None:
    if target.is_dir():
        raise UsageError(f"{target}: is a folder; give the file to write (-o OUT.py)")
    if not target.resolve().parent.is_dir():
        raise UsageError(f"{target}: the folder {target.parent} does not exist")


@contextlib.contextmanager
def _user_output_to_stderr() -> Iterator[None]:
    """While the user's code runs, what it prints goes to standard error: through
    ``sys.stdout`` and through file descriptor 1 (a C extension, ``os.system``)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        saved = None
    else:
        sys.stderr.flush()
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _import_user_module(path: Path) -> types.ModuleType:
    """Import the module at ``path``; its prints go to standard error, and an exception
    it raises becomes one line (its place in the user's code, its type, its message)."""
    from .standalone import load_module
    try:
        with _user_output_to_stderr():
            module = load_module(path)
    except (SrcdiffError, SyntaxError):
        raise
    except (Exception, SystemExit) as error:
        raise UsageError(f"importing {path} failed: {_where_raised(error, path)}"
                         f"{type(error).__name__}: {error}") from None
    found = getattr(module, "__file__", None)
    if found is None or Path(found).resolve() != path.resolve():
        raise UsageError(f"{path}: importing it as {module.__name__!r} gives another module "
                         f"({found or 'built in'}); rename the file")
    return module


def _where_raised(error: BaseException, path: Path) -> str:
    """``file:line: `` of the deepest frame in ``path`` (else in any user file) that the
    exception passed through, or nothing."""
    import traceback
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith("<frozen ")]
    mine = [f for f in frames if Path(f.filename).resolve() == path.resolve()]
    if mine:
        return f"{path}:{mine[-1].lineno}: "
    return f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""


_ARRAY_TYPE = re.compile(r"(?:numpy\.|np\.)?(?:nd)?array(?:\[(\d+)\])?$")


def _parse_types(text: str | None) -> dict[str, str | Kind]:
    """``x=float,w=array[1]``: each parameter's type: "float", "int" or an array kind."""
    result = {}
    for item in filter(None, (text or "").split(",")):
        name, _, kind = item.partition("=")
        result[name.strip()] = _type(kind.strip(), f"--types {item!r}")
    return result


def _type(text: str, where: str) -> str | Kind:
    if text in ("float", "int"):
        return text
    match = _ARRAY_TYPE.match(text)
    if match is None:
        raise UsageError(f"{where}: the type must be float, int, array or array[RANK] "
                         "(a NumPy array of that many dimensions)")
    from .kinds import array
    return array(int(match[1]) if match[1] else None)


def _said(function: types.FunctionType, kinds: dict[str, Kind],
          text: str | None) -> dict[str, str]:
    """How each array parameter's kind was said (``annotated np.ndarray``, ``given as
    --types w=array``), for messages where its number of axes matters and was not said."""
    given = {item.partition("=")[0].strip(): item.strip()
             for item in filter(None, (text or "").split(","))}
    written = _annotations_as_written(function)
    said = {}
    for name in kinds:
        if name in given:
            said[name] = f"given as --types {given[name]}"
        elif name in written:
            said[name] = f"annotated {written[name]}"
        else:
            annotation = function.__annotations__.get(name)
            said[name] = "annotated " + (annotation if isinstance(annotation, str) else
                                         f"{getattr(annotation, '__module__', '')}."
                                         f"{getattr(annotation, '__qualname__', '')}")
    return said


def _annotations_as_written(function: types.FunctionType) -> dict[str, str]:
    """The parameters' annotations as the source writes them (``np.ndarray``); none
    where the source cannot be read."""
    import ast
    import inspect
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return {}
    definition = next((node for node in ast.walk(tree) if isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function.__name__), None)
    if definition is None:
        return {}
    arguments = definition.args
    return {a.arg: ast.unparse(a.annotation)
            for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs
            if a.annotation is not None}


def _integers(function: types.FunctionType, given: dict[str, str | Kind]) -> frozenset[str]:
    """The parameters declared int, by --types or an annotation."""
    found = {name for name, kind in given.items() if kind == "int"}
    found |= {name for name, annotation in function.__annotations__.items()
              if annotation in (int, "int") and name not in given}
    return frozenset(found)


def _declared(function: types.FunctionType, given: dict[str, str | Kind]) -> set[str]:
    """The parameters whose kind is said: by --types, or an annotation float, int or
    an array."""
    declared = set(given)
    for name, annotation in function.__annotations__.items():
        text = annotation if isinstance(annotation, str) else (
            "ndarray" if getattr(annotation, "__name__", "") == "ndarray"
            else getattr(annotation, "__name__", ""))
        if text in ("float", "int") or _ARRAY_TYPE.match(text):
            declared.add(name)
    return declared


def _wrt(function: types.FunctionType, wrt: str | None,
         given: dict[str, str | Kind]) -> tuple[tuple[str, ...], dict[str, Kind]]:
    """The parameters to differentiate and the kinds of the array parameters."""
    code = function.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    kinds = dict(given)
    for name, annotation in function.__annotations__.items():
        text = annotation if isinstance(annotation, str) else (
            "ndarray" if getattr(annotation, "__name__", "") == "ndarray"
            else getattr(annotation, "__name__", ""))
        if name in params and name not in kinds and (
                text in ("float", "int") or _ARRAY_TYPE.match(text)):
            kinds[name] = _type(text, f"{function.__name__}(): parameter {name!r}")
    arrays = {n: k for n, k in kinds.items() if not isinstance(k, str)}
    if wrt:
        names = tuple(n.strip() for n in wrt.split(","))
        missing = [n for n in names if n not in params]
        if missing:
            raise UsageError(f"{function.__name__}() has no parameter {missing[0]!r}")
        return names, arrays
    chosen = tuple(p for p in params if kinds.get(p) == "float" or p in arrays)
    if chosen:
        return chosen, arrays
    if not params:
        raise UsageError(f"{function.__name__}() has no parameters to differentiate")
    return (params[0],), arrays


def _write_atomically(target: Path, text: str) -> None:
    """Write to a temporary file beside ``target``, then rename it into place: an
    interrupted write never leaves a half-written module."""
    folder = target.resolve().parent
    handle = tempfile.NamedTemporaryFile("w", dir=folder, prefix=f".{target.name}.",
                                         suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # a temporary file is private (0600); give the result the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, target)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise


# -- show and rules -----------------------------------------------------------------
def _show(args: argparse.Namespace) -> int:
    from .pipeline import generate
    function = _function_at(args.target)
    name = function.__name__
    wrt, kinds = _wrt(function, args.wrt, _parse_types(args.types))
    generated = generate(function, wrt, name=f"grad_{name}", kinds=kinds)
    if args.stage:
        print(generated.stages[STAGES[args.stage]].source())
    else:
        sys.stdout.write(generated.source)
    return 0


def _function_at(target: str) -> types.FunctionType:
    path_text, _, name = target.rpartition(":")
    if not path_text or not name:
        raise UsageError(f"{target!r}: expected PATH:NAME, e.g. model.py:loss")
    module = _import_user_module(_existing(Path(path_text)))
    function = getattr(module, name, None)
    if not isinstance(function, types.FunctionType):
        raise UsageError(f"{path_text}: no function named {name!r}")
    return function


def _explain(args: argparse.Namespace) -> int:
    from fractions import Fraction
    from .explanation import explain
    function = _function_at(args.target)
    point = {}
    for item in filter(None, args.at.split(",")):
        name, _, text = item.partition("=")
        try:
            value = int(text) if text.strip().lstrip("-").isdigit() else float(Fraction(text))
        except (ValueError, ZeroDivisionError):
            raise UsageError(f"--at {item!r}: expected NAME=NUMBER") from None
        point[name.strip()] = value
    wrt = tuple(n.strip() for n in args.wrt.split(",")) if args.wrt else _wrt(function, None, {})[0]
    for written in (args.dot, args.svg):
        if written:
            _check_writable(Path(written))
    try:
        with _user_output_to_stderr():  # explain runs the function at the point
            explanation = explain(function, wrt=wrt, max_rows=args.max_rows, **point)
    except TypeError as error:  # the point does not fit the signature
        raise UsageError(f"--at: {error}") from None
    print(explanation)
    if args.dot:
        _write_atomically(Path(args.dot), explanation.to_dot())
        print(f"wrote {args.dot}", file=sys.stderr)
    if args.svg:
        import shutil
        if shutil.which("dot") is None:
            raise UsageError("--svg needs Graphviz's `dot` program, which is not installed "
                             "(apt-get install graphviz); --dot writes the DOT text")
        _write_atomically(Path(args.svg), explanation.to_svg())
        print(f"wrote {args.svg}", file=sys.stderr)
    return 0


def _rules(args: argparse.Namespace) -> int:
    from .rules import RULES
    selected = None
    if args.paths:
        before = {id(r) for r in RULES if not r.builtin}
        for path in args.paths:
            _import_user_module(_existing(Path(path)))  # its prints are not the listing
        selected = [r for r in RULES if not r.builtin and id(r) not in before]
        if not selected:
            raise UsageError(f"{', '.join(args.paths)} register no derivative rule "
                             "(srcdiff.register_rule) when imported")
    if not args.verify:
        for rule in selected if selected is not None else RULES:
            print(f"{rule.name:<16} {rule.formula()}")
        if selected is None:
            nondifferentiable = sorted(getattr(f, "__name__", str(f))
                                       for f in RULES.nondifferentiable)
            print(f"\nno derivative (piecewise constant): {', '.join(nondifferentiable)}")
        return 0
    try:
        import mpmath  # noqa: F401
        import sympy  # noqa: F401
    except ImportError:
        raise UsageError("rules --verify needs SymPy and mpmath: pip install "
                         "'srcdiff[verify]'") from None
    from .verify import report, verify_all
    proofs = verify_all(selected)
    print(report(proofs))
    return 0 if all(p.ok for p in proofs) else 1


if __name__ == "__main__":
    sys.exit(main())
