"""The app in a real headless Chromium: press Train, see one curve per class grow, save screenshots.

Needs Debian's Chromium (``apt-get install chromium``). Without it the test is skipped, unless the
environment variable ``CI`` is set: there it must run. Screenshots go to a temporary folder, or to
``assets/app_*.png`` (the README's pictures) when ``PROCRUSTES_UPDATE_ASSETS=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_support import app_server, chromium, chromium_path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# A quick but telling run: MNIST-1D (800 vs 8 training samples per class), a 32-channel CNN, 20 epochs.
EPOCHS = 20
LINK = f"/?n_samples=10000&width=32&epochs={EPOCHS}"
WAIT = 240_000  # ms; generous, for a busy 2-core machine
PLOTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
    title: String((gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '')
        .replace(/<[^>]+>/g, ''),
    traces: (gd.data || []).length,
    points: (gd.data || []).map(t => (t.x || []).length)}))"""

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but Debian's Chromium is missing (/usr/bin/chromium): apt-get install chromium")
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium); set CI to make this a failure")
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: the README's assets/ when PROCRUSTES_UPDATE_ASSETS=1, else a temporary folder."""
    return ASSETS if os.environ.get("PROCRUSTES_UPDATE_ASSETS") == "1" else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def server():
    with app_server(env={"PROCRUSTES_THREADS_PER_TRAINING": "1"}) as (url, _process):
        yield url


def main(page):
    """The page's own area (Streamlit's header has a Stop button of its own)."""
    return page.get_by_test_id("stMainBlockContainer")


def plots(page) -> list[dict]:
    return page.evaluate(PLOTS)


def plot(page, title_start: str) -> dict | None:
    return next((p for p in plots(page) if str(p["title"]).startswith(title_start)), None)


def open_page(browser, url: str, height: int = 2300):
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.goto(url)
    main(page).get_by_role("button", name="Train", exact=True).wait_for(timeout=90_000)
    return page


def test_train_in_the_browser_draws_one_curve_per_class(browser, server, shots):
    page = open_page(browser, server + LINK)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 1", timeout=30_000)
    assert plot(page, "Training samples per class")["traces"] == 1
    main(page).get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(f"epoch 1/{EPOCHS}", exact=False).wait_for(timeout=WAIT)
    # Plotly draws a moment after the status line changes: wait for the live chart itself.
    page.wait_for_function(f"() => ({PLOTS})().some(p => p.title.startsWith('Training accuracy') && p.traces > 0)",
                           timeout=WAIT)
    live = plot(page, "Training accuracy")
    assert live is not None and live["traces"] == 10
    page.get_by_text("Results of the last epoch").wait_for(timeout=WAIT)
    for title in ("Training accuracy", "Test accuracy", "Feature-gradient norm"):
        found = plot(page, title)
        assert found["traces"] == 10 and set(found["points"]) == {EPOCHS}, title
    assert plot(page, "Test confusion matrix") is not None
    page.wait_for_timeout(1500)  # let the last charts settle before the picture
    page.screenshot(path=str(shots / "app_playground.png"))
    assert (shots / "app_playground.png").stat().st_size > 10_000
    assert f"epochs={EPOCHS}" in page.url  # the experiment is in the link
    page.close()


def test_stop_in_the_browser_keeps_the_partial_run(browser, server):
    page = open_page(browser, server + "/?n_samples=4000&width=16&epochs=200", height=1400)
    main(page).get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].some(
        gd => gd.data && gd.data.length === 10 && (gd.data[0].x || []).length >= 3)""", timeout=WAIT)
    main(page).get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("stopped by the learner", exact=False).wait_for(timeout=WAIT)
    kept = plot(page, "Training accuracy")
    assert kept is not None and 3 <= kept["points"][0] < 200
    page.close()


def test_compare_boundary_and_sweep_pages_in_the_browser(browser, server, shots):
    page = open_page(browser, server + "/?n_samples=4000&width=16&epochs=10&mixer=mfw&mfw_strength=0.9&la_tau=1.0",
                     height=1500)
    page.get_by_role("link", name="Compare runs").click()
    page.get_by_role("button", name="Train ERM vs MFW", exact=False).click()
    page.get_by_text("One run in full").wait_for(timeout=WAIT)
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].some(
        gd => gd.data && gd.data.length === 4 && gd.data.every(t => (t.x || []).length === 10))""", timeout=WAIT)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shots / "app_compare.png"))

    page.get_by_role("link", name="Decision boundary").click()
    page.get_by_role("button", name="Train both").click()
    page.get_by_text("Replay: epoch").wait_for(timeout=WAIT)
    page.wait_for_timeout(1000)
    titles = [p["title"] for p in plots(page)]
    assert any(t.startswith("ERM: epoch") for t in titles) and any(t.startswith("MFW") for t in titles)
    page.screenshot(path=str(shots / "app_boundary.png"))

    page.get_by_role("link", name="Sweep").click()
    page.get_by_text("Precomputed grid").wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shots / "app_sweep.png"))
    page.close()
