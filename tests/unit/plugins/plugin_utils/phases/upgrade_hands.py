"""Hands that reach the models (fake_client20, fake_site20) the way phases/action.py's AnsibleHands reach a machine."""
import datetime

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import Target
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import RunContext

NOW = datetime.datetime(2026, 12, 7, 9, 0, 0, tzinfo=datetime.timezone.utc)


class ModelHands:
    """``module(name, args)`` goes to the model of the target machine (``computer``, else the host)."""

    def __init__(self, models, host, computer=None, check_mode=False):
        self.models, self.host, self.computer, self.check_mode = models, host, computer, check_mode
        self.calls = []

    def module(self, name, args):
        args = dict(args)
        if self.computer:
            args.setdefault("computer", self.computer)
        self.calls.append((name, args))
        model = self.models[args.get("computer") or self.host]
        return model.execute(name, args, self.check_mode)

    def fetch(self, remote, local):
        raise NotImplementedError

    def stage(self, local, name):
        raise NotImplementedError

    def cleanup(self):
        pass


def validated(phase, args):
    """The phase's options with their defaults filled in (what PhaseAction's validation gives)."""
    values = {name: spec.get("default") for name, spec in phase.option_spec().items()}
    unknown = set(args) - set(values)
    assert not unknown, "not options of %s: %s" % (phase.NAME, unknown)
    values.update(args)
    return values


def context(phase, host, args, check_mode=False, groups=(), computer=None, relay=None, now=NOW):
    """The RunContext the phase action would build for ``host`` with task arguments ``args``."""
    return RunContext(host, validated(phase, args), check_mode, list(groups), Target(host, relay, computer), now, ())
