# Copied by model_lab.build_tree into a test collections tree as smsmodel.lab's connection plugin "site".
DOCUMENTATION = """
name: site
short_description: Reach the SMS site model of the tests instead of a Windows machine
description:
  - Test only. Every module call (a PowerShell module, as winrm or psrp would send it) is answered by the model
    tests/unit/plugins/plugin_utils/phases/fake_site.py, whose state is the JSON file named by SMS_SITE_MODEL_STATE.
author: sms.upgrade contributors
options: {}
"""
import fcntl
import json
import os

from ansible.plugins.connection import ConnectionBase

from ansible_collections.sms.upgrade.tests.unit.plugins.plugin_utils.phases.fake_site import FakeSite

STATE_ENV = "SMS_SITE_MODEL_STATE"
TEMP = "C:\\Windows\\TEMP"


class Connection(ConnectionBase):
    """A Windows host whose modules are answered by the site model (one locked read-change-write of the state per call)."""

    transport = "smsmodel.lab.site"
    module_implementation_preferences = (".ps1", ".exe", "")
    allow_executable = False
    has_pipelining = True
    allow_extras = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.always_pipeline_modules = True

    def _connect(self):
        self._connected = True
        return self

    def _host(self):
        return self._play_context.remote_addr

    def _with_model(self, work):
        path = os.environ[STATE_ENV]
        with open(path + ".lock", "w", encoding="utf-8") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            with open(path, encoding="utf-8") as handle:
                site = FakeSite(json.load(handle))
            outcome = work(site)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(site.state, handle)
        return outcome

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if not in_data:
            return 0, b"", b""  # the shell's own commands (removing the temporary directory)
        text = in_data.decode("utf-8") if isinstance(in_data, bytes) else in_data
        manifest = json.loads(text.partition("\n\0\0\0\0\n")[2])
        names = [a["name"] for a in manifest["actions"]]
        if "powershell_mkdtemp.ps1" in names:  # the temporary directory put_file stages files in
            params = manifest["actions"][names.index("powershell_mkdtemp.ps1")]["params"]
            return 0, ("%s\\%s\r\n" % (TEMP, params["Name"])).encode("utf-8"), b""
        if "powershell_expand_user.ps1" in names:
            return 0, b"C:\\Users\\model\r\n", b""
        action = next(a for a in manifest["actions"] if a["name"] == "module_wrapper.ps1")
        variables = next(v for v in action["params"]["Variables"] if v["Name"] == "complex_args")["Value"]
        module = variables["_ansible_module_name"]
        check_mode = bool(variables.get("_ansible_check_mode"))
        args = {key: value for key, value in variables.items() if not key.startswith("_ansible_")}
        try:
            result = self._with_model(lambda site: site.execute(module, args, check_mode, self._host()))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a model fault must name itself in the test
            result = {"failed": True, "msg": "the site model failed on %s: %s: %s" % (module, type(exc).__name__, exc)}
        return 0, json.dumps(result).encode("utf-8"), b""

    def put_file(self, in_path, out_path):
        with open(in_path, "rb") as handle:
            data = handle.read()
        self._with_model(lambda site: site.put(self._host(), out_path, data))

    def fetch_file(self, in_path, out_path):
        self._with_model(lambda site: site.fetch(self._host(), in_path, out_path))

    def close(self):
        self._connected = False
