# The two entry points of README.md: `make demo` and `make test`. Each installs what it needs.
SWIFT ?= swift
TRUEUP := .build/debug/trueup

.PHONY: demo test build deps test-deps schemas bench clean

deps:
	@scripts/setup-deps

test-deps:
	@scripts/setup-deps --test

build: deps
	$(SWIFT) build

# trueup's main job on the embedded default: read the example environments at HEAD and validate them.
demo: build
	$(TRUEUP) validate --repo .

test: test-deps
	$(SWIFT) build
	$(SWIFT) test
	.venv/bin/python Tests/SchemaAgreement/check_agreement.py --trueup $(TRUEUP)

# Regenerate the schemas built into the binary from schemas/*.schema.json.
schemas:
	scripts/embed-schemas

bench: deps
	Benchmarks/run

clean:
	rm -rf .build .venv
