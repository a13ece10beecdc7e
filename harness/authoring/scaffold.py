"""``harness new``: a fixture folder rendered from a template, ready to run."""
from __future__ import annotations

import re
from pathlib import Path
import nbformat

from ..contract.event_payloads import default_registry
from ..contract.sample_payloads import sample_payload
from ..errors import FixtureError
from .events import close_event_names, did_you_mean
from .templates import TEMPLATES_DIR, Template, load_template, render_bundle, render_notebook

# The bundle's workflow key pattern; the key is ``fixture.<name>``, so the name must match it too.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def check_name(name: str) -> None:
    """Refuse a fixture name that would make an invalid workflow key or folder name."""
    if not NAME_PATTERN.match(name):
        raise FixtureError(f"invalid fixture name {name!r}: use lowercase letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")


def template_values(name: str, template: Template, event: str | None) -> dict[str, str]:
    """The placeholder values for ``name`` with ``template`` and ``event`` (default: the template's)."""
    event = event or template.default_event
    if template.events is not None and event not in template.events:
        raise FixtureError(f"template {template.pattern!r} only supports {', '.join(template.events)}, not {event!r}")
    registry = default_registry()
    ref = registry.ref_for_event(event)
    if ref is None:
        hint = did_you_mean(close_event_names(event)) or " (harness events lists them)"
        raise FixtureError(f"unknown event {event!r}: no payload schema is registered for it{hint}")
    sample = sample_payload(registry.json_schema(ref))
    return {"name": name, "workflow_key": f"fixture.{name}", "event": event, "schema_ref": ref,
            "payload": sample.source, "payload_prelude": sample.prelude, "required_field": sample.required_field}


def new_fixture(name: str, *, template: str = "event", event: str | None = None,
                directory: str | Path = "fixtures", templates_root: Path = TEMPLATES_DIR) -> Path:
    """Create ``<directory>/<name>/`` with ``bundle.json`` and an output-free ``test.ipynb``."""
    check_name(name)
    chosen = load_template(template, templates_root)
    folder = Path(directory) / name
    check_directory(Path(directory))
    values = template_values(name, chosen, event)
    bundle_text = render_bundle(chosen, values)
    notebook = render_notebook(chosen, values)
    try:
        folder.parent.mkdir(exist_ok=True)
        folder.mkdir()
        (folder / "bundle.json").write_text(bundle_text, encoding="utf-8")
        nbformat.write(notebook, str(folder / "test.ipynb"))
    except FileExistsError:
        raise FixtureError(f"{folder} already exists; pick another name or remove it") from None
    except OSError as exc:  # no permission, a name too long, a full disk, ...
        raise FixtureError(f"cannot write {folder}: {exc.strerror or exc}") from None
    return folder


def check_directory(directory: Path) -> None:
    """Refuse a fixtures folder that is a file, or whose parent folder does not exist: ``harness new``
    creates the fixtures folder itself at most, never a chain of folders from a mistyped path."""
    if directory.exists():
        if not directory.is_dir():
            raise FixtureError(f"{directory} is not a folder; --dir names the folder that holds the fixtures")
    elif not directory.absolute().parent.is_dir():
        raise FixtureError(f"{directory}: its parent folder {directory.absolute().parent} does not exist "
                           "(create it first, or check the --dir path)")
