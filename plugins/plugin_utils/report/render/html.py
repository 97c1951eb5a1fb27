"""The readiness report as one self-contained HTML page (inline CSS and JS, no external assets).

Summary tables are rendered here; the findings table is rendered in the browser from one embedded
JSON blob, with filters by status and severity, a text search and paging, so a 10,000-client fleet
stays usable. Passing findings are left out of the page beyond PASS_LIMIT findings (readiness.json
keeps them all). Data reaches the page only through html.escape or JSON inside a script element, and
the script writes it with textContent.
"""
import html
import json

from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.common import (
    PLANS_LISTED, SEVERITY_ORDER, STATUS_ORDER, blocking_by_rule, ordered_tiers, plan_headline, planned_by_phase,
    short_list, site_label, verdict, wave_status, waves_of, what_to_do, window_text)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import progress_view

PASS_LIMIT = 20000
FIELDS = ("host", "rule", "checklist", "tier", "site", "status", "severity", "blocks", "message", "hint", "command",
          "seed", "kb", "answer", "waves")

CSS = """
body{font:14px/1.45 system-ui,Segoe UI,Arial,sans-serif;margin:0;color:#1d232a;background:#f5f6f8}
header{background:#20344f;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:22px}
main{padding:18px 28px}section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:14px 18px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 10px}.verdict{display:inline-block;padding:6px 12px;border-radius:4px;font-weight:700}
.blocked{background:#b3261e;color:#fff}.ready{background:#1e7b34;color:#fff}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #d8dde3;border-radius:6px;padding:8px 14px;min-width:90px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;
border-bottom:1px solid #e5e8ec;vertical-align:top}th{background:#eef1f4}td.num{text-align:right}
.s-error,.s-fail{font-weight:700}.s-error{color:#8a1c14}.s-fail{color:#b3261e}.s-pass{color:#1e7b34}
.s-not_applicable,.s-skipped{color:#5f6b76}code{background:#f0f2f4;padding:1px 4px;border-radius:3px;white-space:pre-wrap}
.filters label{margin-right:12px;white-space:nowrap}.filters input[type=search]{width:260px;padding:4px}
.pager button{margin:0 4px}
.hostlink{border:0;background:none;color:#1a4f8b;text-decoration:underline;cursor:pointer;padding:0;font:inherit}
.note{color:#5f6b76}details{margin:4px 0}summary{cursor:pointer}
@media print{.filters,.pager{display:none}body{background:#fff}}
"""

SCRIPT = r"""
(function(){
var data=JSON.parse(document.getElementById('findings-data').textContent);
var F=data.fields, rows=data.rows, page=0, size=200;
function val(r,k){return r[F.indexOf(k)];}
function checked(name){return Array.prototype.filter.call(document.querySelectorAll('input[name='+name+']'),
  function(i){return i.checked;}).map(function(i){return i.value;});}
function matches(r,st,sv,q){if(st.indexOf(val(r,'status'))<0||sv.indexOf(val(r,'severity'))<0)return false;
  if(!q)return true;return (val(r,'host')+' '+val(r,'rule')+' '+val(r,'checklist')+' '+val(r,'message')).toLowerCase().indexOf(q)>=0;}
function cell(tr,text,cls){var td=document.createElement('td');td.textContent=text==null?'':String(text);if(cls)td.className=cls;tr.appendChild(td);return td;}
function render(){
  var st=checked('status'),sv=checked('severity'),q=document.getElementById('q').value.toLowerCase().trim();
  var hit=rows.filter(function(r){return matches(r,st,sv,q);});
  var pages=Math.max(1,Math.ceil(hit.length/size));if(page>=pages)page=pages-1;
  var body=document.getElementById('findings-body');body.textContent='';
  hit.slice(page*size,(page+1)*size).forEach(function(r){
    var tr=document.createElement('tr');cell(tr,val(r,'host'));cell(tr,val(r,'rule'));cell(tr,val(r,'checklist'));
    cell(tr,val(r,'status')+(val(r,'blocks')?' (blocks '+(val(r,'waves')||'no wave')+')':''),'s-'+val(r,'status'));cell(tr,val(r,'severity'));
    var td=cell(tr,val(r,'message'));
    var extra=[['what to do',val(r,'hint')],['command',val(r,'command')],['seed',val(r,'seed')],['KB',val(r,'kb')],['answer',val(r,'answer')]];
    var failing=['fail','error'].indexOf(val(r,'status'))>=0;
    extra.forEach(function(e){if(!e[1]||(!failing&&(e[0]=='what to do'||e[0]=='command')))return;var d=document.createElement('div');d.className='note';
      d.textContent=e[0]+': ';var c=document.createElement(e[0]=='command'?'code':'span');c.textContent=e[1];d.appendChild(c);td.appendChild(d);});
    body.appendChild(tr);});
  document.getElementById('count').textContent=hit.length+' of '+rows.length+' findings, page '+(page+1)+' of '+pages;
}
document.querySelectorAll('.filters input').forEach(function(i){i.addEventListener('input',function(){page=0;render();});});
document.querySelectorAll('.hostlink').forEach(function(b){b.addEventListener('click',function(){
  document.querySelectorAll('input[name=status]').forEach(function(i){i.checked=true;});
  var q=document.getElementById('q');q.value=b.getAttribute('data-host');page=0;render();
  document.getElementById('findings').scrollIntoView();});});
document.getElementById('prev').addEventListener('click',function(){if(page>0){page--;render();}});
document.getElementById('next').addEventListener('click',function(){page++;render();});
render();
})();
"""


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def _table(header, rows, numeric_from=None):
    head = "".join("<th>%s</th>" % esc(h) for h in header)
    body = "".join("<tr>%s</tr>" % "".join(
        '<td%s>%s</td>' % (' class="num"' if numeric_from is not None and i >= numeric_from else "", esc(c))
        for i, c in enumerate(row)) for row in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


def _counts_rows(groups):
    return [[name, s["hosts"], s["blocked_hosts"]] + [s["counts"].get(k, 0) for k in STATUS_ORDER] for name, s in groups]


def _summary(report):
    summary = report["summary"]
    blocked = verdict(report).startswith("BLOCKED")
    cards = "".join('<div class="card"><b>%s</b>%s</div>' % (esc(n), esc(label)) for label, n in
                    [("hosts", summary["hosts"]), ("blocked hosts", summary["blocked_hosts"])] +
                    [(s, summary["counts"].get(s, 0)) for s in STATUS_ORDER])
    return ('<section><h2>Fleet</h2><p><span class="verdict %s">%s</span></p><div class="cards">%s</div></section>'
            % ("blocked" if blocked else "ready", esc(verdict(report)), cards))


def _groups(report):
    header = ["", "hosts", "blocked"] + list(STATUS_ORDER)
    summary = report["summary"]
    return ("<section><h2>By tier</h2>%s</section><section><h2>By site</h2>%s</section>" % (
        _table(["tier"] + header[1:], _counts_rows(ordered_tiers(summary["by_tier"])), 1),
        _table(["site"] + header[1:], _counts_rows(summary["by_site"].items()), 1)))


def _blocking(report):
    groups = blocking_by_rule(report)
    if not groups:
        return "<section><h2>Blocking findings</h2><p>None.</p></section>"
    rows = [[rule, ", ".join(items[0]["checklist"]), items[0]["severity"], len(items),
             short_list((f["host"] for f in items), 30), ", ".join(waves_of(items, report)) or "none", what_to_do(items[0])]
            for rule, items in groups]
    return "<section><h2>Blocking findings</h2>%s</section>" % _table(
        ["rule", "checklist", "severity", "hosts", "which", "waves blocked", "what to do"], rows)


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


def _row(finding):
    answer = finding.get("answer")
    return [finding["host"], finding["rule"], ", ".join(finding["checklist"]), finding["tier"], finding["site"],
            finding["status"], finding["severity"], bool(finding["blocks"]), finding["message"],
            finding["remediation"].get("hint"), finding["remediation"].get("command"),
            finding["references"].get("seed"), ", ".join(finding["references"].get("kb") or []),
            "%s at %s: %s" % (answer["by"], answer["at"], answer["reason"]) if answer else None,
            ", ".join(finding.get("waves") or [])]


def findings_blob(report):
    """Return (json text safe inside <script>, number of pass findings left out)."""
    findings = report["findings"]
    omitted = 0
    if len(findings) > PASS_LIMIT:
        kept = [f for f in findings if f["status"] != "pass"]
        omitted = len(findings) - len(kept)
        findings = kept
    text = json.dumps({"fields": list(FIELDS), "rows": [_row(f) for f in findings]}, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--"), omitted


def _findings(report):
    blob, omitted = findings_blob(report)

    def boxes(name, values, on):
        return "".join('<label><input type="checkbox" name="%s" value="%s"%s> %s</label>'
                       % (name, v, " checked" if v in on else "", v) for v in values)

    note = ('<p class="note">%d passing findings are left out of this page; readiness.json has all of them.</p>' % omitted
            if omitted else "")
    return ('<section id="findings"><h2>Findings</h2>%s<div class="filters"><p>Status: %s</p><p>Severity: %s</p>'
            '<p><input type="search" id="q" placeholder="host, rule, checklist ID or text"></p></div>'
            '<p class="pager"><button id="prev" type="button">previous</button><span id="count"></span>'
            '<button id="next" type="button">next</button></p>'
            '<table><thead><tr><th>host</th><th>rule</th><th>checklist</th><th>status</th><th>severity</th><th>message</th>'
            '</tr></thead><tbody id="findings-body"></tbody></table>'
            '<script type="application/json" id="findings-data">%s</script></section>'
            % (note, boxes("status", STATUS_ORDER, ("error", "fail")), boxes("severity", SEVERITY_ORDER, SEVERITY_ORDER), blob))


def _hosts(report):
    rows = "".join(
        '<tr><td><button type="button" class="hostlink" data-host="%s">%s</button></td>%s</tr>' % (
            esc(h["host"]), esc(h["host"]), "".join("<td>%s</td>" % esc(c) for c in [
                h["tier"], h.get("site") or "", h.get("os") or "", "yes" if h["blocked"] else "no",
                h["counts"].get("fail", 0), h["counts"].get("error", 0)]))
        for h in report["hosts"])
    head = "".join("<th>%s</th>" % c for c in ("host", "tier", "site", "OS", "blocked", "fail", "error"))
    return ('<section id="hosts"><h2>Hosts</h2><p class="note">Select a host to list all of its findings.</p>'
            '<details><summary>%d hosts</summary><table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
            '</details></section>' % (len(report["hosts"]), head, rows))


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


def render_html(report):
    """Return the report as one self-contained HTML page."""
    title = "SMS 1.2 → 2.0 readiness %s" % report["run_id"]
    meta = "Run %s, %s%s. Answers: %s." % (
        report["run_id"], report["generated_at"], ", check mode" if report["check_mode"] else "",
        report.get("answers_file") or "none")
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            '<title>%s</title><style>%s</style></head><body><header><h1>%s</h1><div>%s</div></header><main>%s%s%s%s%s%s%s%s%s</main>'
            '<script>%s</script></body></html>\n' % (
                esc(title), CSS, esc(title), esc(meta), _summary(report), _upgrade_plan(report), _progress(report),
                _blocking(report), _groups(report),
                _diff(report), _findings(report), _hosts(report), _plans(report), SCRIPT))
