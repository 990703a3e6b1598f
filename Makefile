.PHONY: setup test check bench example mutate
setup:
	python3 -m venv .venv && . .venv/bin/activate && pip install -q torch==2.13.0 -e '.[test]'
test: setup
	. .venv/bin/activate && python -m pytest -q
check:
	. .venv/bin/activate && ruff check lossadvisor tests benchmarks && lossadvisor table --check
bench:
	. .venv/bin/activate && python benchmarks/bench_inspect.py && python benchmarks/bench_convert.py && python benchmarks/bench_trial.py
example: setup
	. .venv/bin/activate && lossadvisor inspect examples/support_faq.csv
# make mutate [GROUPS="table profile"]: one scratch copy per group, one group at a time; results kept per group
mutate:
	. .venv/bin/activate && pip install -q 'mutmut>=3.8,<4' && python benchmarks/mutation_score.py $(GROUPS)
