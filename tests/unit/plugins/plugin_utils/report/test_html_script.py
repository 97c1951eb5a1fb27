"""The HTML page's script, run by Node.js over a small stand-in for the browser's DOM: the view lives in the URL."""
import json
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.html import SCRIPT

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

DOM = r"""
function el(id){return {id:id,textContent:'',value:'',listeners:{},hidden:false,
  addEventListener:function(t,f){(this.listeners[t]=this.listeners[t]||[]).push(f);},scrollIntoView:function(){}};}
var rows = ROWS.map(function(r){return {hidden:false,textContent:r.text,getAttribute:function(k){return r[k];}};});
var inputs = INPUTS.map(function(i){var e=el('');e.name=i.name;e.value=i.value;e.checked=i.checked;return e;});
var els = {'findings-body':{rows:rows}, q:el('q'), prev:el('prev'), next:el('next'), count:el('count'), findings:el('findings')};
var replaced = [];
global.location = {hash: HASH};
global.history = {replaceState:function(a,b,url){replaced.push(url);}};
var windowListeners = {};
global.window = {addEventListener:function(t,f){windowListeners[t]=f;}};
global.document = {documentElement:{className:''},
  getElementById:function(id){return els[id]||null;},
  querySelectorAll:function(sel){var m=/input\[name=(\w+)\]/.exec(sel);
    if(m)return inputs.filter(function(i){return i.name===m[1];});
    if(sel==='#findings-body tr')return rows;return [];}};
SCRIPT
function visible(){return rows.filter(function(r){return !r.hidden;}).map(function(r){return r.textContent;});}
var out = {js: document.documentElement.className, first: visible(), url: replaced.slice(-1)[0], count: els.count.textContent};
location.hash = '#status=all&severity=all&q=WKS03';
windowListeners.hashchange();
out.after = visible();
out.boxes = inputs.filter(function(i){return i.checked;}).map(function(i){return i.value;});
els.q.value = 'rule-b';
els.q.listeners.input[0]();
out.typed = visible(); out.typed_url = replaced.slice(-1)[0];
console.log(JSON.stringify(out));
"""

ROWS = [{"data-status": "error", "data-severity": "high", "text": "WKS01 rule-a error"},
        {"data-status": "fail", "data-severity": "high", "text": "WKS02 rule-b fail"},
        {"data-status": "pass", "data-severity": "high", "text": "WKS03 rule-b pass"},
        {"data-status": "fail", "data-severity": "low", "text": "WKS03 rule-c fail"}]
INPUTS = ([{"name": "status", "value": s, "checked": s in ("error", "fail")}
           for s in ("error", "fail", "pass", "not_applicable", "skipped")]
          + [{"name": "severity", "value": s, "checked": True} for s in ("critical", "high", "medium", "low", "info")])


def run(hash_value):
    program = DOM.replace("ROWS", json.dumps(ROWS)).replace("INPUTS", json.dumps(INPUTS)) \
        .replace("HASH", json.dumps(hash_value)).replace("SCRIPT", SCRIPT)
    result = subprocess.run([NODE, "-e", program], capture_output=True, text=True, check=False, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_view_in_the_url_the_page_shows_errors_and_failures_and_writes_the_view_into_the_url():
    out = run("")
    assert out["js"].strip() == "js"
    assert out["first"] == ["WKS01 rule-a error", "WKS02 rule-b fail", "WKS03 rule-c fail"]
    assert out["url"] == "#status=error%2Cfail&severity=critical%2Chigh%2Cmedium%2Clow%2Cinfo"
    assert out["count"] == "3 of 4 findings, page 1 of 1"


def test_a_shared_view_is_restored_from_the_url_and_follows_the_filters():
    out = run("#status=pass&severity=high&q=wks03")
    assert out["first"] == ["WKS03 rule-b pass"] and out["url"].startswith("#status=pass&severity=high&q=wks03")
    assert out["after"] == ["WKS03 rule-b pass", "WKS03 rule-c fail"], "a host link shows all of the host's findings"
    assert out["boxes"][:5] == ["error", "fail", "pass", "not_applicable", "skipped"]
    assert out["typed"] == ["WKS02 rule-b fail", "WKS03 rule-b pass"] and out["typed_url"].endswith("&q=rule-b")


def test_a_view_the_script_cannot_read_falls_back_to_the_default_view():
    out = run("#status=%E0%A4%A&q=%")
    assert out["first"] == ["WKS01 rule-a error", "WKS02 rule-b fail", "WKS03 rule-c fail"]


def test_the_script_reads_no_json_and_writes_only_text():
    assert "JSON.parse" not in SCRIPT and "innerHTML" not in SCRIPT and "eval(" not in SCRIPT
    assert re.search(r"textContent", SCRIPT)
