"""Summarise a changing phase over many hosts: what happened on each, counted, for progress and the end of a play."""
OUTCOMES = ("changed", "would_change", "planned", "unchanged", "failed", "unreachable", "not_run")


def host_outcome(result):
    """One word for what a phase's registered result says about its host."""
    if not isinstance(result, dict) or not result:
        return "not_run"
    if result.get("unreachable") or result.get("unreachable_target"):
        return "unreachable"
    if result.get("failed"):
        return "failed"
    if result.get("skipped"):
        return "not_run"
    statuses = {change.get("status") for change in result.get("changes") or []}
    for outcome in ("changed", "would_change", "planned"):
        if outcome in statuses:
            return outcome
    return "unchanged"


def summarise(results, hosts, planned=None, blocked=()):
    """``results``: host -> registered result (missing: not run). Returns counts, hosts per outcome and text lines.

    With ``planned`` (the hosts a fleet plan gave something to do), a host without a result that the gate did not
    leave out (``blocked``) and the plan did not list had nothing to change: it counts as unchanged; a host whose
    plan (a dict of plans) has problems and no change was never contacted and counts as failed, with the problems.
    """
    by_outcome = {outcome: [] for outcome in OUTCOMES}
    blocked = set(blocked or ())
    results = dict(results)
    for host in hosts:
        outcome = host_outcome(results.get(host))
        plan = planned.get(host) if isinstance(planned, dict) else None
        if outcome == "not_run" and plan and plan.get("problems") and not plan.get("changes"):
            outcome = "failed"
            results[host] = {"msg": "%s: not planned: %s" % (host, "; ".join(plan["problems"]))}
        elif outcome == "not_run" and planned is not None and host not in planned and host not in blocked:
            outcome = "unchanged"
        by_outcome[outcome].append(host)
    counts = {outcome: len(names) for outcome, names in by_outcome.items()}
    done = len(hosts) - counts["not_run"]
    lines = ["%d of %d host(s) processed: %s" % (done, len(hosts), ", ".join(
        "%d %s" % (counts[o], o.replace("_", " ")) for o in OUTCOMES if counts[o] and o != "not_run") or "none")]
    for outcome in ("failed", "unreachable"):
        for host in by_outcome[outcome]:
            message = (results.get(host) or {}).get("msg") or outcome
            lines.append("%s %s: %s" % (outcome, host, message))
    if by_outcome["not_run"]:
        lines.append("not run (left out by the gate, failed earlier, or in a batch not reached): %s"
                     % ", ".join(by_outcome["not_run"]))
    return {"total": len(hosts), "processed": done, "counts": counts,
            "hosts": {o: names for o, names in by_outcome.items() if names}, "lines": lines}
