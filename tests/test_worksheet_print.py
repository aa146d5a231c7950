"""A worksheet printed by Chromium: each exercise on whole pages of A4 and of Letter, none cut.

Skipped where Playwright or /usr/bin/chromium is missing, unless MICROGRADX_REQUIRE_BROWSER is set.
"""

from __future__ import annotations

import re

import pytest
from chromium import ARGS, CHROMIUM, require

import microgradx as mg
from microgradx.worksheet import answers_html, worksheet_html

require()
from playwright.sync_api import sync_playwright  # noqa: E402

PAGE = re.compile(rb"/Type\s*/Page(?!s)")


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_each_exercise_prints_on_its_own_page(tmp_path, paper):
    exercises = [mg.exercise(7000 + k, level=3) for k in range(1, 4)]  # 7001: the tallest graph
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        for name, html in (("worksheet", worksheet_html(exercises)), ("answers", answers_html(exercises))):
            path = tmp_path / f"{name}.html"
            path.write_text(html, encoding="utf-8")
            page.goto(path.resolve().as_uri())
            pdf = page.pdf(format=paper, prefer_css_page_size=True)  # the sheet asks for landscape
            # break-inside: avoid keeps an exercise whole: one page each, none split over two
            assert len(PAGE.findall(pdf)) == len(exercises), name
        browser.close()
