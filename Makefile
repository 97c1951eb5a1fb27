# Two entry points on a fresh machine (Python 3.11, make; PyPI reachable):
#   make demo   the readiness report over the embedded lab (installs only what the demo needs: requirements-demo.txt)
#   make test   every check CI runs (installs everything: requirements-test.txt)
# Both create .venv first. Besides pip's cache, nothing is written outside the checkout: the collection tree, Ansible's
# home and temporary files and molecule's state live in .cache/ (ignored by git, the build and lint). `make sanity` is
# the exception: ansible-test keeps its virtual environments in ~/.ansible/test and its copy of the tree in the
# system's temporary directory.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
CACHE := $(CURDIR)/.cache
TREE := $(CACHE)/collections
COLLECTION := $(TREE)/ansible_collections/sms/upgrade
MAKE_TREE = $(BIN)/python tests/tools/collection_tree.py >/dev/null
export ANSIBLE_COLLECTIONS_PATH = $(TREE)
export ANSIBLE_CONFIG = $(CURDIR)/ansible.cfg
export ANSIBLE_HOME = $(CACHE)/ansible
export ANSIBLE_LOCAL_TEMP = $(CACHE)/ansible/tmp
export ANSIBLE_REMOTE_TEMP = $(CACHE)/ansible/tmp
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test venv units integration sanity lint docs-lint changelog-lint pwsh-parse build ee bench clean

venv: $(STAMP)

# The full set (make test) includes the demo's, so it satisfies the demo too.
$(STAMP): requirements-demo.txt requirements.txt requirements-test.txt
	@echo "== creating $(VENV) and installing every pinned dependency (requirements-test.txt)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): requirements-demo.txt
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt requirements-demo.txt ]; then touch $(DEMO_STAMP); else \
		echo "== creating $(VENV) and installing what the demo needs (requirements-demo.txt)" && \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -r requirements-demo.txt && \
		touch $(DEMO_STAMP); fi

demo: $(DEMO_STAMP)
	@echo "== readiness report over inventories/lab"
	@$(MAKE_TREE)
	$(BIN)/ansible-playbook -i inventories/lab/hosts.yml sms.upgrade.readiness --check

test: venv units integration sanity lint docs-lint changelog-lint pwsh-parse build ee
	@echo "== all checks passed"

units: venv
	@echo "== unit tests"
	$(BIN)/python -m pytest tests/unit -q -p no:cacheprovider

integration: venv
	@echo "== controller integration: molecule default over the lab"
	@$(MAKE_TREE)
	$(BIN)/molecule test -s default

sanity: venv
	@echo "== ansible-test sanity (offline bootstrap of its venvs)"
	$(BIN)/python tests/tools/ansible_test_offline.py >/dev/null
	cd $$($(BIN)/python tests/tools/sanity_tree.py) && $(CURDIR)/$(BIN)/ansible-test sanity --venv --python 3.11 --color no

lint: venv
	@echo "== ansible-lint (production profile)"
	@$(MAKE_TREE)
	$(BIN)/ansible-lint --profile production

docs-lint: venv
	@echo "== collection docs lint"
	@$(MAKE_TREE)
	$(BIN)/python tests/tools/gen_docs.py --check
	cd $(COLLECTION) && $(CURDIR)/$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

changelog-lint: venv
	@echo "== changelog lint"
	$(BIN)/antsibull-changelog lint

pwsh-parse: venv
	@echo "== PowerShell grammar check"
	$(BIN)/python tests/tools/check_powershell.py

build: venv
	@echo "== build the collection and install it offline"
	rm -rf build && mkdir -p build/installed
	$(BIN)/ansible-galaxy collection build --output-path build .
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/installed $(BIN)/ansible-galaxy collection install --offline --no-deps --force \
		-p build/installed build/sms-upgrade-*.tar.gz
	$(BIN)/python tests/tools/check_artifact.py build/installed/ansible_collections/sms/upgrade
	@echo "== readiness over the lab from the installed artifact"
	cd build && ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/installed $(CURDIR)/$(BIN)/ansible-playbook \
		-i $(CURDIR)/inventories/lab/hosts.yml sms.upgrade.readiness --check >/dev/null
	test -s build/sms-upgrade-reports/lab/latest.json

ee: build
	@echo "== execution environment: ansible-builder create (build context only, no container engine)"
	$(BIN)/python tests/tools/check_ee.py build/sms-upgrade-*.tar.gz build/installed

# Not part of make test: readiness beside the floor and a per-host assert playbook (docs/performance.md).
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--sizes 10000 --repeat 3"
bench: venv
	@echo "== benchmark: lab, 1,000 (assert playbook), 10,000 and 100,000 clients"
	$(BIN)/python tests/bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build tests/output sms-upgrade-reports .cache
