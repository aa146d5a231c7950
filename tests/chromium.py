"""Debian's Chromium for the browser tests: where it is, how it starts, and whether a test may skip.

Playwright drives ``/usr/bin/chromium`` (its own browser download cannot work here). Without it a
browser test skips, unless ``MICROGRADX_REQUIRE_BROWSER`` is set (CI sets it where chromium is
installed): then a missing piece fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
REQUIRED = bool(os.environ.get("MICROGRADX_REQUIRE_BROWSER"))
ARGS = [  # headless, and no background connections (this machine's network is closed)
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require(*modules: str) -> None:
    """Skip the module or test where Playwright, one of `modules` or Chromium is missing (fail
    instead under MICROGRADX_REQUIRE_BROWSER)."""
    if not REQUIRED:
        for module in ("playwright.sync_api", *modules):
            pytest.importorskip(module)
    if not shutil.which(CHROMIUM):
        if REQUIRED:
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)
