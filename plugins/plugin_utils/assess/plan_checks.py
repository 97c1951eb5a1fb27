"""Named checks of the upgrade plan against the hierarchy in the snapshots (rules ``plan.*``, tier ``hierarchy``).

Each check lists its violations with the wave each one blocks; the finding's evidence carries them
(``violations``: ``[{wave, site, problem}]``) and ``waves`` (the waves it blocks; every wave for a problem of the
whole plan), which the report and the gate read. The ordering rules come from the upgrade paper (docs/upgrade_plan.md
cites the sentence of each). Without a plan file every check is not applicable: the whole inventory is one wave.
"""
from collections import OrderedDict, defaultdict

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CheckError, Result, check, outcome
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import sp4_gap
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, window_dict

SECONDARY_FINAL_CONFIG = "manual.secondary_final_config"


def _plan(ctx):
    """The plan to check, or None when there is no plan file; a plan that did not load is the plan.valid finding."""
    if isinstance(ctx.plan, PlanError):
        raise CheckError("the upgrade plan did not load (see plan.valid)")
    if ctx.plan is None or ctx.plan.implicit:
        return None
    return ctx.plan


def plan_check(name):
    """Register a check of the plan as ``func(ctx, plan)``: not applicable without a plan file."""
    def register(func):
        def run(ctx, params):
            plan = _plan(ctx)
            if plan is None:
                return Result("not_applicable", "No upgrade plan: the whole inventory is one wave.")
            return func(ctx, plan)
        run.__doc__ = func.__doc__
        check(name)(run)
        return func
    return register


def _verdict(plan, violations, passed, **evidence):
    """A Result over ``violations`` (``(wave name or None, site, problem)``; None: every wave)."""
    every = plan.wave_names()
    waves = {name for wave, _site, _problem in violations for name in ([wave] if wave else every)}
    listed = [{"wave": wave, "site": site, "problem": problem} for wave, site, problem in violations]
    observed = "; ".join("%s%s" % ("wave %s: " % wave if wave else "", problem) for wave, _site, problem in violations)
    return outcome(not violations, observed or passed, violations=listed, waves=[w for w in every if w in waves],
                   **evidence)


def _upgraded(plan):
    """``[(wave, site code)]`` of every site the plan upgrades, in the order the plan upgrades them."""
    return [(wave, entry.site) for wave in plan.waves for entry in wave.sites]


@check("plan_valid")
def plan_valid(ctx, params):
    """The plan file loaded: waves, sites kept on 1.2 and hierarchy changes are well formed."""
    if isinstance(ctx.plan, PlanError):
        return Result("error", "; ".join(ctx.plan.problems), None, {"problems": ctx.plan.problems, "file": ctx.plan.source})
    if ctx.plan is None or ctx.plan.implicit:
        source = ctx.plan.source if ctx.plan is not None else None
        return Result("not_applicable", "No upgrade plan%s: every changing phase treats the whole inventory as one wave "
                      "and warns." % (" at %s" % source if source else ""))
    plan = ctx.plan
    return outcome(True, "%s: %d wave(s) upgrade %d site(s) (%s); %d site(s) stay on SMS 1.2" % (
        plan.source, len(plan.waves), len(_upgraded(plan)), ", ".join(plan.wave_names()), len(plan.kept_sites)),
        waves=[])


@plan_check("plan_sites_known")
def plan_sites_known(ctx, plan):
    """Every site the plan upgrades or keeps has a site server snapshot in this inventory."""
    violations = [(wave.name, site, "site %s is not in this inventory (no valid site server snapshot)" % site)
                  for wave, site in _upgraded(plan) if not ctx.fleet.site_server(site)]
    violations += [(None, kept.site, "site %s (stay_on_1_2) is not in this inventory (no valid site server snapshot)"
                    % kept.site) for kept in plan.kept_sites if not ctx.fleet.site_server(kept.site)]
    return _verdict(plan, violations, "Every site of the plan is in this inventory")


@plan_check("plan_sites_covered")
def plan_sites_covered(ctx, plan):
    """Every site of the inventory is upgraded by a wave or stays on SMS 1.2 with a reason."""
    planned = plan.planned_sites()
    violations = [(None, site, "site %s is in no wave and not in stay_on_1_2" % site)
                  for site in sorted(ctx.fleet.site_servers) if site not in planned and not ctx.fleet.on_sms_2(site)]
    return _verdict(plan, violations, "All %d site(s) of the inventory are planned" % len(ctx.fleet.site_servers))


@plan_check("plan_top_down")
def plan_top_down(ctx, plan):
    """A site is upgraded after its parent (a 2.0 site can report only to a 2.0 parent), never under a kept 1.2 site."""
    violations = []
    for wave, site in _upgraded(plan):
        parent = ctx.fleet.parent(site)
        if parent is None or ctx.fleet.on_sms_2(parent):
            continue
        if plan.kept(parent):
            problem = "%s would report to %s, which stays on SMS 1.2" % (site, parent)
        elif plan.order(parent) is None:
            problem = "%s would report to %s, which no wave upgrades" % (site, parent)
        elif plan.order(parent) > plan.order(site):
            problem = "%s is upgraded before its parent %s (wave %s)" % (site, parent, plan.wave_of(parent).name)
        else:
            continue
        violations.append((wave.name, site, problem))
    return _verdict(plan, violations, "Every site is upgraded after its parent")


@plan_check("plan_children_sp4")
def plan_children_sp4(ctx, plan):
    """Every 1.2 child (primary or secondary) of a site a wave upgrades runs SMS 1.2 Service Pack 4 or later."""
    violations = []
    for wave, site in _upgraded(plan):
        for child in ctx.fleet.all_children(site):
            if not ctx.fleet.site_server(child):
                violations.append((wave.name, child, "%s (a child of %s in its site control file) has no snapshot, so its "
                                   "service pack is unknown" % (child, site)))
            elif not ctx.fleet.on_sms_2(child) and sp4_gap(ctx.fleet.sms(child)):
                violations.append((wave.name, child, "%s (child of %s) %s; it needs Service Pack 4 before %s is upgraded"
                                   % (child, site, sp4_gap(ctx.fleet.sms(child)), site)))
    return _verdict(plan, violations, "Every 1.2 child of an upgraded site runs Service Pack 4 or later")


@plan_check("plan_secondary_final_config")
def plan_secondary_final_config(ctx, plan):
    """A 1.2 secondary under a site a wave upgrades has its final configuration confirmed before that wave starts."""
    violations = []
    for wave, site in _upgraded(plan):
        for child in ctx.fleet.children(site):
            if ctx.fleet.role(child) != "secondary" or ctx.fleet.on_sms_2(child):
                continue
            problem = _final_config_problem(ctx, child, site, wave)
            if problem:
                violations.append((wave.name, child, problem))
    return _verdict(plan, violations, "Every 1.2 secondary under an upgraded parent is configured for the last time "
                    "before its parent's wave")


def _final_config_problem(ctx, secondary, parent, wave):
    host = ctx.fleet.site_server(secondary)[0]
    answer = ctx.answers.find(SECONDARY_FINAL_CONFIG, host) if ctx.answers is not None else None
    if answer is None:
        return ("%s (1.2 secondary of %s) has no confirmed final configuration (%s for %s): it cannot be changed once "
                "%s runs SMS 2.0" % (secondary, parent, SECONDARY_FINAL_CONFIG, host, parent))
    if answer.get("decision") == "parent_stays_on_1_2":
        return ("%s: the answer to %s says its parent %s stays on SMS 1.2, but the plan upgrades %s"
                % (secondary, SECONDARY_FINAL_CONFIG, parent, parent))
    if wave.window and parse_timestamp(answer["at"]) >= wave.window.start:
        return ("%s: its final configuration was confirmed at %s, not before the window of wave %s (%s)"
                % (secondary, answer["at"], wave.name, window_dict(wave.window)["start"]))
    return None


@plan_check("plan_hierarchy_changes")
def plan_hierarchy_changes(ctx, plan):
    """Hierarchy changes come before the first wave, or after the wave that upgrades the last site they involve."""
    violations = []
    first = plan.waves[0].name
    for change in plan.hierarchy_changes:
        if change.before is not None:
            if change.before != first:
                violations.append((change.before, None, "%r comes before wave %s, after sites are upgraded in wave %s"
                                   % (change.change, change.before, first)))
            continue
        anchor = plan.wave(change.after)
        late = [s for s in change.sites if not ctx.fleet.on_sms_2(s) and (plan.order(s) or (len(plan.waves),))[0] > anchor.index]
        if late:
            violations.append((anchor.name, None, "%r comes after wave %s, but %s %s not upgraded by then" % (
                change.change, anchor.name, ", ".join(late), "is" if len(late) == 1 else "are")))
    return _verdict(plan, violations, "%d hierarchy change(s), each before the first or after the last upgrade of the "
                    "sites involved" % len(plan.hierarchy_changes))


def _downloads(ctx, plan):
    """``{(wave, parent): [secondary]}`` of the secondaries each wave upgrades by download from their parent."""
    grouped = OrderedDict()
    for wave, site in _upgraded(plan):
        if plan.method(site) == "download_from_parent":
            grouped.setdefault((wave.name, ctx.fleet.parent(site) or "?"), []).append(site)
    return grouped


def _secondaries(count):
    return "%d secondar%s" % (count, "y" if count == 1 else "ies")


@plan_check("plan_secondary_downloads")
def plan_secondary_downloads(ctx, plan):
    """At most five secondaries per parent and wave download the upgrade (about 65 MB each) from the parent."""
    limit, megabytes = ctx.params["secondary_download_max_at_once"], ctx.params["secondary_download_mb"]
    violations, estimates = [], []
    for (wave, parent), sites in _downloads(ctx, plan).items():
        estimate = "%s download from %s (%s), about %d MB" % (
            _secondaries(len(sites)), parent, ", ".join(sites), len(sites) * megabytes)
        estimates.append({"wave": wave, "parent": parent, "sites": sites, "mb": len(sites) * megabytes})
        if len(sites) > limit:
            violations.append((wave, parent, "%s; at most %d can upgrade at one time" % (estimate, limit)))
    passed = "; ".join("wave %s: %s from %s, about %d MB" % (e["wave"], _secondaries(len(e["sites"])), e["parent"], e["mb"])
                       for e in estimates) or "no secondary downloads the upgrade from its parent"
    return _verdict(plan, violations, passed, downloads=estimates)


@plan_check("plan_secondary_methods")
def plan_secondary_methods(ctx, plan):
    """Each secondary a wave upgrades names its method; primary sites name none."""
    violations = []
    for wave, site in _upgraded(plan):
        role, method = ctx.fleet.role(site), plan.method(site)
        if role == "secondary" and not method:
            violations.append((wave.name, site, "secondary %s names no method (download_from_parent, "
                               "parent_with_local_source or local_cd)" % site))
        elif role in ("central", "primary") and method:
            violations.append((wave.name, site, "%s is a %s site: method %s is for secondary sites" % (site, role, method)))
    return _verdict(plan, violations, "Every secondary names its upgrade method")


@plan_check("plan_unsupported_clients")
def plan_unsupported_clients(ctx, plan):
    """Clients SMS 2.0 does not support keep a 1.2 site (Macintosh always; MS-DOS and OS/2 unless their OS is upgraded)."""
    unsupported = set(ctx.params["unsupported_client_families"])
    kept_for = {family: [k.site for k in plan.kept_sites if family in k.clients] for family in unsupported}
    violations = []
    for wave, site in _upgraded(plan):
        counts = defaultdict(int)
        for _host, snapshot in ctx.fleet.site_clients(site):
            family = (snapshot.get("os") or {}).get("family")
            if family in unsupported and family not in plan.os_upgrades and not kept_for[family]:
                counts[family] += 1
        violations += [(wave.name, site, "%s has %d %s client(s) and the plan keeps no SMS 1.2 site for them%s" % (
            site, count, family, "" if family == "macintosh" else " nor upgrades their OS (os_upgrades)"))
            for family, count in sorted(counts.items())]
    return _verdict(plan, violations, "Every unsupported client family has a 1.2 site or an OS upgrade",
                    kept_for={family: sites for family, sites in kept_for.items() if sites})
