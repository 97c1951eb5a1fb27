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


def summarise(results, hosts):
    """``results``: host -> registered result (missing: not run). Returns counts, hosts per outcome and text lines."""
    by_outcome = {outcome: [] for outcome in OUTCOMES}
    for host in hosts:
        by_outcome[host_outcome(results.get(host))].append(host)
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
