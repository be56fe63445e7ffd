"""Teacher's page (only with ``PROCRUSTES_TEACHER_KEY``): the trainings on this server, each learner's mean
over seeds with its interval, the class's pooled paired verdict, a preset pushed to every session, and
how long a class waits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import class_view, state
from app.limits import is_teacher_key
from app.presets import PRESETS
from app.service import class_preset, clear_class_preset, learner_names, push_class_preset, service
from app.url_state import CONTROL_GROUPS, link_params, read_link
from procrustes_core import ProcrustesError
from procrustes_core.training.service import DEFAULT_FLOPS_PER_SECOND

OWN = "(my settings in the sidebar)"

limits = st.session_state.limits
st.header("Teacher's view")
if not is_teacher_key(state.current().teacher_key, limits):  # the link's key was read with the link
    key = st.text_input("Teacher key", type="password", help="The server's PROCRUSTES_TEACHER_KEY.")
    if key and is_teacher_key(key, limits):
        state.current().teacher_key = key
        st.rerun()
    if key:
        st.error("That key is not this server's.")
    st.stop()

trainer = service(limits)


def preset_title(tag: str) -> str:
    return PRESETS[tag].title if tag in PRESETS else (tag or "(own settings)")


@st.fragment(run_every=2.0)
def overview() -> None:
    views = trainer.jobs()
    names = learner_names()
    active = [v for v in views if v.training]
    st.markdown(f"**{len(active)} active trainings** on {trainer.slots} slots, {trainer.busy_workers()} workers "
                "computing now.")
    rows = []
    for v in active:
        tasks = v.job.tasks
        rows.append({"learner": class_view.learner_name(v.job.owner, names), "page": v.job.kind,
                     "preset": preset_title(v.job.tag) if v.job.tag else "—",
                     "runs": ", ".join(dict.fromkeys(v.job.labels)), "trainings": len(tasks),
                     "status": str(v.status) if v.position is None else f"queued, position {v.position + 1}",
                     "epochs": f"{sum(t.epochs_done for t in tasks)} of {sum(t.config.epochs for t in tasks)}"})
    st.dataframe(pd.DataFrame(rows) if rows else pd.DataFrame({"status": ["nothing is training"]}), hide_index=True)


@st.fragment(run_every=5.0)
def results() -> None:
    st.subheader("The class's results")
    runs = class_view.scored_runs(trainer.jobs(), trainer.finished_runs())
    if runs.empty:
        st.info("No finished trainings yet: a run counts here once it has trained all its epochs.")
        return
    preset = st.selectbox("Preset", sorted(runs["preset"].unique()), format_func=preset_title, key="teacher_tag")
    table = class_view.learner_table(runs, learner_names(), preset)
    st.caption("Each learner's **mean over all their seeds** with its 95 % interval (a t-interval over the seeds; "
               "one seed has none). Every seed counts: a lucky seed cannot stand for a learner's result. A run "
               "with logit adjustment (+ LA) is scored on the same trained models as the run without.")
    shown = class_view.shown_table(table)
    st.dataframe(shown, hide_index=True, column_config={
        name: st.column_config.NumberColumn(format="%.1f") for name in shown.columns if name.endswith("mean (%)")})
    st.download_button("Download the class's results (CSV)", class_view.class_csv(table), key="teacher_csv",
                       file_name=f"class-results-{preset or 'own-settings'}.csv", mime="text/csv", on_click="ignore")
    st.subheader("The class's paired verdict")
    choices = class_view.run_choices(runs, preset)
    if len(choices) < 2:
        st.info("A verdict needs two methods trained on the same data and seeds (Compare trains both; with LA each "
                "is also scored with logit adjustment).")
        return
    a_default, b_default = class_view.default_pair(choices)
    left, right = st.columns(2)
    b = left.selectbox("B (tested)", choices, index=choices.index(b_default) if b_default else 1, key="teacher_b")
    a = right.selectbox("against A (baseline)", choices, index=choices.index(a_default) if a_default else 0,
                        key="teacher_a")
    try:
        found = class_view.pooled_verdict(runs, preset, a, b)
    except ProcrustesError as err:
        st.warning(str(err))
        return
    st.markdown(f"**{found.sentence()}.**")
    st.caption("Pooled over everyone's paired runs: one pair per seed and data setting on which the class trained "
               "both A and B (by one learner or two). The same seed of the same setting trained by several learners "
               "is one training, so it counts once. Balanced test accuracy, in points.")


overview()
results()

# ------------------------------------------------------------------ a preset for everyone

st.subheader("Push a preset to the class")
version, pushed = class_preset()
if pushed is None:
    st.caption("No class preset: each learner has their own settings.")
else:
    st.success(f"Every learner's session follows **{pushed.title}** (from its next run on).")
choice = st.selectbox("Preset to push", [OWN, *PRESETS], format_func=lambda k: k if k == OWN else PRESETS[k].title,
                      key="push_choice")
own = state.current()
chosen = read_link(own.link() if choice == OWN else {"preset": choice}, limits)
hideable = list(dict.fromkeys([*CONTROL_GROUPS, *chosen.hide]))
hide = st.multiselect("Controls hidden from learners", hideable, default=list(chosen.hide), key=f"push_hide_{choice}")
most = limits.budget.max_seeds
seeds = st.number_input("Seeds per learner", 1, most, key=f"push_seeds_{choice}",
                        value=min(chosen.seeds or limits.budget.seeds_within(chosen.config, 3), most))
left, right = st.columns(2)
if left.button("Push to every session", type="primary", key="push"):
    title = "the teacher's settings" if choice == OWN else PRESETS[choice].title
    preset = own.preset if choice == OWN else choice
    pushed = push_class_preset(link_params(chosen.config, tuple(hide), int(seeds), preset), title)
    st.rerun()
if pushed is not None and right.button("End the class preset", key="push_clear"):
    clear_class_preset()
    st.rerun()

# ------------------------------------------------------------------ how long the class waits

st.subheader("How long the class waits")
plan = read_link(pushed.params, limits) if pushed is not None else chosen
seen = {v.job.owner for v in trainer.jobs()} | set(learner_names())
cols = st.columns(3)
learners = cols[0].number_input("Learners", 1, 1000, value=max(1, len(seen)), key="capacity_learners",
                                help=f"{len(seen)} learners seen on this server so far.")
plan_seeds = cols[1].number_input("Seeds each", 1, most, key=f"capacity_seeds_{pushed.version if pushed else choice}",
                                  value=min(plan.seeds or limits.budget.seeds_within(plan.config, 3), most))
cols[2].metric("Slots (the service's)", trainer.slots)
try:
    price = trainer.price(plan.config, int(plan_seeds))
except ProcrustesError as err:
    st.warning(f"This server refuses that request: {err}")
else:
    found = class_view.capacity(price.flops, trainer.seconds_per_flop, int(learners), trainer.slots, int(plan_seeds),
                     DEFAULT_FLOPS_PER_SECOND)
    left, right = st.columns(2)
    left.metric("Everyone's run has ended after", class_view.duration(found.everyone_s))
    right.metric("The average learner's run ends after", class_view.duration(found.average_s))
    st.caption(f"For {'the class preset' if pushed is not None else 'the preset chosen above'}: {found.formula()}")
