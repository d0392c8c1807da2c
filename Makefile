# `make run` and `make test` set up everything they need on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501

.PHONY: setup db run test clean

# requirements-nodeps.txt holds packages whose declared dependencies we must not pull (TensorFlow).
$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

setup: $(STAMP)

# Builds data/social.duckdb (or $$SOCIAL_DB) from sample_data/ with a progress bar; no-op when it exists.
db: setup
	$(PY) -m analytics.build

run: db
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) data/social.duckdb
