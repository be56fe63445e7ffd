"""Compare narrates what MFW did on the pair's seeds against the plain side (``narrate(..., baseline=)``)."""

from __future__ import annotations

from app_support import TINY, job_of, new_app, texts, wait

from procrustes_core.analysis.narrator import narrate
from procrustes_core.analysis.seeds import mean_history


def test_compare_says_what_mfw_did_with_and_without_weakening_on_the_same_seeds():
    at = new_app({**TINY, "epochs": "4"}).run()
    at.switch_page("views/compare.py").run()
    at.number_input(key="compare_seeds").set_value(2).run()
    at.button(key="train_trio").click().run()
    wait(at, "compare")
    assert not at.exception
    plain, weakened = ([t.history for t in run] for run in job_of(at, "compare").runs())
    said = [s for s in narrate(mean_history(weakened), seeds=2, baseline=mean_history(plain))
            if s.kind in ("weakening", "mfw-effect", "test-above-train")]
    effect = [s.text for s in said if s.kind == "mfw-effect"]
    assert effect and "without MFW" in effect[0]  # set against ERM's run on the same seeds
    page = texts(at)
    assert "What MFW did on these seeds" in [h.value for h in at.subheader]
    assert all(s.text in page for s in said)
