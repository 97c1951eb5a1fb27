"""Evaluate the rule catalog once over the whole fleet and return findings.

Order per host and rule: tier -> OS family -> gather errors of the rule's sections -> ``applies``
-> missing sections -> prerequisites -> check -> answers. Anything that cannot be evaluated is an
``error`` finding (it blocks); nothing is silently green. ``applies`` and a JMESPath ``check`` are
evaluated strictly (``jmes.strict_search``): when they read a field the snapshot does not have, the
finding is an error naming the field, not "does not apply" or a fail. A host whose name cannot name a
snapshot file, or that differs from another host's only in case, is not read at all: its snapshot
problem says why.
"""
import functools
import re
import string
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import jmes
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST, AnswerBook
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS, CheckError, Context
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import Fleet, client_digest, site_of
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.parallel import map_ordered
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import fit, shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import Problem, Snapshot, load_snapshot, read_snapshot_file

# ``problem``: why the host's snapshot is not read at all (an unsafe name, a twin differing only in case, a gather that
# failed in this run) and ``cause``, its cause (common/causes.py, or ``host_name``).
HostInput = namedtuple("HostInput", ["host", "snapshot_path", "expected_kind", "site", "problem", "cause"])
HostInput.__new__.__defaults__ = (None, None)
HostRecord = namedtuple("HostRecord", ["host", "kind", "tiers", "site", "site_role", "os", "snapshot",
                                       "collected_at", "plans", "parent_site", "snapshot_sha256"])
HostRecord.__new__.__defaults__ = (None, None, None)
KIND_TIER = {"client": "client", "site_database": "sql", "site_server": "site"}
MAX_LISTED_PROBLEMS = 10


class MissingData(CheckError):
    """A rule's condition read fields the snapshot does not have."""

    def __init__(self, fields):
        super().__init__("the snapshot has no %s (the rule reads %s)" % (
            ", ".join("'%s'" % f for f in fields), "it" if len(fields) == 1 else "them"))
        self.fields = fields


class _Missing(dict):
    def __missing__(self, key):
        return "{%s}" % key


def _text(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


@functools.lru_cache(maxsize=2048)
def _placeholders(template):
    """The names a template's ``{name}`` fields read (parsed once per template text)."""
    return tuple({re.split(r"[.\[]", field, maxsplit=1)[0] for _text, field, _spec, _conv in string.Formatter().parse(template)
                  if field})


def render(template, values):
    """Fill ``{name}`` placeholders from values; unknown names stay as they are (only the names the template reads
    are turned into text)."""
    template = template or ""
    return template.format_map(_Missing({k: _text(values[k]) for k in _placeholders(template) if k in values}))


def host_tiers(snapshot):
    """Return the checklist tiers of a host from its snapshot."""
    kind = snapshot["kind"]
    if kind != "site_server":
        return [KIND_TIER[kind]]
    roles, role = snapshot.get("roles", []), (snapshot.get("sms") or {}).get("site_role")
    tiers = ["secondary" if role == "secondary" else "site"] if "site" in roles else []
    tiers += [t for t in ("helper", "logon") if t in roles]
    return tiers or ["distribution"]


class Assessor:
    """Holds the catalog, answers, parameters and clock for one assessment run."""

    def __init__(self, rules, answers, params, now, preservation=None, database=None):
        self.rules = rules
        self.database = database or {}
        self.answers = AnswerBook(answers)
        self.params = params
        self.now = now
        self.preservation = preservation or {}
        self.options = jmes.search_options(now)
        self._shared = {}

    # -------------------------------------------------------------- findings
    def _rule_parts(self, rule):
        """``(checklist, remediation, references)`` of a rule, built once and shared by all its findings (read-only:
        at 10,000 hosts one copy per finding was a third of the findings' memory)."""
        parts = self._shared.get(rule.id)
        if parts is None:
            parts = self._shared[rule.id] = (list(rule.checklist), dict(rule.remediation), dict(rule.references))
        return parts

    def finding(self, rule, ctx, status, message, evidence=None, answer=None):
        """Build one finding dict (the report's unit)."""
        blocks = rule.blocking and (status == "error" or (status == "fail" and answer is None))
        checklist, remediation, references = self._rule_parts(rule)
        return {
            "host": ctx.host, "rule": rule.id, "title": rule.title, "checklist": checklist,
            "tier": ctx.tiers[0], "site": ctx.site, "status": status, "severity": rule.severity,
            "blocking": rule.blocking, "blocks": blocks, "manual": rule.kind == "manual",
            "message": shorten(message, 2000), "evidence": fit(evidence or {}),
            "remediation": remediation, "references": references, "answer": answer,
        }

    def search(self, expression, document):
        return jmes.compile_expression(expression).search(document, options=self.options)

    def strict(self, expression, document, null_asks=False):
        """The expression's value; MissingData naming the fields it read that the snapshot does not have (a field
        compared with null does not count with ``null_asks``: an ``applies`` may ask whether a section is there)."""
        result, missing = jmes.strict_search(expression, document, self.options, null_asks)
        if missing:
            raise MissingData(missing)
        return result

    # -------------------------------------------------------------- one rule
    def _section_error(self, rule, snapshot):
        """``(message, evidence)`` of the first gather error in a section the rule reads, or None."""
        errors = {e["section"]: e for e in snapshot.get("errors") or []}
        for section in rule.sections:
            if section in errors:
                err = errors[section]
                return ("could not read '%s' (%s): %s" % (section, err["cause"], str(err["message"]).rstrip(".")),
                        {"section": section, "cause": err["cause"], "computer": snapshot.get("computer")})
        return None

    def _gate(self, rule, ctx, document, done):
        """Return (status, message, evidence) when the rule is not evaluated, else None."""
        snapshot = ctx.snapshot
        if rule.families and snapshot.get("os", {}).get("family") not in rule.families:
            return "not_applicable", "Not for %s clients." % snapshot.get("os", {}).get("family"), None
        problem = self._section_error(rule, snapshot)
        if problem:
            return "error", "Cannot evaluate: %s." % problem[0], problem[1]
        if rule.applies and not self.strict(rule.applies, document, null_asks=True):
            return "not_applicable", "Does not apply to this host.", None
        missing = [s for s in rule.sections if s not in snapshot]
        if missing:
            return ("error", "Cannot evaluate: the snapshot has no '%s' section." % "', '".join(missing),
                    {"missing": missing, "cause": "incomplete_snapshot"})
        failed = [r for r in rule.requires if done.get(r) in ("fail", "error", "skipped")]
        if failed:
            return "skipped", "Skipped: prerequisite %s did not pass." % ", ".join(failed), None
        return None

    def _evaluate(self, rule, ctx, document):
        """Return (status, observed, expected, evidence) of the rule's check."""
        if rule.check and "python" in rule.check:
            result = CHECKS[rule.check["python"]](ctx, rule.check.get("params") or {})
            return result.status, result.observed, result.expected, dict(result.evidence or {})
        observed = self.search(rule.observed, document) if rule.observed else None
        if rule.kind == "manual":
            return ("pass" if ctx.answer else "fail"), observed, None, {}
        verdict = self.strict(rule.check["jmespath"], document)
        if not isinstance(verdict, bool):
            raise CheckError("the condition gave %r instead of true/false (missing data?)" % (verdict,))
        return ("pass" if verdict else "fail"), observed, None, {}

    def assess_rule(self, rule, ctx, document, done):
        """Evaluate one rule for one host and return its finding."""
        answer = self.answers.find(rule.id, ctx.host) if rule.answerable else None
        ctx = ctx._replace(answer=answer)
        try:
            gated = self._gate(rule, ctx, document, done)
            if gated:
                return self.finding(rule, ctx, *gated)
            status, observed, expected, evidence = self._evaluate(rule, ctx, document)
        except MissingData as exc:
            return self.finding(rule, ctx, "error", "Cannot evaluate: %s." % exc,
                                {"missing": exc.fields, "cause": "incomplete_snapshot"})
        except Exception as exc:  # a rule must never abort the fleet's assessment
            return self.finding(rule, ctx, "error", "Cannot evaluate: %s" % exc,
                                {"exception": type(exc).__name__, "cause": "unreadable_value"})
        values = dict(self.params, **evidence)
        values.update(host=ctx.host, decision=(answer or {}).get("decision"))
        expected = render(expected or rule.expected, values) if (expected or rule.expected) else None
        values.update(observed=observed, expected=expected)
        evidence.update(observed=observed, expected=expected)
        if status == "not_applicable":
            return self.finding(rule, ctx, status, _text(observed), evidence)
        message = render(rule.message.get(status, rule.message.get("fail")), values)
        if status == "fail" and answer and rule.kind != "manual":
            message += " Accepted by %s at %s: %s" % (answer["by"], answer["at"], answer["reason"])
        keep = answer if (answer and (status == "fail" or rule.kind == "manual")) else None
        return self.finding(rule, ctx, status, message, evidence, keep)

    # -------------------------------------------------------------- one host
    def assess_host(self, ctx, rules):
        """Evaluate the rules of a host's tiers in catalog order."""
        document = dict(ctx.snapshot, _ctx={"host": ctx.host, "site": ctx.site, "tiers": ctx.tiers,
                                            "params": self.params,
                                            "site_clients": len(ctx.fleet.site_clients(ctx.site))})
        done, findings = {}, []
        for rule in rules:
            item = self.assess_rule(rule, ctx, document, done)
            done[rule.id] = item["status"]
            findings.append(item)
        return findings

    def invalid_host(self, rule_valid, ctx, problems, rules):
        """Findings of a host whose snapshot is unusable: one error, the rest skipped."""
        listed = "; ".join("%s: %s" % (p.path, p.message) for p in problems[:MAX_LISTED_PROBLEMS])
        if len(problems) > MAX_LISTED_PROBLEMS:
            listed += "; and %d more" % (len(problems) - MAX_LISTED_PROBLEMS)
        evidence = {"problems": [{"path": p.path, "message": p.message} for p in problems],
                    "cause": next((p.cause for p in problems if p.cause), "invalid_snapshot")}
        findings = [self.finding(rule_valid, ctx, "error", render(rule_valid.message["fail"], {"observed": listed}),
                                 evidence)]
        findings += [self.finding(r, ctx, "skipped", "Not evaluated: the snapshot is not usable (see snapshot.valid).")
                     for r in rules if r.id != rule_valid.id]
        return findings


def _rules_for(rules, tiers, cache=None):
    """The rules of a host's tiers, in catalog order (``cache``: a dict kept for one run, by tiers)."""
    key = tuple(tiers)
    if cache is not None and key in cache:
        return cache[key]
    chosen = [r for r in rules if set(r.tiers) & set(tiers)]
    if cache is not None:
        cache[key] = chosen
    return chosen


def _plans(planner, data):
    """What the changing phases would do on a valid host; a planner that fails names its cause instead."""
    try:
        return planner(data["kind"], data)
    except Exception as exc:  # one host's odd data must not cost the fleet its report
        return {"(planning)": {"changes": [], "problems": ["cannot plan this host: %s" % shorten(exc, 300)]}}


def _record(host_input, snapshot, tiers, site, planner=None):
    data = snapshot.data or {}
    plans = _plans(planner, data) if planner and snapshot.valid else None
    os_info = data.get("os") or {}
    sms = data.get("sms") or {}
    return HostRecord(host_input.host, data.get("kind") or host_input.expected_kind, tiers, site, sms.get("site_role"),
                      shorten(" ".join(filter(None, [os_info.get("name") or os_info.get("family"), os_info.get("version"),
                                                     os_info.get("csd_version")])), 200) or None,
                      snapshot.source, data.get("collected_at"), plans, (sms.get("parent_site_code") or "").upper() or None,
                      snapshot.sha256)


def _snapshot_of(host_input, now):
    """The host's snapshot, or an unusable one naming why it was not read. A valid client's snapshot keeps only its
    digest (hierarchy/fleet.client_digest): the whole document is read again when the client is assessed."""
    if host_input.problem:
        return Snapshot(host_input.host, host_input.snapshot_path, None,
                        [Problem(host_input.host, "$", host_input.problem, host_input.cause)])
    snapshot = load_snapshot(host_input.host, host_input.snapshot_path, host_input.expected_kind, now)
    if snapshot.valid and snapshot.data["kind"] == "client":
        return snapshot._replace(data=client_digest(snapshot.data))
    return snapshot


def _whole(snapshot):
    """The whole document of a snapshot kept as a digest, read again; a file that changed since it was validated (its
    SHA-256 differs) is not used: its problem says so."""
    if not snapshot.valid or snapshot.data["kind"] != "client":
        return snapshot
    data, problems, digest = read_snapshot_file(snapshot.host, snapshot.source)
    if problems or digest != snapshot.sha256:
        return snapshot._replace(data=None, problems=problems or [Problem(
            snapshot.host, "$", "%s changed while the fleet was assessed (SHA-256 %s when validated, %s now); run the "
            "readiness again once the gather has finished" % (snapshot.source, snapshot.sha256, digest))])
    return snapshot._replace(data=data)


def assess_fleet(host_inputs, rules, answers, params, now, preservation=None, progress=None, planner=None, plan=None,
                 database=None, workers=1):
    """Assess every host and the hierarchy; return ``(findings, host_records)``.

    ``planner(kind, snapshot)``, when given, adds to each valid host's record what the changing phases would do.
    ``plan`` is the upgrade plan the ``plan.*`` rules check (an UpgradePlan, or the PlanError of a plan that did not load).
    ``database`` holds the database phase's records by host (assess/database_evidence.py).
    ``workers``: processes that read and assess hosts at the same time (common/parallel.py); the findings are the same.
    """
    assessor = Assessor(rules, answers, params, now, preservation, database)
    snapshots = map_ordered(lambda host_input: _snapshot_of(host_input, now), host_inputs, workers)
    fleet = Fleet({s.host: s.data for s in snapshots if s.valid})
    run = _HostRun(assessor, fleet, rules, plan, planner)
    findings, records = [], []
    for host_findings, record in map_ordered(run.assess, list(zip(host_inputs, snapshots)), workers, progress=progress):
        findings += host_findings
        records.append(record)
    hierarchy = Context(HIERARCHY_HOST, None, ["hierarchy"], {}, params, fleet, assessor.preservation, None, now, plan,
                        assessor.answers, assessor.database)
    findings += assessor.assess_host(hierarchy, _rules_for(rules, ["hierarchy"]))
    records.append(HostRecord(HIERARCHY_HOST, "hierarchy", ["hierarchy"], None, None, None, None, None))
    return findings, records


class _HostRun:
    """One host's assessment in a run: its findings and record, from its input and the snapshot kept of it."""

    def __init__(self, assessor, fleet, rules, plan, planner):
        self.assessor, self.fleet, self.rules, self.plan, self.planner = assessor, fleet, rules, plan, planner
        self.rule_valid = next(r for r in rules if r.id == "snapshot.valid")
        self.by_tiers = {}

    def assess(self, item):
        """``(findings, record)`` of one ``(host_input, kept snapshot)``."""
        host_input, kept = item
        assessor, snapshot = self.assessor, _whole(kept)
        if snapshot.valid:
            tiers, site = host_tiers(snapshot.data), site_of(snapshot.data) or host_input.site
        else:
            tiers, site = [KIND_TIER.get(host_input.expected_kind, "client")], host_input.site
        ctx = Context(host_input.host, site, tiers, snapshot.data, assessor.params, self.fleet, assessor.preservation, None,
                      assessor.now, self.plan, assessor.answers, assessor.database)
        host_rules = _rules_for(self.rules, tiers, self.by_tiers)
        if snapshot.valid:
            findings = [assessor.finding(self.rule_valid, ctx, "pass",
                                         render(self.rule_valid.message["pass"], {"observed": snapshot.source}))]
            findings += assessor.assess_host(ctx, [r for r in host_rules if r.id != self.rule_valid.id])
        else:
            findings = assessor.invalid_host(self.rule_valid, ctx, snapshot.problems, host_rules)
        return findings, _record(host_input, snapshot, tiers, site, self.planner)
