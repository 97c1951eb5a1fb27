"""Answer one module call from the model of the target machine (run by the stand-in modules of model_overlay.py).

Reads ``{"module", "args", "check_mode"}`` on stdin, loads ``$SMS_UPGRADE_MODELS/<computer>.json`` under a lock, lets
the model answer, saves it and writes the result on stdout. A machine without a model is unreachable, as a switched-off
machine would be.
"""
import contextlib
import fcntl
import json
import os
import sys

from unit.plugins.plugin_utils.phases.fake_client20 import FakeClient20
from unit.plugins.plugin_utils.phases.fake_site20 import FakeSite20

KINDS = {"client": FakeClient20, "site": FakeSite20}


def load(path):
    with open(path, encoding="utf-8") as handle:
        stored = json.load(handle)
    return KINDS[stored["kind"]].load(stored["state"])


def _kind(model):
    return next(kind for kind, cls in KINDS.items() if isinstance(model, cls))


@contextlib.contextmanager
def locked(path):
    with open(path + ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def answer(payload, directory):
    computer = payload["args"].get("computer")
    if not computer:
        return {"failed": True, "msg": "the models are reached in relay mode only (no computer given)"}
    path = os.path.join(directory, "%s.json" % computer)
    if not os.path.exists(path):
        return {"failed": True, "msg": "The network path was not found (%s has no model)" % computer}
    with locked(path):
        model = load(path)
        result = model.execute(payload["module"], payload["args"], payload["check_mode"])
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump({"kind": _kind(model), "state": model.dump()}, handle)
        os.replace(path + ".tmp", path)
    return result


if __name__ == "__main__":
    sys.stdout.write(json.dumps(answer(json.loads(sys.stdin.read()), os.environ["SMS_UPGRADE_MODELS"])))
