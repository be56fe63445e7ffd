"""The class in a real headless Chromium: ``?teacher=KEY`` opens the Teacher page on a fresh browser load (the
key leaves the address bar only after the page has read it), learners never see the entry, and a preset the
teacher pushes (or ends) reaches a learner's open page untouched within seconds, and the learner's typed name
never enters the address bar.

Needs Debian's Chromium (``apt-get install chromium``): skipped without it, unless ``CI`` is set.
"""

from __future__ import annotations

import pytest
from browser_support import app_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
KEY = "sesame"
LOAD = 90_000  # ms; a first page load on a busy 2-core machine


def main(page):
    return page.get_by_test_id("stMainBlockContainer")


def nav(page):
    return page.get_by_test_id("stSidebarNav")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"PROCRUSTES_RUN_STORE": str(tmp_path_factory.mktemp("run-store")), "PROCRUSTES_TEACHER_KEY": KEY,
           "PROCRUSTES_MAX_TRAININGS": "1"}
    with app_server(env=env) as (url, _process):
        yield url


@pytest.mark.parametrize("path", ["/", "/teacher"])
def test_a_teacher_link_opens_the_teacher_page_on_a_fresh_browser(browser, server, path):
    context = browser.new_context()  # no cookie, no session: a browser that never saw this server
    page = context.new_page()
    page.goto(f"{server}{path}?teacher={KEY}&ratio=20")
    main(page).get_by_text("Teacher's view").wait_for(timeout=LOAD)
    main(page).get_by_text("Push a preset to the class").wait_for(timeout=30_000)
    main(page).get_by_text("How long the class waits").wait_for(timeout=30_000)
    page.wait_for_function("() => !location.search.includes('teacher')", timeout=30_000)
    assert KEY not in page.url and "ratio=20" in page.url  # the key left the address bar, the settings stayed
    assert nav(page).get_by_text("Teacher", exact=True).count() == 1
    assert main(page).get_by_label("Teacher key").count() == 0  # opened by the link: no key asked for
    context.close()


def test_a_pushed_preset_reaches_an_open_learner_page_untouched(browser, server):
    learner = browser.new_context().new_page()
    learner.goto(server + "/")
    main(learner).get_by_role("button", name="Train", exact=True).wait_for(timeout=LOAD)
    assert nav(learner).get_by_text("Playground", exact=True).count() == 1
    assert nav(learner).get_by_text("Teacher", exact=True).count() == 0
    teacher = browser.new_context().new_page()
    teacher.goto(f"{server}/?teacher={KEY}")
    main(teacher).get_by_text("Push a preset to the class").wait_for(timeout=LOAD)
    main(teacher).get_by_test_id("stSelectbox").filter(has_text="Preset to push").click()
    teacher.get_by_role("option", name="Classroom: only the mixing strength").click()
    main(teacher).get_by_role("button", name="Push to every session").click()
    main(teacher).get_by_text("Every learner's session follows", exact=False).wait_for(timeout=30_000)
    # the learner's page, untouched, follows within seconds
    main(learner).get_by_text("Your teacher set the class preset", exact=False).wait_for(timeout=30_000)
    learner.wait_for_function("() => location.search.includes('preset=classroom-strength')", timeout=30_000)
    name = learner.get_by_label("Your name", exact=True)
    name.fill("Ada")
    name.press("Enter")
    main(teacher).get_by_role("button", name="End the class preset").click()
    main(learner).get_by_text("every control is back", exact=False).wait_for(timeout=30_000)
    assert "Ada" not in learner.url  # a name never travels in a link
    teacher.context.close()
    learner.context.close()
