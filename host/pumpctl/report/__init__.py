"""The session report a clinician files (issue 11): `pumpctl report` (docs/report.md).

gather.py interrogates the pump into one dict (also the --json), html.py renders it as one
self-contained printable HTML file (svg.py draws the charts inline), pdf.py prints it with
headless Chromium, verb.py is the CLI verb registered by pumpctl.cli.main.
"""
