"""Which phase plans what for a snapshot kind, so the readiness report can show each host's planned changes."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.plan import client_agents

# snapshot kind -> [(phase, planner)]; a planner returns (changes, problems) for one valid snapshot.
PLANNERS = {"client": [("client_agents", client_agents.plan_client)]}
DESCRIBE = {"client_agents": client_agents.describe}


def plan_host(kind, snapshot):
    """``{phase: {"changes": [line], "problems": [text]}}`` for the phases that would change this host; None if none."""
    plans = {}
    for phase, planner in PLANNERS.get(kind, []):
        changes, problems = planner(snapshot)
        if changes or problems:
            plans[phase] = {"changes": [DESCRIBE[phase](c) for c in changes], "problems": list(problems)}
    return plans or None
