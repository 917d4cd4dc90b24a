# Descent: set up, build the book, run the tests. Every target installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VENDOR := book/_vendor/descent/.complete

.PHONY: book notebooks test lint outputs clean

## book: install the book's requirements, fetch its JavaScript, build the HTML into _build/html,
## then write the Jupyter editions of the chapters into _build/notebooks (see `notebooks`)
book: $(VENV)/.book-setup $(VENDOR)
	$(BIN)/jupyter-book build -W -n --keep-going .
	$(BIN)/python book/_ext/editions.py

## notebooks: from the last build, (re)write _build/notebooks/{full,student}/<chapter>.ipynb,
## the plain-Jupyter editions that the launch buttons and the download button open
notebooks: $(VENV)/.book-setup
	$(BIN)/python book/_ext/editions.py

## test: build the book, then lint and run every test (unit, notebooks, browser, PyTorch)
test: $(VENV)/.test-setup book
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --nbval-lax --doctest-modules lessons_src tests book

$(VENV)/.book-setup: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-setup: $(VENV)/.book-setup tests/requirements.txt tests/requirements-torch.txt
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	$(BIN)/python -m pip install --quiet -r tests/requirements-torch.txt \
	  || echo "PyTorch could not be installed: the agreement tests will be skipped."
	touch $@

$(VENDOR): book/_ext/vendor.sh book/_ext/widgets-setup.js
	bash book/_ext/vendor.sh

## outputs: re-execute the notebooks and store only the outputs that nbval checks
outputs: $(VENV)/.book-setup
	$(BIN)/python book/_ext/store_outputs.py book/*.ipynb

lint: $(VENV)/.test-setup
	$(BIN)/ruff check .

clean:
	rm -rf _build book/_vendor
