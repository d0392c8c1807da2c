# `make run` and `make test` set up everything they need on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501

.PHONY: setup fonts browser db run test clean

# requirements-nodeps.txt holds packages whose declared dependencies we must not pull (TensorFlow).
$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

setup: $(STAMP) fonts

# Chinese word clouds need a CJK font: installed when we may (root with apt-get), otherwise a note; never fatal.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
fonts:
	@test -f $(CJK_FONT) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >/dev/null && echo "installed fonts-noto-cjk"; } || \
	  echo "note: no CJK font, so Chinese word clouds leave Chinese terms out: sudo apt-get install fonts-noto-cjk"

# Builds data/social.duckdb (or $$SOCIAL_DB) from sample_data/ with a progress bar; no-op when it exists.
db: setup
	$(PY) -m analytics.build

run: db
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

# The browser journeys (tests/test_e2e.py) drive Debian's Chromium: installed when we may, else they skip loudly.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null && echo "installed chromium"; } || \
	  echo "note: no Chromium, so the browser journeys will be skipped: sudo apt-get install chromium"

test: setup browser
	$(PY) -m pytest -q -rs

clean:
	rm -rf $(VENV) data/social.duckdb
