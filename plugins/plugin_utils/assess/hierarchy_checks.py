"""Named checks of a site against its neighbours in the hierarchy (parent and child sites).

A parent is judged on its children as its own site control file lists them (``site_control.child_sites``, from its
ADDRESS lines) and as the inventory's site servers name it as their parent (``Fleet.all_children``); a child missing
from the inventory is a finding on the parent, never silence. Who owns which fact:

- ``site.children_ready`` (this module): a 1.2 parent's children run SMS 1.2 with Service Pack 4 and are in the
  inventory, when no upgrade plan file is loaded. With a plan file, ``plan.children_sp4`` (``plan_checks.py``) owns
  the same fact per wave, and this rule is not applicable.
- ``site.sms_version`` / ``site.sms_service_pack``: the site's own build and service pack, on its own host.
- ``site.children_sna``: SNA links between a 1.2 parent and its 1.2 children.
- ``manual.secondary_offered``: a 1.2 secondary under a parent that already runs SMS 2.0.
"""
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import Result, check, outcome
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import is_sms_2, sms_release, sp4_gap
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError


def _own_sms(ctx):
    return ctx.snapshot.get("sms") or {}


@check("secondary_offered")
def secondary_offered(ctx, params):
    """A 1.2 secondary whose parent already runs SMS 2.0 must have reached the parent's wizard (KB Q263335)."""
    sms = _own_sms(ctx)
    parent = (sms.get("parent_site_code") or "").upper()
    if is_sms_2(sms):
        return Result("not_applicable", "This secondary already runs SMS 2.0.")
    if not parent or not ctx.fleet.site_server(parent) or not ctx.fleet.on_sms_2(parent):
        return Result("not_applicable", "The parent site %s does not run SMS 2.0 yet (or is not in this inventory): the "
                      "wizard that upgrades this secondary runs at the upgraded parent." % (parent or "(none)"))
    if ctx.answer:
        return outcome(True, "The Secondary Site Upgrade Wizard at %s offers %s (confirmed by %s at %s)." % (
            parent, sms.get("site_code"), ctx.answer["by"], ctx.answer["at"]))
    return outcome(False, "Parent %s runs SMS 2.0 and %s still runs SMS 1.2: the parent's Secondary Site Upgrade Wizard "
                   "offers %s only once the parent has received a site control file from it. Confirm that the wizard "
                   "offers it." % (parent, sms.get("site_code"), sms.get("site_code")))


def _plan_file(ctx):
    """True when an upgrade plan file is loaded (the plan.* rules then own the hierarchy's ordering facts)."""
    return ctx.plan is not None and not isinstance(ctx.plan, PlanError) and not ctx.plan.implicit


@check("children_ready")
def children_ready(ctx, params):
    """Every child or secondary site of this 1.2 parent is in the inventory and runs SMS 1.2 Service Pack 4 or later."""
    sms = _own_sms(ctx)
    site = (sms.get("site_code") or "").upper()
    if _plan_file(ctx):
        return Result("not_applicable", "The upgrade plan file is loaded: plan.children_sp4 judges the children of each "
                      "site a wave upgrades.")
    children = ctx.fleet.all_children(site)
    if not children:
        return Result("not_applicable", "%s has no child or secondary site." % site)
    problems = []
    for child in children:
        server = ctx.fleet.site_server(child)
        if server is None:
            problems.append("%s (named in the site control file) is not in this inventory, so its version and service "
                            "pack are unknown" % child)
        elif not ctx.fleet.on_sms_2(child):
            gap = sp4_gap(server[1].get("sms") or {})
            if gap:
                problems.append("%s %s" % (child, gap))
    if problems:
        return outcome(False, "Before %s is upgraded: %s." % (site, "; ".join(problems)), problems=problems)
    return outcome(True, "%d child site(s) of %s run SMS 1.2 Service Pack 4 or later or SMS 2.0: %s." % (
        len(children), site, ", ".join("%s (%s)" % (c, sms_release(ctx.fleet.sms(c))) for c in children)))


def _sna(address):
    return "SNA" in ("%s %s" % (address.get("sender") or "", address.get("format") or "")).upper()


def _sna_links(snapshot, other):
    """The SNA ADDRESS lines of ``snapshot``'s site control file to site ``other``."""
    return [a for a in (snapshot.get("site_control") or {}).get("addresses") or []
            if (a.get("site_code") or "").upper() == other and _sna(a)]


@check("children_sna")
def children_sna(ctx, params):
    """No 1.2 child site links with this 1.2 parent by the SNA sender (a 1.2 site cannot use it to reach a 2.0 site)."""
    sms = _own_sms(ctx)
    site = (sms.get("site_code") or "").upper()
    if _plan_file(ctx) and ctx.plan.kept(site):
        return Result("not_applicable", "The upgrade plan keeps %s on SMS 1.2." % site)
    links = []
    for child in ctx.fleet.all_children(site):
        server = ctx.fleet.site_server(child)
        if server and ctx.fleet.on_sms_2(child):
            continue
        if _sna_links(ctx.snapshot, child):
            links.append("%s -> %s by %s" % (site, child, _sna_links(ctx.snapshot, child)[0].get("sender") or "SNA"))
        if server and _sna_links(server[1], site):
            links.append("%s -> %s by %s" % (child, site, _sna_links(server[1], site)[0].get("sender") or "SNA"))
    if links:
        return outcome(False, "SNA links between %s and its SMS 1.2 child sites: %s. Once %s runs SMS 2.0, an SMS 1.2 "
                       "site cannot use the SNA sender to reach it." % (site, "; ".join(links), site), links=links)
    return outcome(True, "No SNA link between %s and an SMS 1.2 child site." % site)
