"""The quiz page in a real browser (headless Chromium via Playwright), driven by the keyboard only.

A right answer is accepted and the step shows its number; a wrong one gets the note Python computed
for that slip and the page does not move on; "show me" reveals the number. No console error, no
network request. Skipped where Playwright or /usr/bin/chromium is missing, unless
MICROGRADX_REQUIRE_BROWSER is set.
"""

from __future__ import annotations

import json
import re

import pytest
from chromium import require
from test_practice import neuron_loss  # L = (w·x − y)² at w = 2, x = 3, y = 1: grad(w) = 30

import microgradx as mg
from microgradx.formatting import fmt

require()

DATA = re.compile(r'<script type="application/json" id="mgx-data">(.*?)</script>', re.S)


class Quiz:
    def __init__(self, browser, tmp_path, viewport=(1280, 720)):
        path = tmp_path / "quiz.html"
        mg.quiz(neuron_loss()[0]).save(path)
        self.data = json.loads(DATA.search(path.read_text(encoding="utf-8")).group(1))
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri())

    def current(self) -> int:
        return self.page.evaluate("window.microgradxStepper.current()")

    def to_first_question(self) -> dict:
        first = next(s for s, step in enumerate(self.data["steps"]) if "ask" in step)
        for _ in range(first + 3):  # more presses than needed: the question stops the page
            self.page.keyboard.press("ArrowRight")
        assert self.current() == first
        return self.data["steps"][first]

    def grad_shown(self, step: dict) -> str:
        return self.page.locator(f"#n{step['node']}-grad").text_content()

    def answer(self, text: str) -> str:
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")
        return self.page.locator("#feedback").text_content()


def test_a_right_answer_is_accepted_and_the_page_moves_on(browser, tmp_path):
    quiz = Quiz(browser, tmp_path)
    step = quiz.to_first_question()  # grad(e) += grad(L) · 2·e = 1 · 10
    assert quiz.grad_shown(step) == "?"
    assert quiz.page.locator("#answer").evaluate("e => e === document.activeElement")
    feedback = quiz.answer("10")
    assert "Right" in feedback and quiz.grad_shown(step) == fmt(step["ask"]["answer"]) == "10"
    here = quiz.current()
    quiz.page.keyboard.press("ArrowRight")
    assert quiz.current() == here + 1
    assert "1 right" in quiz.page.locator("#score").text_content()
    assert quiz.errors == [] and all(url.startswith("file:") for url in quiz.requests)


@pytest.mark.parametrize(
    ("given", "says"),
    [("-10", "sign is flipped"), ("1", "upstream gradient grad(L) alone"), ("5", "forward value")],
)
def test_a_wrong_answer_gets_its_note_and_the_page_waits(browser, tmp_path, given, says):
    quiz = Quiz(browser, tmp_path)
    step = quiz.to_first_question()
    feedback = quiz.answer(given)
    assert says in feedback
    expected_note = dict((fmt(v), n) for v, n in step["ask"]["notes"])[given]
    assert expected_note in feedback  # the note Python computed for exactly this slip
    assert quiz.grad_shown(step) == "?"
    here = quiz.current()
    quiz.page.locator("#next").click()  # Next does not skip the question
    assert quiz.current() == here and quiz.grad_shown(step) == "?"
    assert quiz.errors == []


def test_show_me_reveals_the_number(browser, tmp_path):
    quiz = Quiz(browser, tmp_path)
    step = quiz.to_first_question()
    quiz.page.keyboard.press("Escape")
    assert quiz.grad_shown(step) == "10" and "Shown" in quiz.page.locator("#feedback").text_content()
    assert quiz.page.locator("#line .row").nth(1).is_visible()  # the numbers of the chain rule
    quiz.page.keyboard.press("ArrowRight")  # focus left the answer box: the arrows step again
    assert quiz.current() == quiz.data["steps"].index(step) + 1
    assert quiz.errors == []


def test_every_question_answered_right_reaches_the_end(browser, tmp_path):
    quiz = Quiz(browser, tmp_path, viewport=(800, 600))
    steps = quiz.data["steps"]
    while True:
        step = steps[quiz.current()]
        if "ask" in step and quiz.page.locator("#quiz").is_visible():
            assert "Right" in quiz.answer(fmt(step["ask"]["answer"]))
        if quiz.current() == len(steps) - 1:
            break
        quiz.page.keyboard.press("ArrowRight")
    asked = sum("ask" in s for s in steps)
    assert f"{asked} right, 0 shown, of {asked}" == quiz.page.locator("#score").text_content()
    assert quiz.errors == []
