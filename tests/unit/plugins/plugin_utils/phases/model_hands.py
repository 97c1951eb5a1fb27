"""Hands that reach the site model (fake_site.FakeSite) the way phases/action.py's AnsibleHands reach a machine."""
import datetime
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import Target
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import validate_options
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import RunContext

NOW = datetime.datetime(2026, 12, 5, 18, 0, 0, tzinfo=datetime.timezone.utc)


class ModelHands:
    def __init__(self, site, host, computer=None, check_mode=False):
        self.site, self.host, self.computer, self.check_mode = site, host, computer, check_mode
        self.calls = 0

    def module(self, name, args):
        args = dict(args)
        if self.computer:
            args.setdefault("computer", self.computer)
        self.calls += 1
        return self.site.execute(name, args, self.check_mode, self.host)

    def fetch(self, remote, local):
        self.site.fetch(self.host, remote, local)

    def stage(self, local, name):
        raise NotImplementedError

    def cleanup(self):
        pass


def context(phase, host, args, check_mode=False, groups=(), computer=None, relay=None, now=NOW, inventory=None):
    """The RunContext the phase action would build for ``host`` with task arguments ``args`` (``inventory``: the path of
    the inventory file the task reads, as ``ansible_inventory_sources``)."""
    validated = validate_options(phase.option_spec(), args, phase.SET_BY_ACTION)
    inventory_vars = {"ansible_inventory_sources": [inventory], "inventory_dir": os.path.dirname(inventory)} if inventory else None
    return RunContext(host, validated, check_mode, list(groups), Target(host, relay, computer), now, (), inventory_vars)
