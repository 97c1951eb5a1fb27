"""Renderers of the readiness report: JSON, Markdown, self-contained HTML, JUnit XML and console lines."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.console import render_console
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.html import render_html
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.json_text import render_json_chunks
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.junit import render_junit, render_junit_pieces
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.markdown import render_markdown

__all__ = ["render_console", "render_html", "render_json_chunks", "render_junit", "render_junit_pieces", "render_markdown"]
