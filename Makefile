# Every target sets up .venv first (plain pip; torch comes from the local wheel cache when present),
# with the extras it needs: `app` for the app, `lessons` for JupyterLab, `dev` (everything) for tests.
# One stamp per set of extras, remade when pyproject.toml changes: a target that needs other extras
# than the last one installs them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP = $(VENV)/.installed-$(1)
PORT ?= 8501

.PHONY: app lessons test test-fast bench lint setup clean

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

test: $(call STAMP,dev)
	$(VENV)/bin/ruff check procrustes_core app tests benchmarks lessons
	$(PY) -m pytest -q -ra

test-fast: $(call STAMP,dev)  # everything but the tests marked slow (notebooks, browser, fuzzing, Ray, story runs)
	$(VENV)/bin/ruff check procrustes_core app tests benchmarks lessons
	$(PY) -m pytest -q -ra -m "not slow"

bench: $(call STAMP,dev)
	$(PY) benchmarks/run_all.py

lint: $(call STAMP,dev)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
