# Every target sets up .venv first (plain pip; torch comes from the local wheel cache when present).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: app lessons test test-fast bench lint setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

app: $(STAMP)
	$(VENV)/bin/streamlit run app/streamlit_app.py --server.port $(PORT) --server.fileWatcherType none --server.headless true

lessons: $(STAMP)
	$(VENV)/bin/jupyter lab lessons/

test: $(STAMP)
	$(VENV)/bin/ruff check procrustes_core app tests benchmarks lessons
	$(PY) -m pytest -q -ra

test-fast: $(STAMP)  # everything but the tests marked slow (notebooks, browser, fuzzing, Ray, story runs)
	$(VENV)/bin/ruff check procrustes_core app tests benchmarks lessons
	$(PY) -m pytest -q -ra -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
