# Descent: set up, build the book, run the tests. Every target installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VENDOR := book/_vendor/descent/.complete
# autograded assignments (book/_assignments): where `assignments` writes, where `grade` writes
ASSIGNMENTS  ?= _build/assignments
# the master notebooks (with solutions and hidden tests); a course may keep its own in a private repository
MASTERS      ?= book/_assignments
GRADES       ?= _build/grades.csv
CELL_TIMEOUT ?= 60
MEMORY_MIB   ?= 2048
NOTEBOOK_TIMEOUT ?= 600

.PHONY: book student-site execute sites colab-env pdf pdf-print test test-slow test-all slow-checks \
  pdfs-if-possible pytest-all pdfs-then-lighthouse timings-start lint outputs clean assignments grade \
  glue-dump glue-compare lighthouse python-setup

# The build runs two notebooks at a time and pytest runs on two workers, so each process gets its
# share of the cores for BLAS and OpenMP: oversubscribed, OpenBLAS's spinning threads took chapter
# 16 from 8 s to 35 s on two cores. The graders' sandbox sets one thread itself.
THREADS_EACH := $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n / 2 > 0 ? n / 2 : 1 )))
export OPENBLAS_NUM_THREADS ?= $(THREADS_EACH)
export OMP_NUM_THREADS ?= $(THREADS_EACH)
export MKL_NUM_THREADS ?= $(THREADS_EACH)

# a command `make test-all` runs before its checks: .ci/run waits there for the system packages
# (Chromium, poppler, bubblewrap) it installs while the notebooks run
BEFORE_CHECKS ?=

# the Colab-like environment nbval's kernel runs in (tests/colab_like.py)
COLAB_LIKE ?= _build/colab-like

# where `make test` and `make test-slow` note each phase's wall time, and the tool that times them
TIMINGS := _build/timings.tsv
STEP    := $(PYTHON) book/_ext/make_steps.py
# pytest on both cores. A worker takes a whole unit of conftest.py's work_unit: a notebook (nbval's
# cells share its kernel), a test file (its module fixtures are made once), or one page of the
# site in a browser test file (its checks share one load), so the pages spread over both workers;
# the units go out in conftest.py's order, longest first (--no-loadscope-reorder). pytest-xdist's
# own --dist loadgroup reads xdist_group marks, which pytest 9 drops. PYTEST_WORKERS=0 runs in
# this process.
PYTEST_WORKERS ?= 2
PYTEST_DIST = $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder)
# Where a phase run inside another is noted (PHASE=sites: in `sites`), so the breakdown shows it
# under that phase
PHASE ?=

# pytest over the package's doctests, the tests and the notebooks (nbval, in the Colab-like
# kernel), timed as phase $(1), with the marks $(2)
define pytest-suite
DESCENT_TIMINGS=$(TIMINGS) DESCENT_TIMINGS_PHASE=$(1) DESCENT_COLAB_LIKE=$(abspath $(COLAB_LIKE)) \
  JUPYTER_PATH=$(abspath $(COLAB_LIKE))/jupyter$(if $(JUPYTER_PATH),:$(JUPYTER_PATH)) \
  $(STEP) timed $(TIMINGS) $(1) -- $(BIN)/python -m pytest $(PYTEST_DIST) \
  --nbval-lax --nbval-kernel-name descent-colab-like --doctest-modules $(2) lessons_src tests book
endef
# ... then the breakdown of the whole run, and pytest's exit status
define run-pytest
$(pytest-suite); status=$$?; $(STEP) report $(TIMINGS); exit $$status
endef

## book: install the book's requirements, fetch its JavaScript, build the HTML into _build/html;
## the build also writes the Jupyter editions of the chapters, _build/notebooks/{full,student}/
## (book/_ext/editions.py), that the launch buttons and the download button open
book: execute
	$(STEP) timed $(TIMINGS) $(PHASE)build -- $(BIN)/jupyter-book build -W -n --keep-going .

## execute: run the notebooks the execution cache lacks, two at a time, into the cache both sites
## are built from (book/_ext/make_steps.py); with nothing changed, nothing runs
ifdef EXECUTED
execute: ;
else
execute: $(VENV)/.book-setup $(VENDOR)
	$(STEP) cache-inputs _build
	$(STEP) timed $(TIMINGS) execute -- $(BIN)/python book/_ext/make_steps.py execute _build/.jupyter_cache
endif

## student-site: the website without solutions (sphinx-exercise's hide_solutions, set in a
## generated copy of _config.yml), into _build/student-html, for publishing to students
student-site: execute
	$(BIN)/python book/_ext/descent_editions.py student-config _build/student/_config.yml
	$(STEP) timed $(TIMINGS) $(PHASE)student-site -- $(BIN)/jupyter-book build -W -n --keep-going \
	  --config _build/student/_config.yml --toc _build/student/_toc.yml --path-output _build/student .
	ln -sfn student/_build/html _build/student-html

## sites: after the notebooks have run, build the site and the student site and make the
## Colab-like environment side by side: each is one process that keeps one core busy
sites: $(VENV)/.test-setup execute
	$(STEP) timed $(TIMINGS) sites -- $(MAKE) --no-print-directory -j3 -Otarget EXECUTED=1 PHASE=sites: \
	  book student-site colab-env

## colab-env: the Colab-like environment nbval's kernel runs in (tests/colab_like.py), in COLAB_LIKE:
## only Colab's packages and lessons_src as pip installs it
colab-env: $(VENV)/.test-setup
	$(STEP) timed $(TIMINGS) $(PHASE)colab-env -- $(BIN)/python tests/colab_like.py $(COLAB_LIKE)

## pdf: the printable book, _build/pdf/descent.pdf (with solutions) and descent-student.pdf,
## printed from the two websites by Debian's Chromium and joined with pdfunite (poppler-utils)
pdf: $(VENV)/.test-setup book student-site
	$(MAKE) pdf-print

## pdf-print: only the printing step of `pdf`, from the sites already built
pdf-print:
	$(STEP) timed $(TIMINGS) $(PHASE)pdf -- $(BIN)/python book/_ext/print_pdf.py \
	  _build/html _build/pdf/descent.pdf _build/student-html _build/pdf/descent-student.pdf

## test: build the book and the student site (each notebook's run stored once in the execution
## cache, see README "Working on the course"), then lint and run every test but the slow ones
## (unit, notebooks, live sliders, browser, editions, grading, PyTorch) on two cores; prints where
## the time went. nbval runs every page in a Colab-like environment (`colab-env`). CI runs
## `make test-all`.
test: timings-start $(VENV)/.test-setup $(VENV)/.grader-setup sites
	$(STEP) timed $(TIMINGS) lint -- $(BIN)/ruff check .
	$(call run-pytest,pytest,-m "not slow")

## test-slow: the checks that need not run on every change, which CI still runs (in `make
## test-all`, in one pytest run with `make test`'s): print both sites to PDF (Chromium,
## pdfunite) and test the PDFs, and audit every page in the browser (axe-core on a desktop and a
## phone, the phone layout, the keyboard walk); the tests marked `slow` in conftest.py
test-slow: timings-start $(VENV)/.test-setup sites
	$(MAKE) slow-checks

## test-all: everything CI runs (.ci/run): what `make test` builds and runs and the slow checks,
## in one pytest run (so a page of the site is loaded once at desktop width for the checks of both,
## and neither run waits for the other's last test), with the PDFs and then Lighthouse's
## accessibility score made beside it
test-all: timings-start
	$(MAKE) --no-print-directory -j2 -Otarget python-setup execute
	$(MAKE) --no-print-directory EXECUTED=1 sites
	$(BEFORE_CHECKS)
	$(STEP) timed $(TIMINGS) lint -- $(BIN)/ruff check .
	$(STEP) timed $(TIMINGS) checks -- $(MAKE) --no-print-directory -j2 -Oline PHASE=checks: \
	  pytest-all pdfs-then-lighthouse; status=$$?; $(STEP) report $(TIMINGS); exit $$status

# test-all's two sides: the whole suite in one pytest run; beside it, the PDFs (tests/test_pdf.py
# waits for them, and runs after the longest parts), then Lighthouse. Each side alone leaves part of the machine idle
# (pages loading, the last tests), and the other side fills it
pytest-all:
	$(call pytest-suite,$(PHASE)pytest,)

pdfs-then-lighthouse: pdfs-if-possible
	$(MAKE) --no-print-directory lighthouse

slow-checks: pdfs-if-possible
	DESCENT_TIMINGS=$(TIMINGS) DESCENT_TIMINGS_PHASE=pytest-slow $(STEP) timed $(TIMINGS) pytest-slow -- \
	  $(BIN)/python -m pytest $(PYTEST_DIST) -m slow tests; \
	  status=$$?; $(STEP) report $(TIMINGS); exit $$status

pdfs-if-possible:
	if [ -x /usr/bin/chromium ] && command -v pdfunite >/dev/null; then $(MAKE) pdf-print; \
	  else echo "No Chromium or pdfunite: the PDFs are not built and their test skips."; fi

timings-start:
	$(STEP) start $(TIMINGS)

$(VENV)/.book-setup: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# PyTorch's 2,300 modules are not compiled when installed (20 s of the 27 s its install took):
# only the agreement tests import it, and Python compiles what they import
$(VENV)/.test-setup: $(VENV)/.book-setup tests/requirements.txt tests/requirements-torch.txt
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	$(BIN)/python -m pip install --quiet --no-compile -r tests/requirements-torch.txt \
	  || echo "PyTorch could not be installed: the agreement tests will be skipped."
	touch $@

# the test tools and the grader, one pip after the other (two must not write one environment at
# once). `make test-all` installs them while the notebooks run, which need neither: they only
# add packages, and change none the book's requirements installed.
python-setup: $(VENV)/.book-setup
	$(MAKE) --no-print-directory $(VENV)/.test-setup
	$(MAKE) --no-print-directory $(VENV)/.grader-setup

# the grader (otter-grader), for instructors and the grading tests; the book does not need it
$(VENV)/.grader-setup: $(VENV)/.book-setup book/_assignments/requirements.txt
	$(BIN)/python -m pip install --quiet -r book/_assignments/requirements.txt
	touch $@

## assignments: student notebooks with public checks (ASSIGNMENTS/student/chNN.ipynb) and the
## grader's bundle with the hidden tests (ASSIGNMENTS/autograder/chNN/), from book/_assignments
assignments: $(ASSIGNMENTS)/.complete

$(ASSIGNMENTS)/.complete: $(VENV)/.grader-setup book/_assignments/autograde.py $(wildcard $(MASTERS)/ch*.ipynb)
	$(BIN)/python book/_assignments/autograde.py assign --out $(ASSIGNMENTS) --masters $(MASTERS)
	touch $@

## grade: grade a folder of submitted notebooks into GRADES (a CSV), each in a sandbox (needs root
## and bubblewrap); feedback for students goes to GRADES' folder, <name>-feedback/:
##   make grade SUBMISSIONS=path/to/folder [ASSIGNMENT=chNN] [GRADES=path.csv] [CELL_TIMEOUT=60]
##              [MEMORY_MIB=2048] [NOTEBOOK_TIMEOUT=600]
grade: $(ASSIGNMENTS)/.complete
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/folder"; exit 2; }
	$(BIN)/python book/_assignments/autograde.py grade "$(SUBMISSIONS)" --assignments $(ASSIGNMENTS) \
	  --out $(GRADES) --cell-timeout $(CELL_TIMEOUT) --memory-mib $(MEMORY_MIB) \
	  --submission-timeout $(NOTEBOOK_TIMEOUT) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

$(VENDOR): book/_ext/vendor.sh book/_ext/widgets-setup.js
	bash book/_ext/vendor.sh

## outputs: re-execute the notebooks and store only the outputs that nbval checks
outputs: $(VENV)/.book-setup
	$(BIN)/python book/_ext/store_outputs.py book/*.ipynb

lint: $(VENV)/.test-setup
	$(BIN)/ruff check .

clean:
	rm -rf _build book/_vendor

## glue-dump: every number the last build glued into the book, into GLUE (default _build/glue.json);
## glue-compare: what changed between two dumps (make glue-compare BEFORE=a.json AFTER=b.json)
GLUE ?= _build/glue.json
glue-dump:
	$(BIN)/python book/_ext/glue_values.py dump $(GLUE)

glue-compare:
	$(BIN)/python book/_ext/glue_values.py compare $(BEFORE) $(AFTER)

## lighthouse: Lighthouse's accessibility score (mobile, headless Chromium) of the introduction and
## three chapters of the built site, printed with every failed audit; fails below 100. Installs
## Lighthouse with npm into tests/_vendor/lighthouse (not part of the site).
LIGHTHOUSE_VERSION := 12.8.2
LIGHTHOUSE := tests/_vendor/lighthouse/node_modules/.bin/lighthouse
lighthouse: $(VENV)/.test-setup
	test -x $(LIGHTHOUSE) && [ "$$($(LIGHTHOUSE) --version)" = "$(LIGHTHOUSE_VERSION)" ] \
	  || npm install --prefix tests/_vendor/lighthouse --no-audit --no-fund --silent lighthouse@$(LIGHTHOUSE_VERSION)
	$(STEP) timed $(TIMINGS) $(PHASE)lighthouse -- $(BIN)/python tests/benchmarks/lighthouse_accessibility.py
