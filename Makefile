# Every target sets up .venv first (plain pip; torch comes from the local wheel cache when present),
# with the extras it needs: `app` for the app, `lessons` for JupyterLab, `dev` (everything) for tests.
# One stamp per set of extras, remade when pyproject.toml changes: a target that needs other extras
# than the last one installs them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP = $(VENV)/.installed-$(1)
PORT ?= 8501

.PHONY: app lessons instructor lesson-outputs test test-fast bench lint setup clean

setup: $(call STAMP,dev)

$(VENV)/.installed-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$*]"
	touch $@

app: $(call STAMP,app)
	$(VENV)/bin/streamlit run app/streamlit_app.py --server.port $(PORT) --server.fileWatcherType none --server.headless true

lessons: $(call STAMP,lessons)
	$(VENV)/bin/jupyter lab lessons/

instructor: $(call STAMP,lessons)  # the teacher's layer: course plan, solutions, answer keys, expected ranges, rubric
	$(VENV)/bin/jupyter lab instructor/

# Every lesson at full size: its time, its executed notebook (lessons/full_size/) and the expected range of each of
# its predictions (instructor/expected/); LESSONS="12 13" for some of them. Then the answer keys from the solutions.
lesson-outputs: $(call STAMP,dev)
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/lesson_times.py --size full --ship $(if $(LESSONS),--lessons $(LESSONS))
	PYTHONPATH=$(CURDIR) $(PY) -m instructor.keys

test: $(call STAMP,dev)
	$(VENV)/bin/ruff check procrustes_core app tests benchmarks lessons instructor
	$(PY) -m pytest -q -ra

test-fast: $(call STAMP,dev)  # everything but the tests marked slow (notebooks, browser, fuzzing, Ray, story runs)
	$(VENV)/bin/ruff check procrustes_core app tests benchmarks lessons instructor
	$(PY) -m pytest -q -ra -m "not slow"

bench: $(call STAMP,dev)
	$(PY) benchmarks/run_all.py

lint: $(call STAMP,dev)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
