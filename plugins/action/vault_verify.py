"""Action plugin of sms.upgrade.vault_verify: check the preserve vault against its manifests, on the controller."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import preservation


class ActionModule(ControllerAction):
    """Re-hashes every current file of every host's vault directory and returns the preservation record."""

    argument_spec = {
        "vault_dir": {"type": "path", "required": True},
        "hosts": {"type": "list", "elements": "str"},
        "fail_on_unverified": {"type": "bool", "default": False},
    }

    def run_action(self, args, task_vars):
        record = preservation(args["vault_dir"], iso_stamp(), hosts=args["hosts"])
        summary = {host: {"categories": len(categories),
                          "verified": sorted(c for c, r in categories.items() if r["verified"]),
                          "unverified": sorted(c for c, r in categories.items() if not r["verified"]),
                          "files": sum(r["files"] for r in categories.values()),
                          "bytes": sum(r["bytes"] for r in categories.values())}
                   for host, categories in record.items()}
        unverified = sorted(host for host, item in summary.items() if item["unverified"])
        result = {"preservation": record, "summary": summary, "unverified_hosts": unverified}
        if args["fail_on_unverified"] and unverified:
            result.update(failed=True, msg="vault %s does not verify for %s: %s" % (args["vault_dir"], ", ".join(unverified), "; ".join(
                "%s %s: %s" % (host, category, record[host][category]["problems"][0]) for host in unverified
                for category in summary[host]["unverified"])[:2000]))
        return result
