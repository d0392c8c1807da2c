# `make run` and `make test` set up everything they need on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501
HOST   ?= 127.0.0.1

.PHONY: setup fonts browser db run test clean rebuild lock

# Installs exact pins only: requirements.lock (every package, made from requirements.txt by `make lock`) and
# requirements-nodeps.txt (packages whose declared dependencies we must not pull: TensorFlow, llama-cpp-python).
$(STAMP): requirements.lock requirements-nodeps.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# Refreshes requirements.lock from requirements.txt (the direct dependencies) with pip-tools in a throwaway venv;
# existing pins are kept where they still fit: `make lock LOCK_ARGS=--upgrade` moves everything to the newest.
# The local CPU torch wheel resolves as torch==X+cpu: the lock pins plain torch==X, which still installs it here.
PIP_TOOLS := pip-tools==7.6.2
LOCK_ARGS ?=
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && python3 -m venv "$$tmp" && \
	  "$$tmp/bin/pip" install -q --disable-pip-version-check $(PIP_TOOLS) && \
	  CUSTOM_COMPILE_COMMAND="make lock" "$$tmp/bin/pip-compile" -q --allow-unsafe --strip-extras \
	    --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o requirements.lock requirements.txt
	sed -i 's/^torch==\([^+]*\)+cpu$$/torch==\1/' requirements.lock
	@! grep -qiE '^(nvidia-|triton==)' requirements.lock || { echo "error: CUDA packages in requirements.lock"; exit 1; }

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

# components.serve is the app as a Streamlit ASGI server that also starts the enrichment worker and serves the session
# cookie routes. It listens on 127.0.0.1 only; `make run HOST=0.0.0.0` opens it to the network (put a TLS proxy in
# front: see the README).
run: db
	$(PY) -m components.serve --server.address $(HOST) --server.port $(PORT)

# The browser journeys (tests/test_e2e.py) drive Debian's Chromium: installed when we may, else they skip loudly.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null && echo "installed chromium"; } || \
	  echo "note: no Chromium, so the browser journeys will be skipped: sudo apt-get install chromium"

test: setup browser
	$(PY) -m pytest -q -rs

# The store holds history (decisions, audit log, claims, team thresholds), so clean leaves it alone; `make rebuild`
# rebuilds the sample and carries that history into the new store.
clean:
	rm -rf $(VENV)

rebuild: setup
	$(PY) -m analytics.build --force
