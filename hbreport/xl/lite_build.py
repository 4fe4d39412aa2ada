"""Generate the xlwings Lite bundle: ``macros/lite/main.py`` and ``macros/lite/requirements.txt``.

xlwings Lite runs one ``main.py`` in Pyodide, with no access to local files and only pure-Python or
Pyodide-built packages. So the bundle is made from the package itself, never copied by hand:

- the source of the pure modules (errors, xlsemantics, rules, period, idcard, xl.core, xl.udfs,
  xl.lite_script) and of the engine's row functions, verbatim, with the imports between them removed
  and the standard-library imports gathered at the top;
- the snapshot of templates/ (every form variant and the plan's numbers) as a Python literal.

Run ``python -m hbreport.xl.lite_build`` after changing templates/ or any of those modules;
``tests/test_xl_lite.py`` fails while the committed main.py differs from what this writes.
"""

from __future__ import annotations

import ast
import pprint
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from hbreport import __version__, paths

PACKAGE = paths.ROOT / "hbreport"
LITE_DIR = paths.ROOT / "macros" / "lite"
MAIN = LITE_DIR / "main.py"
REQUIREMENTS = LITE_DIR / "requirements.txt"
# Only xlwings itself: everything else main.py needs is the standard library.
REQUIREMENTS_TEXT = "xlwings\n"
INTERNAL = "hbreport"


@dataclass(frozen=True)
class Part:
    """A module of the package to bundle; ``only`` picks named top-level definitions instead of all."""

    path: str
    only: tuple[str, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()


PARTS_BEFORE_DATA = (
    Part("errors.py"),
    Part("checks/xlsemantics.py"),
    Part("checks/registry.py"),
    Part("checks/values.py"),
    Part("coerce.py"),
    Part("checks/rules.py"),
    Part("period.py"),
    # The engine's row functions: they read .columns/.role/.formula/.key and .rules, which the bundle's
    # form variants provide, so in the bundle they take a FormVariant where the package has a SheetSpec.
    Part(
        "checks/engine.py",
        only=("TEXT_IN_NUMBER", "_clean", "_expr", "compute_row", "check_row", "check_text"),
        renames=(("SheetSpec", "FormVariant"),),
    ),
    Part("checks/idcard.py"),
    Part("xl/core.py"),
)
PARTS_AFTER_DATA = (Part("xl/udfs.py"), Part("xl/lite_script.py"))


class BundleError(Exception):
    """The modules cannot be bundled as they are (a name defined twice, an unknown internal import …)."""


def _is_internal(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == INTERNAL
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == INTERNAL for alias in node.names)
    return False


def _start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return [t.id for t in targets if isinstance(t, ast.Name)]


class _Bundle:
    def __init__(self) -> None:
        self.imports: dict[str, set[str]] = {}  # module → names ("" for `import module`)
        self.aliases: dict[str, str] = {}  # `import x as y`: y → x
        self.defined: dict[str, str] = {}  # name → part that defines it
        self.loads: dict[str, set[str]] = {}  # part → names its kept code reads
        self.chunks: list[str] = []

    def add_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                return
            for alias in node.names:
                if alias.asname:
                    raise BundleError(f"'from {node.module} import {alias.name} as …' is not supported")
                self.imports.setdefault(node.module or "", set()).add(alias.name)
        else:
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    self.imports.setdefault(alias.name, set()).add("")

    def define(self, names: list[str], where: str, extends: set[str] = frozenset()) -> None:
        """Record top-level names. A part may rebind a name it imports from an earlier part (rules.py
        extends xlsemantics' FUNCTIONS) only if that part never reads the name itself."""
        for name in names:
            earlier = self.defined.get(name)
            if earlier is not None and earlier != where:
                if name not in extends or name in self.loads.get(earlier, set()):
                    raise BundleError(f"{name!r} is defined in both {earlier} and {where}")
            self.defined[name] = where

    def add(self, part: Part) -> None:
        source = (PACKAGE / part.path).read_text(encoding="utf-8")
        tree = ast.parse(source)
        lines = source.splitlines()
        drop: set[int] = set()  # 0-based line numbers left out
        keep_nodes: list[ast.stmt] = []
        for index, node in enumerate(tree.body):
            span = range(_start(node) - 1, node.end_lineno)
            if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                drop.update(span)  # the module docstring becomes the part's heading comment
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                if not _is_internal(node):
                    self.add_import(node)
                drop.update(span)
                continue
            if "__all__" in _defined(node):
                drop.update(span)
                continue
            if part.only and not (set(_defined(node)) & set(part.only)):
                drop.update(span)
                continue
            keep_nodes.append(node)
        extends = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and _is_internal(node)
            for alias in node.names
        }
        self.loads[part.path] = {
            n.id
            for node in keep_nodes
            for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in _defined(node)
        }
        for node in keep_nodes:
            self.define(_defined(node), part.path, extends)
            for inner in ast.walk(node):
                if (
                    inner is not node
                    and isinstance(inner, ast.Import | ast.ImportFrom)
                    and _is_internal(inner)
                ):
                    drop.update(range(inner.lineno - 1, inner.end_lineno))
        if part.only:
            missing = set(part.only) - {n for node in keep_nodes for n in _defined(node)}
            if missing:
                raise BundleError(f"{part.path} has no {', '.join(sorted(missing))}")
        kept = [line for i, line in enumerate(lines) if i not in drop]
        text = "\n".join(kept)
        for old, new in part.renames:
            text = re.sub(rf"\b{old}\b", new, text)
        doc = ast.get_docstring(tree) or ""
        heading = f"# {'─' * 20} hbreport/{part.path}" + (f" ({', '.join(part.only)})" if part.only else "")
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        self.chunks.append(heading + (f"\n# {summary}" if summary else "") + "\n\n" + text.strip("\n"))

    def header_imports(self, body: str) -> str:
        """Import lines for the names the body uses, sorted the way ruff's isort wants them."""
        used = {n.id for n in ast.walk(ast.parse(body)) if isinstance(n, ast.Name)}
        used |= {
            n.value.id
            for n in ast.walk(ast.parse(body))
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
        }

        def kind(name: str) -> tuple[int, str]:
            if name.isupper() and len(name) > 1:
                return (0, name)
            return (1 if name[:1].isupper() else 2, name)

        def sections() -> tuple[list[str], list[str]]:
            std: list[str] = []
            third: list[str] = []
            straight = [(m, m) for m, names in self.imports.items() if "" in names and m in used]
            straight += [(a, f"{m} as {a}") for a, m in self.aliases.items() if a in used]
            for _module, text in sorted(straight, key=lambda item: item[1].split(" as ")[0]):
                (std if _is_stdlib(text.split(" as ")[0]) else third).append(f"import {text}")
            froms = []
            for module, names in self.imports.items():
                wanted = sorted((n for n in names if n and n in used), key=kind)
                if wanted:
                    froms.append((module, f"from {module} import {', '.join(wanted)}"))
            for module, line in sorted(froms):
                (std if _is_stdlib(module) else third).append(line)
            return std, third

        std, third = sections()
        blocks = ["from __future__ import annotations", "\n".join(std), "\n".join(third)]
        return "\n\n".join(b for b in blocks if b)


def _is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def _collapse_blank_lines(text: str) -> str:
    """At most two blank lines between top-level blocks, one inside an indented block."""
    out: list[str] = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            out.append(line)
            continue
        following = next((ln for ln in lines[i + 1 :] if ln.strip()), "")
        limit = 1 if following.startswith((" ", "\t")) else 2
        blanks = 0
        for previous in reversed(out):
            if previous.strip():
                break
            blanks += 1
        if blanks < limit:
            out.append("")
    return "\n".join(out)


def snapshot_source(snapshot: dict) -> str:
    return (
        f"# {'─' * 20} data: templates/ as of generation (hbreport.xl.snapshot.build_snapshot)\n\n"
        f"SNAPSHOT = {pprint.pformat(snapshot, width=110, sort_dicts=False, compact=True)}\n\n\n"
        "def build_snapshot() -> dict[str, Any]:\n"
        '    """The snapshot of templates/ taken when this file was generated."""\n'
        "    return SNAPSHOT"
    )


HEADER = '''\
# fmt: off
"""hbreport for xlwings Lite: the HB_ worksheet functions and the 校验本表 script.

GENERATED by `python -m hbreport.xl.lite_build` (hbreport {version}) from the package's own modules and
templates/. Do not edit: change the package and run the generator again.

In Excel: open the xlwings Lite add-in, paste this whole file into main.py and requirements.txt
beside it into requirements.txt (see docs/xlwings.md). The functions are HB_CHECK, HB_CHECK_ROWS,
HB_COMPLETION, HB_STATUS, HB_EXIT_OK and HB_ID_OK; the script is validate_workbook (校验本表).
"""

'''


def build_main(snapshot: dict | None = None) -> str:
    """The text of macros/lite/main.py."""
    from hbreport.xl.snapshot import build_snapshot

    bundle = _Bundle()
    for part in PARTS_BEFORE_DATA:
        bundle.add(part)
    bundle.define(["SNAPSHOT", "build_snapshot"], "snapshot")
    bundle.chunks.append(snapshot_source(snapshot if snapshot is not None else build_snapshot()))
    for part in PARTS_AFTER_DATA:
        bundle.add(part)
    body = "\n\n\n".join(bundle.chunks)
    clash = set(bundle.defined) & (
        {n for names in bundle.imports.values() for n in names} | set(bundle.aliases)
    )
    if clash:
        raise BundleError(f"imported names also defined in the bundle: {', '.join(sorted(clash))}")
    text = HEADER.format(version=__version__) + bundle.header_imports(body) + "\n\n" + body + "\n"
    text = _collapse_blank_lines(text)
    ast.parse(text, str(MAIN))  # the bundle must at least parse
    return text


def write_bundle(out_dir: Path | None = None) -> list[Path]:
    """Write main.py and requirements.txt (into macros/lite/ by default); return their paths."""
    out_dir = Path(out_dir) if out_dir is not None else LITE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    main, requirements = out_dir / MAIN.name, out_dir / REQUIREMENTS.name
    main.write_text(build_main(), encoding="utf-8")
    requirements.write_text(REQUIREMENTS_TEXT, encoding="utf-8")
    return [main, requirements]


if __name__ == "__main__":
    for written in write_bundle(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(written)
