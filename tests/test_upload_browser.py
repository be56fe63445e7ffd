"""Your own data in a real headless Chromium: upload a small CSV, or a zipped folder of class sub-folders of
images, in the sidebar, train on it, and see its class names on the page's charts. Skipped without
Debian's Chromium unless ``CI`` is set (see ``conftest.browser``)."""

from __future__ import annotations

import pytest
from browser_support import ALL_PLOTS, app_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT = 240_000  # ms; generous, for a busy 2-core machine
# every chart's title and its first trace's x values (category names for bar charts and matrices)
CHART_AXES = "() => " + ALL_PLOTS + """.map(gd => ({
    title: String((gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '')
        .replace(/<[^>]+>/g, ''),
    x: ((gd.data || [])[0] || {}).x || [],
    names: (gd.data || []).map(t => String(t.name || ''))}))"""


def pets_csv(tmp_path):
    lines = ["length,weight,species"] + [f"{(i * 37) % 11 + (5 if i % 4 == 0 else 0)},{(i * 13) % 7},"
                                         f"{'heron' if i % 4 == 0 else 'sparrow'}" for i in range(120)]
    path = tmp_path / "birds.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"PROCRUSTES_RUN_STORE": str(tmp_path_factory.mktemp("store")), "PROCRUSTES_MAX_TRAININGS": "1"}
    with app_server(env=env) as (url, _process):
        yield url


def shapes_zip(tmp_path):
    import zipfile

    from PIL import Image, ImageDraw

    path = tmp_path / "shapes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, count in (("circle", 30), ("square", 10)):
            for i in range(count):
                picture = Image.new("L", (16, 16), 0)
                draw = ImageDraw.Draw(picture)
                box = (3 + i % 3, 3, 12 + i % 3, 12)
                (draw.ellipse if name == "circle" else draw.rectangle)(box, fill=255)
                picture.save(tmp_path / "one.png")
                archive.write(tmp_path / "one.png", f"shapes/{name}/{i}.png")
    return path


def uploaded_page(browser, server, query: str, upload):
    """A desktop page of the app at ``query`` with ``upload`` put into the sidebar's uploader."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(server + query)
    main = page.get_by_test_id("stMainBlockContainer")
    main.get_by_role("button", name="Train", exact=True).wait_for(timeout=90_000)
    page.get_by_test_id("stSidebar").locator("input[type=file]").set_input_files(str(upload))
    return page, main


def chart_names(page, title: str, classes: str) -> None:
    """Wait until a chart whose title starts with ``title`` has the classes ``classes`` on its axis."""
    page.wait_for_function(CHART_AXES + f".some(c => c.title.startsWith('{title}') && "
                           f"c.x.join() === '{classes}')", timeout=60_000)


def test_upload_a_zip_of_images_train_on_it_and_see_its_class_names(browser, server, tmp_path):
    page, main = uploaded_page(browser, server, "/?width=8&epochs=2&seeds=1", shapes_zip(tmp_path))
    chart_names(page, "Training samples per class", "circle,square")
    assert page.get_by_text("Label column").count() == 0  # images have no columns
    main.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Finished: 1 training", exact=False).wait_for(timeout=WAIT)
    chart_names(page, "Test confusion matrix", "circle,square")
    assert page.get_by_text("Something went wrong").count() == 0
    page.close()


def test_upload_a_csv_train_on_it_and_see_its_class_names_on_the_charts(browser, server, tmp_path):
    page, main = uploaded_page(browser, server, "/?width=8&epochs=3&seeds=1", pets_csv(tmp_path))
    page.get_by_text("Label column").wait_for(timeout=60_000)
    chart_names(page, "Training samples per class", "sparrow,heron")
    assert "dataset=your-data" in page.url and "data_hash=" in page.url and "data_path" not in page.url
    assert page.get_by_text("Test samples per class: sparrow 6, heron 6", exact=False).count() == 1
    main.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Finished: 1 training", exact=False).wait_for(timeout=WAIT)
    chart_names(page, "Test confusion matrix", "sparrow,heron")
    charts = page.evaluate(CHART_AXES)
    legends = [name for chart in charts for name in chart["names"]]
    assert any(name.startswith("heron") for name in legends)  # a chart's legend names the minor class
    assert page.get_by_text("Something went wrong").count() == 0
    page.close()
