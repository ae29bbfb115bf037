"""Every registered policy action guards something, and every action checked is registered.

An action in :data:`onecity.core.policy.ACTIONS` that no code checks is a role table entry
that grants nothing and misleads whoever reads it; an action checked but never registered is
refused to everyone (the policy fails closed), which a test may not exercise. The check sites
are found in the source: calls to ``policy.require``/``policy.may`` and to the transition
helper (``transition.begin(…, action=…)``, which checks it first), to helpers that pass one
of their parameters on to them, the navigation links a part declares (shown when
``policy.may`` allows their action), and ``may("…")`` in the page templates. An action given as a
constant, a module-level name or an entry of a module-level table is followed to its string;
a site whose action cannot be followed fails the test, so every check stays readable.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import onecity
from onecity.core import policy

ROOT = Path(onecity.__file__).parent
CHECKS = {"require", "may"}
#: Values that carry an action to a check made elsewhere: the class, and where the action is
#: among its arguments. A navigation link shows when ``policy.may(principal, link.action)``.
CARRIERS = {"NavItem": (2, "action")}
TEMPLATE_MAY = re.compile(r"""\bmay\(\s*["']([^"']+)["']\s*\)""")


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    #: module-level assignments: name -> value
    globals: dict[str, ast.expr] = field(default_factory=dict)
    #: ``from x import y`` and ``import x as y``: local name -> module (or module.attribute)
    imports: dict[str, str] = field(default_factory=dict)


def _modules() -> dict[str, Module]:
    out: dict[str, Module] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mod = Module(".".join(parts), path, ast.parse(path.read_text(encoding="utf-8")))
        for stmt in mod.tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                mod.globals[stmt.targets[0].id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                mod.globals[stmt.target.id] = stmt.value
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    mod.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    mod.imports[alias.asname or alias.name] = alias.name
        out[mod.name] = mod
    return out


def _is_policy_check(call: ast.Call, mod: Module) -> bool:
    """``policy.require(...)``/``policy.may(...)``, ``transition.begin(..., action=...)``, or
    ``require``/``may`` inside policy itself."""
    fn = call.func
    if isinstance(fn, ast.Attribute) and fn.attr in CHECKS and isinstance(fn.value, ast.Name):
        return mod.imports.get(fn.value.id) == "onecity.core.policy"
    if isinstance(fn, ast.Attribute) and fn.attr == "begin" and isinstance(fn.value, ast.Name):
        return mod.imports.get(fn.value.id) == "onecity.core.transition"
    return isinstance(fn, ast.Name) and fn.id in CHECKS and mod.name == "onecity.core.policy"


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    return [a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)]


def _action_arg(call: ast.Call, index: int, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return call.args[index] if len(call.args) > index else None


@dataclass
class Site:
    where: str
    call: ast.Call
    arg: ast.expr
    mod: Module
    scope: ast.AST  # the enclosing function (or the module), for local names


def _enclosing(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    """Each node's innermost enclosing function or lambda (the module for top-level code)."""
    owner: dict[ast.AST, ast.AST] = {}

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            owner[child] = scope
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) else scope
            visit(child, inner)

    visit(tree, tree)
    return owner


def _check_sites(mods: dict[str, Module]) -> tuple[list[Site], set[str]]:
    """Every call that checks an action (directly, or through a helper that passes its parameter
    on), and the helpers' names; a helper's own pass-through call is not a site."""
    sites: list[Site] = []
    helpers: dict[tuple[str, str], tuple[int, str]] = {}  # (module, function) -> (index, param)
    passthrough: set[int] = set()
    for mod in mods.values():
        owner = _enclosing(mod.tree)
        for node in ast.walk(mod.tree):
            if not (isinstance(node, ast.Call) and _is_policy_check(node, mod)):
                continue
            arg = _action_arg(node, 1, "action")
            assert arg is not None, f"{mod.path}:{node.lineno}: a policy check without an action"
            scope = owner[node]
            if isinstance(arg, ast.Attribute) and arg.attr in {field for _, field in CARRIERS.values()}:
                continue  # the action a carrier holds: found where the carrier is made (below)
            if (
                isinstance(arg, ast.Name)
                and isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                and arg.id in _params(scope)
            ):
                passthrough.add(id(node))
                if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef) and mod.name != "onecity.core.policy":
                    helpers[(mod.name, scope.name)] = (_params(scope).index(arg.id), arg.id)
                continue
            sites.append(Site(f"{mod.path.relative_to(ROOT.parent)}:{node.lineno}", node, arg, mod, scope))
    for mod in mods.values():
        owner = _enclosing(mod.tree)
        for node in ast.walk(mod.tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            carrier = CARRIERS.get(node.func.id)
            if carrier is not None:
                arg = _action_arg(node, *carrier)
                assert arg is not None, f"{mod.path}:{node.lineno}: {node.func.id}() without an action"
                sites.append(Site(f"{mod.path.relative_to(ROOT.parent)}:{node.lineno}", node, arg, mod, owner[node]))
                continue
            helper = helpers.get((mod.name, node.func.id))
            if helper is None:
                continue
            arg = _action_arg(node, *helper)
            assert arg is not None, f"{mod.path}:{node.lineno}: {node.func.id}() called without an action"
            sites.append(Site(f"{mod.path.relative_to(ROOT.parent)}:{node.lineno}", node, arg, mod, owner[node]))
    return sites, {name for _, name in helpers}


def _in(site: Site, mod: Module) -> Site:
    """The same site, reading names at the top level of another module (where a constant is)."""
    return Site(site.where, site.call, site.arg, mod, mod.tree)


def _resolve_name(name: str, site: Site, mods: dict[str, Module]) -> list[ast.expr]:
    """The values a name may hold at a check site: a local assignment or loop target in the
    enclosing function, a module-level constant, or a constant imported from another module."""
    for node in ast.walk(site.scope):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return _values(node.value, site, mods)
        if isinstance(node, ast.For | ast.comprehension):
            found = _unpack(node.target, node.iter, name, site, mods)
            if found is not None:
                return found
    if name in site.mod.globals:
        return _values(site.mod.globals[name], site, mods)
    target = site.mod.imports.get(name, "")
    owner, _, attr = target.rpartition(".")
    if owner in mods and attr in mods[owner].globals:
        return _values(mods[owner].globals[attr], _in(site, mods[owner]), mods)
    raise AssertionError(f"{site.where}: cannot tell which action {name!r} is")


def _unpack(
    target: ast.expr, iterable: ast.expr, name: str, site: Site, mods: dict[str, Module]
) -> list[ast.expr] | None:
    """The values ``name`` takes in ``for target in iterable`` (a name, or one place of a tuple)."""
    if isinstance(target, ast.Name):
        if target.id != name:
            return None
        return [item for table in _values(iterable, site, mods) for item in _items(table)]
    if isinstance(target, ast.Tuple):
        places = [i for i, t in enumerate(target.elts) if isinstance(t, ast.Name) and t.id == name]
        if not places:
            return None
        rows = [item for table in _values(iterable, site, mods) for item in _items(table)]
        return [row.elts[places[0]] for row in rows if isinstance(row, ast.Tuple | ast.List)]
    return None


def _items(table: ast.expr) -> list[ast.expr]:
    if isinstance(table, ast.Tuple | ast.List | ast.Set):
        return list(table.elts)
    if isinstance(table, ast.Dict):
        return [k for k in table.keys if k is not None]
    raise AssertionError(f"line {table.lineno}: a table of actions must be a literal tuple, list, set or dict")


def _values(expr: ast.expr, site: Site, mods: dict[str, Module]) -> list[ast.expr]:
    """The literal expressions ``expr`` may evaluate to, following names and subscripts."""
    if isinstance(expr, ast.Constant):
        return [expr]
    if isinstance(expr, ast.Name):
        return _resolve_name(expr.id, site, mods)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        module = site.mod.imports.get(expr.value.id)
        if module in mods and expr.attr in mods[module].globals:
            return _values(mods[module].globals[expr.attr], _in(site, mods[module]), mods)
    if isinstance(expr, ast.Subscript):
        out: list[ast.expr] = []
        for table in _values(expr.value, site, mods):
            if isinstance(table, ast.Dict):
                out.extend(table.values)
            elif isinstance(table, ast.Tuple | ast.List) and isinstance(expr.slice, ast.Constant):
                index = expr.slice.value
                assert isinstance(index, int), f"a constant subscript of a tuple or list is an index: {index!r}"
                out.append(table.elts[index])
            elif isinstance(table, ast.Tuple | ast.List):
                out.extend(table.elts)
        return out
    if isinstance(expr, ast.Tuple | ast.List | ast.Dict | ast.Set):
        return [expr]
    if isinstance(expr, ast.IfExp):  # either action, as the condition says
        return _values(expr.body, site, mods) + _values(expr.orelse, site, mods)
    raise AssertionError(f"{site.where}: cannot tell which action {ast.unparse(expr)!r} is")


def checked_actions() -> dict[str, list[str]]:
    """Each action string that some code checks, with where."""
    mods = _modules()
    sites, _ = _check_sites(mods)
    found: dict[str, list[str]] = {}
    for site in sites:
        values = _values(site.arg, site, mods)
        assert values, f"{site.where}: the action checked here has no value"
        for value in values:
            if isinstance(value, ast.Constant) and value.value is None:
                continue  # a table row with no action (``action is None or policy.may(…)``)
            assert isinstance(value, ast.Constant) and isinstance(value.value, str), (
                f"{site.where}: the action checked here is not a string ({ast.unparse(value)})"
            )
            found.setdefault(value.value, []).append(site.where)
    for template in sorted((ROOT / "web" / "templates").rglob("*.html")):
        for match in TEMPLATE_MAY.finditer(template.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), []).append(str(template.relative_to(ROOT.parent)))
    return found


def registered_actions() -> set[str]:
    """Every action in the role table once every module that registers actions is imported."""
    for info in pkgutil.walk_packages(onecity.__path__, "onecity."):
        if info.name != "onecity.__main__" and not info.name.startswith("onecity.migrations."):
            importlib.import_module(info.name)
    return set(policy.ACTIONS)


def test_every_registered_action_is_checked_somewhere() -> None:
    unchecked = (registered_actions() | policy.SELF_SERVICE) - set(checked_actions())
    assert not unchecked, f"registered but never checked (they grant nothing): {sorted(unchecked)}"


def test_every_checked_action_is_registered() -> None:
    known = registered_actions() | policy.SELF_SERVICE
    unknown = {a: where for a, where in checked_actions().items() if a not in known}
    assert not unknown, f"checked but not registered (refused to everyone): {unknown}"


def test_the_finder_sees_the_kinds_of_check_sites_there_are() -> None:
    """The analysis itself: a direct check, a helper's argument, a module-level constant, a
    table entry and a template each yield their action (else the two tests above could pass
    by finding nothing)."""
    found = checked_actions()
    assert "services.work.complete" in found  # policy.require(principal, "…")
    assert "ops.case.dispatch" in found  # _begin(session, principal, case_id, "…", …): transition.begin
    assert "hub.share.withdraw" in found  # transition.begin(…, action="…" if … else "…")
    assert "hub.geography.read" in found  # policy.require(principal, READ)
    assert any("sensing/part.py:" in w for w in found["sensing.alert.list"])  # NavItem(…, "…", order=…)
    assert "services.case.counter" in found  # a NavItem's action, and the counter's own check
    assert any(w.endswith(".html") for where in found.values() for w in where)  # may("…") in a template
    assert len(found) >= 50
