"""The app in a real headless Chromium: press Train, watch the curves grow without ever going blank, stop,
compare, open the Teacher page from its link (the key leaves the address bar), and save a screenshot of every
page.

Needs Debian's Chromium (``apt-get install chromium``). Without it the test is skipped, unless the
environment variable ``CI`` is set: there it must run. Screenshots go to a temporary folder, or to
``assets/app_*.png`` (the README's pictures) when ``PROCRUSTES_UPDATE_ASSETS=1``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from browser_support import ALL_PLOTS, app_server

ASSETS = Path(__file__).resolve().parent.parent / "assets"
EPOCHS = 12
LINK = f"/?n_samples=6000&width=16&epochs={EPOCHS}&seeds=1"
WAIT = 240_000  # ms; generous, for a busy 2-core machine
PLOTS = """() => """ + ALL_PLOTS + """.map(gd => ({
    title: String((gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '')
        .replace(/<[^>]+>/g, ''),
    traces: (gd.data || []).length,
    points: (gd.data || []).map(t => (t.x || []).length),
    classes: (gd.data || []).filter(t => !String(t.name || '').includes('running')).map(t => (t.x || []).length)}))"""

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: the README's assets/ when PROCRUSTES_UPDATE_ASSETS=1, else a temporary folder."""
    return ASSETS if os.environ.get("PROCRUSTES_UPDATE_ASSETS") == "1" else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("run-store")
    with app_server(env={"PROCRUSTES_RUN_STORE": str(store), "PROCRUSTES_MAX_TRAININGS": "2"}) as (url, _process):
        yield url


def main(page):
    """The page's own area."""
    return page.get_by_test_id("stMainBlockContainer")


def plots(page) -> list[dict]:
    return page.evaluate(PLOTS)


def plot(page, title_start: str) -> dict | None:
    return next((p for p in plots(page) if str(p["title"]).startswith(title_start)), None)


def open_page(browser, url: str, width: int = 1440, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    main(page).get_by_role("button", name="Train", exact=True).wait_for(timeout=90_000)
    return page


def test_train_draws_one_curve_per_class_that_never_goes_blank(browser, server, shots):
    page = open_page(browser, server + LINK)
    page.wait_for_function(f"() => {ALL_PLOTS}.length >= 1", timeout=30_000)
    assert plot(page, "Training samples per class")["traces"] == 1
    # the live charts' frames are on the page before Train; pressing it must not replace them (a frame
    # drawn afresh reloads Plotly before its first chart)
    page.wait_for_function("() => document.querySelectorAll('iframe').length >= 2", timeout=30_000)
    page.evaluate("() => document.querySelectorAll('iframe').forEach(f => { f.__before = true; })")
    main(page).get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"() => ({PLOTS})().some(p => p.title.startsWith('Training accuracy') && p.traces > 0)",
                           timeout=WAIT)
    # each live chart's drawing area is marked once: a chart updated in place keeps its mark to the end
    page.evaluate("() => " + ALL_PLOTS + ".forEach(gd => { gd.__first = true; })")
    live_titles = ("Training accuracy", "Test accuracy", "Feature-gradient", "Training loss", "Inside the epoch")
    seen: set[str] = set()  # live charts drawn so far
    progress_titles: set[str] = set()  # the in-epoch chart's titles (its epoch and share of mini-batches)
    blank = 0  # samples (every 100 ms) at which a chart drawn before showed no drawn copy
    deadline = time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        drawn = {t for p in plots(page) for t in live_titles if p["title"].startswith(t) and p["traces"] > 0}
        blank += bool(seen - drawn)
        seen |= drawn
        progress_titles |= {p["title"] for p in plots(page) if p["title"].startswith("Inside the epoch")}
        if seen == set(live_titles) and page.get_by_text("Results of the last epoch").count():
            # the run ended: sample two seconds more, through the page's last full redraw
            deadline = min(deadline, time.monotonic() + 2.0)
        page.wait_for_timeout(100)
    assert seen == set(live_titles) and blank == 0
    assert len(progress_titles) >= 3  # redrawn inside epochs, not only once per epoch
    kept = page.evaluate("() => " + ALL_PLOTS + ".filter(gd => gd.__first).map(gd => String(gd.layout.title.text))")
    assert any("Training accuracy" in t for t in kept)  # the same chart from the first epoch to the last
    frames = page.evaluate("() => [...document.querySelectorAll('iframe')].filter(f => f.contentDocument"
                           " && f.contentDocument.querySelector('.js-plotly-plot')).map(f => !!f.__before)")
    assert frames and all(frames)
    for title in ("Training accuracy", "Test accuracy", "Feature-gradient norm"):
        found = plot(page, title)
        per_class = [n for n in found["classes"] if n == EPOCHS]  # the running lines are not per class
        assert len(per_class) == 10, title
    assert page.get_by_text("Finished: 1 training", exact=False).count() == 1
    page.wait_for_timeout(1000)  # let the last charts settle before the picture
    page.screenshot(path=str(shots / "app_playground.png"))
    assert (shots / "app_playground.png").stat().st_size > 10_000
    assert f"epochs={EPOCHS}" in page.url  # the experiment is in the link
    page.close()


def test_stop_in_the_browser_ends_the_run_and_keeps_its_epochs(browser, server):
    page = open_page(browser, server + "/?n_samples=6000&width=16&epochs=200&seeds=1")
    main(page).get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => " + ALL_PLOTS + """.some(
        gd => gd.data && gd.data.length >= 10 && (gd.data[0].x || []).length >= 2)""", timeout=WAIT)
    main(page).get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped: 1 training", exact=False).wait_for(timeout=30_000)
    kept = plot(page, "Training accuracy")
    assert kept is not None and 2 <= kept["points"][0] < 200
    page.close()


def test_compare_boundary_and_sweep_pages_in_the_browser(browser, server, shots):
    page = open_page(browser, server + "/?n_samples=4000&width=16&epochs=8")
    page.get_by_role("link", name="Compare").click()
    main(page).get_by_role("button", name="Train A and B on the same seeds").click()
    page.get_by_text("The verdict, seed by seed").wait_for(timeout=WAIT)
    assert page.get_by_text("seed noise", exact=False).count() >= 1
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shots / "app_compare.png"), full_page=True)

    page.get_by_role("link", name="Decision boundary").click()
    main(page).get_by_role("button", name="Train both").click()
    page.get_by_text("Replay: epoch").wait_for(timeout=WAIT)
    page.wait_for_function(f"() => ({PLOTS})().some(p => p.title.startsWith('MFW'))"
                           f" && ({PLOTS})().some(p => p.title.startsWith('ERM + LA: epoch'))", timeout=30_000)
    titles = [p["title"] for p in plots(page)]
    assert any(t.startswith("ERM + LA: epoch") for t in titles) and any(t.startswith("MFW") for t in titles)
    page.get_by_text("% of the plane", exact=False).first.wait_for(timeout=WAIT)  # how much the pictures differ
    page.screenshot(path=str(shots / "app_boundary.png"))

    page.get_by_role("link", name="Sweep").click()
    page.get_by_text("Saved grid").wait_for(timeout=30_000)
    page.wait_for_function(f"() => {ALL_PLOTS}.length >= 2", timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shots / "app_sweep.png"))
    page.close()


def test_a_phone_shows_the_page_without_cut_labels(browser, server, shots):
    page = open_page(browser, server + LINK, width=390, height=844)
    button = main(page).get_by_role("button", name="Train", exact=True)
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 392  # nothing sticks out sideways
    page.screenshot(path=str(shots / "app_phone.png"))
    page.close()


def test_a_teacher_link_opens_the_teacher_page_and_the_key_leaves_the_address_bar(browser, tmp_path):
    env = {"PROCRUSTES_RUN_STORE": str(tmp_path), "PROCRUSTES_TEACHER_KEY": "sesame", "PROCRUSTES_MAX_TRAININGS": "1"}
    with app_server(env=env) as (url, _process):
        teacher = browser.new_page()
        teacher.goto(url + "/?teacher=sesame&ratio=20")
        main(teacher).get_by_text("Teacher's view").wait_for(timeout=90_000)
        main(teacher).get_by_text("active trainings", exact=False).wait_for(timeout=30_000)
        teacher.wait_for_function("() => !location.search.includes('teacher')", timeout=30_000)
        assert "sesame" not in teacher.url
        assert teacher.get_by_test_id("stSidebarNav").get_by_text("Teacher", exact=True).count() == 1
        learner = browser.new_page()  # another browser: no key
        learner.goto(url + "/")
        main(learner).get_by_role("button", name="Train", exact=True).wait_for(timeout=90_000)
        assert learner.get_by_test_id("stSidebarNav").get_by_text("Playground", exact=True).count() == 1
        assert learner.get_by_test_id("stSidebarNav").get_by_text("Teacher", exact=True).count() == 0
        teacher.close()
        learner.close()
