"""Renderers: pure ``format_*`` functions from a Report to text or JSON.

Every renderer passes its result through the report's redactor before
returning it, so nothing that leaves the program can carry a secret.
"""

from smtpprobe.render.json import SCHEMA, format_json, report_to_dict
from smtpprobe.render.text import format_text

__all__ = ["SCHEMA", "format_json", "format_text", "report_to_dict"]
