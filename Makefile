# Reproducible report on provincial digital-government plans. `make help` lists the verbs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c 'import hashlib,sys;print(hashlib.sha1(open("pyproject.toml","rb").read()).hexdigest()[:10])')

.DEFAULT_GOAL := help
.PHONY: help setup report test bench lab clean

help: ## List the verbs of this Makefile
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) ## Create .venv and install the project with its test tools

report: $(STAMP) ## Run every notebook in order and render report/_output/report.{html,pdf}
	$(PY) -m helpers.pipeline $(ARGS)

test: $(STAMP) ## Run the unit, notebook and end-to-end tests
	$(PY) -m pytest $(ARGS)

bench: $(STAMP) ## Time the analysis stages on synthetic corpora of 1k, 3k and 10k documents
	$(PY) -m helpers.bench $(ARGS)

lab: $(STAMP) ## Open the notebooks in JupyterLab with the project's kernel
	$(PY) -m pip install --quiet -e '.[dev,lab]'
	$(PY) -m ipykernel install --sys-prefix --name digigov --display-name 'Python (digigov)' >/dev/null
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root) notebooks

clean: ## Delete every generated file (interim and processed data, figures, build, rendered report)
	rm -rf build data/interim data/processed report/_output
	find figures -type f ! -name README.md -delete 2>/dev/null || true
