"""The readiness report as one self-contained HTML page (inline CSS and JS, no external assets).

Every table is HTML made here, so the page reads without JavaScript: the plan of what to do first, the upgrade
plan, the summaries, the findings (error and fail first) and the hosts. The script only adds filters by status
and severity, a text search and paging, and keeps them in the URL (``#status=error,fail&q=CENNT013``) so that a
view can be shared; a host link or a summary card sets such a view. Passing findings are left out of the page beyond
PASS_LIMIT findings, and at most ROW_LIMIT findings and hosts are rows (readiness.json keeps them all). Every text
reaches the page through :func:`esc` (escaped and shortened), and the script reads nothing but the rows' data
attributes.
"""
import html
from collections import Counter
from urllib.parse import quote

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.common import (
    HIERARCHY, PLANS_LISTED, SEVERITY_ORDER, STATUS_ORDER, blocked_hosts, blocking_by_rule, ordered_tiers,
    plan_headline, planned_by_phase, real_hosts, short_list, site_label, step_of_rule, steps_by_stage, title,
    verdict, wave_status, waves_of, what_to_do, window_text)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import progress_view

PASS_LIMIT = 20000
# At most this many findings are rows of the page (a browser stays usable); readiness.json has them all.
ROW_LIMIT = 20000
CELL_CHARS = 1000
DEFAULT_STATUSES = ("error", "fail")

CSS = """
body{font:14px/1.45 system-ui,Segoe UI,Arial,sans-serif;margin:0;color:#1d232a;background:#f5f6f8}
header{background:#20344f;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:22px}header a{color:#fff}
main{padding:18px 28px}section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:14px 18px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 10px}h3{font-size:15px;margin:14px 0 6px}.verdict{display:inline-block;padding:6px 12px;
border-radius:4px;font-weight:700}.blocked{background:#b3261e;color:#fff}.ready{background:#1e7b34;color:#fff}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #d8dde3;border-radius:6px;padding:8px 14px;min-width:90px;
color:inherit;text-decoration:none}a.card:hover{border-color:#1a4f8b}.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e5e8ec;vertical-align:top}
th{background:#eef1f4}td.num{text-align:right}.s-error,.s-fail{font-weight:700}.s-error{color:#8a1c14}.s-fail{color:#b3261e}
.s-pass{color:#1e7b34}.s-not_applicable,.s-skipped{color:#5f6b76}code,pre{background:#f0f2f4;border-radius:3px}
code{padding:1px 4px;white-space:pre-wrap}pre{padding:6px 8px;white-space:pre-wrap;margin:4px 0}
.filters label{margin-right:12px;white-space:nowrap}.filters input[type=search]{width:260px;padding:4px}
.filters,.pager{display:none}.js .filters,.js .pager{display:block}.pager button{margin:0 4px}
.note{color:#5f6b76}details{margin:4px 0}summary{cursor:pointer}ol.steps>li{margin:0 0 12px}.warn{background:#fff4d6}
@media print{.filters,.pager{display:none}body{background:#fff}}
"""

SCRIPT = r"""
(function(){
try{
document.documentElement.className+=' js';
var body=document.getElementById('findings-body');if(!body)return;
var rows=Array.prototype.slice.call(body.rows),page=0,size=200;
function boxes(name){return Array.prototype.slice.call(document.querySelectorAll('input[name='+name+']'));}
function checked(name){return boxes(name).filter(function(i){return i.checked;}).map(function(i){return i.value;});}
function setBoxes(name,values){boxes(name).forEach(function(i){i.checked=values.indexOf(i.value)>=0;});}
function state(){var s={status:checked('status').join(','),severity:checked('severity').join(','),
  q:document.getElementById('q').value.trim()};if(page)s.page=String(page+1);
  return Object.keys(s).filter(function(k){return s[k]!=='';}).map(function(k){return k+'='+encodeURIComponent(s[k]);}).join('&');}
function read(hash){var s={};(hash||'').replace(/^#/,'').split('&').forEach(function(p){var i=p.indexOf('=');
  if(i>0){try{s[p.slice(0,i)]=decodeURIComponent(p.slice(i+1));}catch(e){}}});return s;}
function apply(s){if(s.status!==undefined)setBoxes('status',s.status==='all'?boxes('status').map(function(i){return i.value;}):s.status.split(','));
  if(s.severity!==undefined)setBoxes('severity',s.severity==='all'?boxes('severity').map(function(i){return i.value;}):s.severity.split(','));
  if(s.q!==undefined)document.getElementById('q').value=s.q;page=Math.max(0,(parseInt(s.page,10)||1)-1);}
function render(){
  var st=checked('status'),sv=checked('severity'),q=document.getElementById('q').value.toLowerCase().trim();
  var hit=rows.filter(function(r){return st.indexOf(r.getAttribute('data-status'))>=0&&sv.indexOf(r.getAttribute('data-severity'))>=0&&
    (!q||r.textContent.toLowerCase().indexOf(q)>=0);});
  var pages=Math.max(1,Math.ceil(hit.length/size));if(page>=pages)page=pages-1;
  rows.forEach(function(r){r.hidden=true;});hit.slice(page*size,(page+1)*size).forEach(function(r){r.hidden=false;});
  document.getElementById('count').textContent=hit.length+' of '+rows.length+' findings, page '+(page+1)+' of '+pages;
  if(history.replaceState)history.replaceState(null,'','#'+state());}
function fromHash(scroll){var s=read(location.hash);if(!('status' in s||'q' in s||'severity' in s))return false;apply(s);render();
  if(scroll)document.getElementById('findings').scrollIntoView();return true;}
boxes('status').concat(boxes('severity'),[document.getElementById('q')]).forEach(function(i){
  i.addEventListener('input',function(){page=0;render();});});
document.getElementById('prev').addEventListener('click',function(){if(page>0){page--;render();}});
document.getElementById('next').addEventListener('click',function(){page++;render();});
window.addEventListener('hashchange',function(){fromHash(true);});
if(!fromHash(false))render();
}catch(e){var n=document.getElementById('count');if(n)n.textContent='The filters are off ('+e+'); every finding is listed.';
  Array.prototype.forEach.call(document.querySelectorAll('#findings-body tr'),function(r){r.hidden=false;});}
})();
"""


def esc(value, limit=CELL_CHARS):
    """Any value as HTML text: shortened, without lone surrogates, escaped (also quotes, for attributes)."""
    return html.escape(shorten(value, limit), quote=True)


def host_anchor(host):
    """The id of a host's row in the hosts table."""
    return "host-%s" % quote(str(host), safe="")


def host_link(host):
    """A link to a host's row in the hosts table (works without JavaScript)."""
    return '<a href="#%s">%s</a>' % (esc(host_anchor(host)), esc(host))


def view_link(text, **view):
    """A link that sets a view of the findings table (``status``, ``severity``, ``q``): the URL is shareable."""
    return '<a href="#%s">%s</a>' % (esc("&".join("%s=%s" % (k, quote(str(v), safe=",")) for k, v in view.items())), text)


def _table(header, rows, numeric_from=None, raw=()):
    """A table; columns in ``raw`` hold HTML made here, every other cell is escaped."""
    head = "".join("<th>%s</th>" % esc(h) for h in header)
    body = "".join("<tr>%s</tr>" % "".join(
        '<td%s>%s</td>' % (' class="num"' if numeric_from is not None and i >= numeric_from else "",
                           c if i in raw else esc(c))
        for i, c in enumerate(row)) for row in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


def _counts_rows(groups):
    return [[name, s["hosts"], s["blocked_hosts"]] + [s["counts"].get(k, 0) for k in STATUS_ORDER] for name, s in groups]


def _warnings(report):
    if not report.get("warnings"):
        return ""
    return '<section class="warn"><h2>Warnings</h2><ul>%s</ul></section>' % "".join(
        "<li>%s</li>" % esc(w) for w in report["warnings"])


def _summary(report):
    summary = report["summary"]
    blocked = verdict(report).startswith("BLOCKED")
    cards = ['<a class="card" href="#hosts"><b>%d</b>hosts</a>' % summary["hosts"],
             '<a class="card" href="#blocked-hosts"><b>%d</b>blocked hosts</a>' % summary["blocked_hosts"]]
    cards += ['<a class="card" href="#%s"><b>%d</b>%s</a>' % (esc("status=%s&severity=all&q=" % s), summary["counts"].get(s, 0), esc(s))
              for s in STATUS_ORDER]
    names = blocked_hosts(report)
    listed = ('<p id="blocked-hosts">Blocked hosts: %s%s</p>' % (
        ", ".join(host_link(h) for h in names[:200]), " … and %d more" % (len(names) - 200) if len(names) > 200 else "")
        if names else '<p id="blocked-hosts">No host is blocked.</p>')
    return ('<section><h2>Fleet</h2><p><span class="verdict %s">%s</span></p><div class="cards">%s</div>%s</section>'
            % ("blocked" if blocked else "ready", esc(verdict(report)), "".join(cards), listed))


def _fix(step):
    fix, parts = step["fix"], []
    if fix.get("text"):
        parts.append("<p>%s</p>" % esc(fix["text"]))
    if fix.get("command"):
        parts.append("<p>Command:</p><pre><code>%s</code></pre>" % esc(fix["command"]))
    if fix.get("commands"):
        parts.append("<p>Playbook <code>%s</code>, one wave at a time (then without --check):</p><pre><code>%s</code></pre>" % (
            esc(fix["playbook"]), esc("\n".join(fix["commands"]))))
    if fix.get("answers_entry"):
        parts.append("<p>%s</p><pre><code>%s</code></pre>" % (
            "Answers-file entry:" if fix["kind"] == "answers" else "Or, if it is acceptable here, accept it in the answers file:",
            esc(fix["answers_entry"])))
    return "".join(parts)


def _step(step):
    checklist = "".join("<li><b>%s</b> %s</li>" % (esc(c["id"]), esc(c["text"])) for c in step["checklist"])
    rows = [[host_link(o["host"]) if o["host"] != HIERARCHY else esc(o["host"]), o["observed"]] for o in step["observed"]]
    observed = _table(["host", "observed"], rows, raw=(0,))
    more = len(step["hosts"]) - len(step["observed"])
    hosts = ", ".join(host_link(h) if h != HIERARCHY else esc(h) for h in step["hosts"][:100])
    return ('<li id="step-%d"><b>%s</b> <span class="note">(%s; %s; waves: %s)</span>'
            '<p>Hosts (%d): %s%s</p>%s%s%s%s</li>' % (
                step["step"], esc(step["title"]), esc(", ".join(step["rules"])), esc(step["severity"]),
                esc(", ".join(step["waves"]) or "none"), len(step["hosts"]), hosts,
                " … and %d more" % (len(step["hosts"]) - 100) if len(step["hosts"]) > 100 else "",
                "<ul>%s</ul>" % checklist if checklist else "", observed,
                '<p class="note">… and %d more hosts (readiness.json lists all).</p>' % more if more > 0 else "",
                ("<p>Expected: %s</p>" % esc(step["expected"]) if step.get("expected") else "") + _fix(step)))


def _actions(report):
    stages = steps_by_stage(report)
    if not stages:
        return '<section id="actions"><h2>What to do first</h2><p>Nothing blocks the upgrade.</p></section>'
    parts = []
    for _stage, stage_title, intro, phases in stages:
        parts.append("<h3>%s</h3><p class=\"note\">%s</p>" % (esc(stage_title), esc(intro)))
        for phase, steps in phases:
            if phase:
                parts.append("<p><b>Phase %s</b></p>" % esc(phase))
            parts.append('<ol class="steps" start="%d">%s</ol>' % (steps[0]["step"], "".join(_step(s) for s in steps)))
    return ('<section id="actions"><h2>What to do first</h2><p class="note">Every blocking finding, in the order of the '
            'upgrade; each step says what fixes it.</p>%s</section>' % "".join(parts))


def _groups(report):
    header = ["", "hosts", "blocked"] + list(STATUS_ORDER)
    summary = report["summary"]
    tiers = [("hierarchy-wide" if name == "hierarchy" else name, values) for name, values in ordered_tiers(summary["by_tier"])]
    return ("<section><h2>By tier</h2>%s<p class=\"note\">Hierarchy-wide findings concern no single host; the hosts of the "
            "tiers add up to the fleet's %d.</p></section><section><h2>By site</h2>%s</section>" % (
                _table(["tier"] + header[1:], _counts_rows(tiers), 1), summary["hosts"],
                _table(["site"] + header[1:], _counts_rows(summary["by_site"].items()), 1)))


def _blocking(report):
    groups = blocking_by_rule(report)
    if not groups:
        return "<section><h2>Blocking findings by rule</h2><p>None.</p></section>"
    steps = step_of_rule(report)
    rows = [['<a href="#step-%d">%d</a>' % (steps[rule], steps[rule]) if rule in steps else "", esc(rule),
             esc(", ".join(items[0]["checklist"])), esc(items[0]["severity"]), esc(len(items)),
             esc(short_list((f["host"] for f in items), 30)), esc(", ".join(waves_of(items, report)) or "none"),
             esc(what_to_do(items[0]))] for rule, items in groups]
    return "<section><h2>Blocking findings by rule</h2>%s</section>" % _table(
        ["step", "rule", "checklist", "severity", "hosts", "which", "waves blocked", "what to do"], rows,
        raw=range(8))


def _upgrade_plan(report):
    plan = report.get("plan") or {}
    parts = ["<p>%s</p>" % esc(plan_headline(report))]
    if plan.get("waves"):
        parts.append(_table(["wave", "window", "sites, in order", "hosts", "status", "downloads"], [
            [w["name"], window_text(w), ", ".join(site_label(s) for s in w["sites"]), w["hosts"], wave_status(w),
             "%d MB" % w["download_mb"] if w["download_mb"] else "-"] for w in plan["waves"]]))
    if plan.get("stay_on_1_2"):
        parts.append("<h3>Staying on SMS 1.2</h3>" + _table(["site", "hosts", "keeps clients", "reason"], [
            [k["site"], k["hosts"], ", ".join(k["clients"]) or "-", k["reason"]] for k in plan["stay_on_1_2"]]))
    notes = ["Clients whose OS is upgraded before their site's wave: %s." % ", ".join(plan["os_upgrades"])] \
        if plan.get("os_upgrades") else []
    notes += ["Hierarchy change %s: %s (sites %s)." % (c["when"], c["change"], ", ".join(c["sites"]))
              for c in plan.get("hierarchy_changes") or []]
    if plan.get("unplanned"):
        notes.append("Not planned (in no wave, not staying on 1.2): %s." % ", ".join(
            "%s (%d hosts)" % (u["site"], u["hosts"]) for u in plan["unplanned"]))
    parts += ["<ul>%s</ul>" % "".join("<li>%s</li>" % esc(n) for n in notes)] if notes else []
    return '<section id="plan"><h2>Upgrade plan</h2>%s</section>' % "".join(parts)


def _diff(report):
    diff = report["diff"]
    if not diff["previous_run_id"]:
        return "<section><h2>Since the previous run</h2><p>No previous run in this report directory.</p></section>"
    parts = []
    for key in ("new", "fixed", "still_failing"):
        items = diff[key]
        listed = "".join("<li>%s <code>%s</code> (%s)</li>" % (esc(i["host"]), esc(i["rule"]), esc(i["status"])) for i in items[:100])
        more = "<li>… and %d more</li>" % (len(items) - 100) if len(items) > 100 else ""
        parts.append("<details><summary>%s: %d</summary><ul>%s%s</ul></details>" % (key.replace("_", " "), len(items), listed, more))
    return "<section><h2>Since the previous run (%s)</h2>%s</section>" % (esc(diff["previous_run_id"]), "".join(parts))


def findings_rows(report):
    """``(findings shown, number of findings left out)``: error and fail first (blocking first), then the rest. Above
    PASS_LIMIT findings the passing ones are left out; of the others the first ROW_LIMIT are shown."""
    findings = report["findings"]
    if len(findings) > PASS_LIMIT:
        findings = [f for f in findings if f["status"] != "pass"]
    order = {status: index for index, status in enumerate(STATUS_ORDER)}
    shown = sorted(findings, key=lambda f: (order.get(f["status"], 99), not f["blocks"]))[:ROW_LIMIT]
    return shown, len(report["findings"]) - len(shown)


def _left_out_note(report, shown, omitted):
    """How many findings of each status the page leaves out."""
    if not omitted:
        return ""
    total, on_page = Counter(f["status"] for f in report["findings"]), Counter(f["status"] for f in shown)
    counts = ", ".join("%d %s" % (total[s] - on_page[s], s.replace("_", " ")) for s in STATUS_ORDER if total[s] > on_page[s])
    return ('<p class="note">%d findings are left out of this page (%s): it shows at most %d, errors and failures '
            'first; readiness.json has all of them.</p>' % (omitted, counts, ROW_LIMIT))


def _notes(finding, steps):
    failing = finding["status"] in ("fail", "error")
    notes = []
    if finding["blocks"] and finding["rule"] in steps:
        notes.append('what to do: <a href="#step-%d">step %d</a>' % (steps[finding["rule"]], steps[finding["rule"]]))
    elif failing and what_to_do(finding):
        notes.append("what to do: %s" % esc(what_to_do(finding)))
    answer = finding.get("answer")
    if answer:
        notes.append("answer: %s" % esc("%s at %s: %s" % (answer["by"], answer["at"], answer["reason"])))
    refs = finding["references"]
    if failing and (refs.get("seed") or refs.get("kb")):
        notes.append("references: %s" % esc("; ".join(filter(None, [refs.get("seed"), ", ".join(refs.get("kb") or [])]))))
    return "".join('<div class="note">%s</div>' % n for n in notes)


def _finding_row(finding, steps):
    status = finding["status"]
    blocks = " (blocks %s)" % (", ".join(finding.get("waves") or []) or "no wave") if finding["blocks"] else ""
    host = host_link(finding["host"]) if finding["host"] != HIERARCHY else esc(finding["host"])
    return ('<tr data-status="%s" data-severity="%s"><td>%s</td><td>%s</td><td>%s</td><td class="s-%s">%s</td><td>%s</td>'
            '<td>%s%s</td></tr>' % (esc(status), esc(finding["severity"]), host, esc(finding["rule"]),
                                    esc(", ".join(finding["checklist"])), esc(status), esc(status + blocks),
                                    esc(finding["severity"]), esc(finding["message"]), _notes(finding, steps)))


def _findings(report):
    findings, omitted = findings_rows(report)
    steps = step_of_rule(report)

    def boxes(name, values, on):
        return "".join('<label><input type="checkbox" name="%s" value="%s"%s> %s</label>'
                       % (name, v, " checked" if v in on else "", v) for v in values)

    note = _left_out_note(report, findings, omitted)
    return ('<section id="findings"><h2>Findings</h2>%s<p class="note">Errors and failures first. With JavaScript, the '
            'filters below narrow the list and the address keeps the view, to share it.</p>'
            '<div class="filters"><p>Status: %s</p><p>Severity: %s</p>'
            '<p><input type="search" id="q" placeholder="host, rule, checklist ID or text"></p></div>'
            '<p class="pager"><button id="prev" type="button">previous</button><span id="count"></span>'
            '<button id="next" type="button">next</button></p>'
            '<table><thead><tr><th>host</th><th>rule</th><th>checklist</th><th>status</th><th>severity</th><th>message</th>'
            '</tr></thead><tbody id="findings-body">%s</tbody></table></section>'
            % (note, boxes("status", STATUS_ORDER, DEFAULT_STATUSES), boxes("severity", SEVERITY_ORDER, SEVERITY_ORDER),
               "".join(_finding_row(f, steps) for f in findings)))


def _hosts(report):
    hosts, note = real_hosts(report), ""
    if len(hosts) > ROW_LIMIT:
        note = ('<p class="note">%d hosts are left out of this page: it shows at most %d, blocked hosts first; '
                'readiness.json has all of them.</p>' % (len(hosts) - ROW_LIMIT, ROW_LIMIT))
        hosts = sorted(hosts, key=lambda h: not h["blocked"])[:ROW_LIMIT]
    rows = "".join(
        '<tr id="%s"><td>%s</td>%s<td>%s</td></tr>' % (
            esc(host_anchor(h["host"])), esc(h["host"]), "".join("<td>%s</td>" % esc(c) for c in [
                h["tier"], h.get("site") or "", h.get("os") or "", "yes" if h["blocked"] else "no",
                h["counts"].get("fail", 0), h["counts"].get("error", 0)]),
            view_link("findings", status="all", severity="all", q=h["host"]))
        for h in hosts)
    head = "".join("<th>%s</th>" % c for c in ("host", "tier", "site", "OS", "blocked", "fail", "error", ""))
    return ('<section id="hosts"><h2>Hosts (%d)</h2>%s<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
            '</section>' % (len(real_hosts(report)), note, head, rows))


def _progress(report):
    progress = report.get("progress")
    parts = ["<p>%s</p>" % esc(progress_view.headline(progress))]
    if progress and progress["waves"]:
        parts.append(_table(["wave", "status", "sites (site upgrade)", "last run"], progress_view.wave_rows(progress)))
    if progress and progress["sites"]:
        parts.append(_table(["site", "wave", "site upgrade", "post-upgrade", "clients"], progress_view.site_rows(progress)))
    for site in progress_view.detailed(progress) if progress else []:
        inner = []
        if progress_view.timeline_rows(site):
            inner.append("<h4>Site upgrade timeline</h4>" + _table(
                ["step", "started", "duration", "result", "message"], progress_view.timeline_rows(site)))
        if progress_view.conversion_rows(site):
            inner.append("<h4>Data conversion (POST-06)</h4>" + _table(
                ["SMS 1.2 object", "converted", "count", "preserved", "fate"], progress_view.conversion_rows(site)))
        if progress_view.failed_clients(site):
            inner.append("<p>Failed clients: %s</p>" % esc(", ".join(progress_view.failed_clients(site))))
        parts.append("<details><summary>site %s</summary>%s</details>" % (esc(site["site"]), "".join(inner)))
    if progress and progress["notes"]:
        parts.append('<p class="note">Records that could not be used:</p><ul>%s</ul>'
                     % "".join("<li>%s</li>" % esc(n) for n in progress["notes"]))
    return '<section id="progress"><h2>Upgrade progress</h2>%s</section>' % "".join(parts)


def _plans(report):
    parts = []
    for phase, hosts in planned_by_phase(report):
        items = "".join("<li><b>%s</b><ul>%s%s</ul></li>" % (
            esc(host), "".join("<li>%s</li>" % esc(c) for c in plan["changes"]),
            "".join("<li>not planned: %s</li>" % esc(p) for p in plan["problems"])) for host, plan in hosts[:PLANS_LISTED])
        more = "<li>… and %d more hosts (readiness.json lists all)</li>" % (len(hosts) - PLANS_LISTED) if len(hosts) > PLANS_LISTED else ""
        parts.append("<details><summary>phase %s: %d hosts</summary><ul>%s%s</ul></details>" % (esc(phase), len(hosts), items, more))
    if not parts:
        return ""
    return ('<section id="plans"><h2>Planned changes</h2><p class="note">Planned from each host\'s snapshot; the phase '
            'shows them again with --check --diff before anything is applied.</p>%s</section>' % "".join(parts))


def _meta(report):
    inventory = report.get("inventory") or {}
    return "Run %s, %s%s. Inventory: %s. Answers: %s." % (
        report["run_id"], report["generated_at"], ", check mode" if report["check_mode"] else "",
        ", ".join(inventory.get("sources") or []) or "not recorded", report.get("answers_file") or "none")


def render_html(report):
    """Return the report as one self-contained HTML page."""
    page_title = "%s (%s)" % (title(report), report["run_id"])
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            '<title>%s</title><style>%s</style></head><body><header><h1>%s</h1><div>%s</div></header><main>%s%s%s%s%s%s%s%s%s%s%s'
            '</main><script>%s</script></body></html>\n' % (
                esc(page_title), CSS, esc(title(report)), esc(_meta(report)), _warnings(report), _summary(report),
                _actions(report), _upgrade_plan(report), _progress(report), _blocking(report), _groups(report),
                _diff(report), _findings(report), _hosts(report), _plans(report), SCRIPT))
