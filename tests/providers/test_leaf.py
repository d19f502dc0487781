"""Providers are a leaf app: stories build on them, never the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

from django.contrib import admin

import providers
from providers.models import Provider

PROVIDERS = Path(providers.__file__).parent


def imported_modules(source: Path, root: Path = PROVIDERS.parent) -> set[str]:
    """Every module (or name in one) a Python file below ``root`` imports, relative imports resolved."""
    package = ".".join(source.relative_to(root).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_of_providers_imports_stories():
    sources = sorted(PROVIDERS.rglob("*.py"))
    assert PROVIDERS / "models.py" in sources and PROVIDERS / "migrations" / "0001_initial.py" in sources

    offenders = {
        str(source.relative_to(PROVIDERS.parent)): sorted(
            name for name in imported_modules(source) if name == "stories" or name.startswith("stories.")
        )
        for source in sources
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_import_reader_finds_every_form_of_import(tmp_path):
    # The check above would pass on a reader that sees nothing.
    module = tmp_path / "providers" / "migrations" / "0009_odd.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import stories.fields\n"
        "from stories import workflow\n"
        "from ..models import Provider\n"
        "def later():\n"
        "    from stories.admin.story import merge_action\n"
    )
    names = imported_modules(module, root=tmp_path)
    assert {"stories.fields", "stories.workflow", "providers.models.Provider"} <= names
    assert "stories.admin.story.merge_action" in names


def test_the_provider_admin_in_use_is_the_newsroom_one_built_on_the_providers_own():
    from providers.admin import ProviderAdmin as Base

    model_admin = admin.site.get_model_admin(Provider)
    assert isinstance(model_admin, Base) and type(model_admin) is not Base
    assert "merge_selected" in model_admin.actions
    assert "stories" in model_admin.fields
