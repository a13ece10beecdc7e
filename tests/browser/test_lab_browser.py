"""A real browser drives ``harness lab``: a fixture runs cell by cell, renders, and saves clean.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run`` where missing), driven by
Playwright without its own browser download.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from ..processes import stop_group

REPO = Path(__file__).resolve().parents[2]
FIXTURE = "fixtures/ticket-created-hello"
NOTEBOOK = f"{FIXTURE}/test.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_WAIT_MS = 120_000
# JupyterLab settings of the test's own profile: the notebook's kernel starts without asking (the user's
# "Always start the preferred kernel"), and no news prompt covers the page.
LAB_SETTINGS = {"notebook-extension/tracker": '{"autoStartDefaultKernel": true}',
                "apputils-extension/notification": '{"fetchNews": "false"}'}

# Every code cell numbered and the kernel idle, or an error shown (run-all stops at a failing cell).
CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
  const idle = document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle';
  const numbered = prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
  const failed = document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  return idle && (numbered || failed !== null);
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / FIXTURE, root / FIXTURE)
    (root / "pyproject.toml").write_text("[project]\nname = 'fixtures'\n")
    return root


@pytest.fixture
def lab_url(project: Path, sandbox_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """``harness lab`` serving ``project`` against the session sandbox; its URL with the token."""
    port, token = _free_port(), secrets.token_hex(16)
    jupyter_dirs = {f"JUPYTER_{kind}_DIR": str(tmp_path / kind.lower()) for kind in ("CONFIG", "DATA", "RUNTIME")}
    for name, text in LAB_SETTINGS.items():
        settings = tmp_path / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(text)
    env = {**os.environ, **sandbox_env, **jupyter_dirs, "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    argv = [sys.executable, "-m", "harness.cli", "lab", "--no-browser", "--port", str(port), "--",
            f"--IdentityProvider.token={token}", *(["--allow-root"] if os.geteuid() == 0 else [])]
    log = open(tmp_path / "lab.log", "w")  # a file: a pipe could fill up
    process = subprocess.Popen(argv, env=env, cwd=project, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/api/contents?token={token}", timeout=2).status_code == 200:
                    break
            time.sleep(0.25)
        else:
            pytest.fail(f"harness lab did not serve (exit {process.poll()}); see {tmp_path / 'lab.log'}")
        yield f"{url}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        stop_group(process)
        log.close()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    """One page of Debian's Chromium, with a fresh profile."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `.ci/run` installs Debian's chromium package"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@contextlib.contextmanager
def screenshot_on_failure(page: Page, path: Path) -> Iterator[None]:
    try:
        yield
    except (AssertionError, PlaywrightError) as exc:
        page.screenshot(path=str(path), full_page=True)
        raise AssertionError(f"{exc}\nscreenshot: {path}") from exc


def test_a_fixture_runs_renders_and_saves_clean_in_jupyterlab(lab_url, page, project, tmp_path):
    committed = (project / NOTEBOOK).read_bytes()  # the copy of the committed notebook, before Lab opens it
    with screenshot_on_failure(page, tmp_path / "jupyterlab.png"):
        page.goto(lab_url)
        # The status bar names the kernel once it is connected ("No Kernel | Initializing" before).
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"^(?!No Kernel).+ \| Idle$")).wait_for(
            timeout=RUN_WAIT_MS)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        page.wait_for_function(CELLS_RAN, timeout=RUN_WAIT_MS)

        errors = [text for text in page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
            if "Traceback" in text]
        problems = [f"a cell failed:\n{error}" for error in errors[:1]]
        problems += [] if page.locator("table.dataframe").count() else ["no DataFrame (table.dataframe) rendered"]
        problems += [] if page.locator(".harness-run-picture").count() else ["no run picture (.harness-run-picture)"]

        with page.expect_response(lambda r: r.request.method == "PUT" and "/api/contents/" in r.url) as saved:
            page.keyboard.press("Control+s")
        assert saved.value.ok, f"saving answered {saved.value.status}"
        if (project / NOTEBOOK).read_bytes() != committed:
            problems.append("the saved notebook differs from the committed one")
        assert not problems, "; ".join(problems)
