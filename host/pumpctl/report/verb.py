"""`pumpctl report`: interrogate the pump, write the session report (HTML, optional PDF, --json)."""
import json
import os

from pumpctl.cli import render
from pumpctl.cli.errors import Refused
from pumpctl.report import gather, html, pdf


def default_name(rep):
    when = render.local(rep["clock"]["pump_t_s"], rep["clock"]["utc_offset_s"]).replace("-", "").replace(":", "")
    return "report-%s-%s.html" % (rep["pump"]["serial"], when.replace(" ", "-"))


def _load_record(path):
    try:
        with open(path) as f:
            obj = json.load(f)
    except OSError as e:
        raise Refused("cannot read the refill record %s: %s" % (path, e.strerror),
                      "give the file written by: pumpctl refill ... --json > FILE") from None
    except ValueError as e:
        raise Refused("refill record %s is not JSON (%s)" % (path, e),
                      "give the file written by: pumpctl refill ... --json > FILE") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("staged", obj), dict):
        raise Refused("refill record %s is not a pumpctl refill --json output" % path,
                      "give the file written by: pumpctl refill ... --json > FILE")
    return obj


def _write(path, text):
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise Refused("cannot write %s: directory %s does not exist" % (path, d), "create it or choose another -o")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise Refused("cannot write %s: %s" % (path, e.strerror), "choose a writable path with -o") from None


def cmd_report(ctx):
    a = ctx.args
    record = _load_record(a.refill_record) if a.refill_record else None
    if a.pdf:
        pdf.need_chromium()  # fail before talking to the pump
    s = ctx.session()
    rep = gather.gather(s, since=a.since, refill_record=record)
    out = a.output or default_name(rep)
    _write(out, html.render_html(rep, a.paper))
    files = {"html": out}
    if a.pdf:
        files["pdf"] = pdf.html_to_pdf(out, a.pdf)
    rep["files"] = files
    ctx.emit(rep, lambda: ctx.out.write("wrote %s\n" % ", ".join(files.values())))
    return 0


def add_verbs(verb):
    sp = verb("report", cmd_report, "session report for the chart: one printable HTML file (and PDF), "
              "or --json", json=True)
    sp.add_argument("-o", "--output", help="HTML file (default report-SERIAL-YYYYMMDD-HHMM.html)")
    sp.add_argument("--pdf", metavar="FILE", help="also print to this PDF (needs Chromium)")
    sp.add_argument("--paper", choices=sorted(html.PAPER), help="page size for printing and --pdf "
                    "(default: the browser's or printer's; Chromium's PDF default is letter)")
    sp.add_argument("--since", help="session start: ISO time, a duration (4h, 90m, 2d) or 'all' "
                    "(default: 00:00 pump local time today)")
    sp.add_argument("--refill-record", metavar="FILE",
                    help="older firmware only: output of 'pumpctl refill --json' for expected vs "
                    "withdrawn (current firmware logs them; its log wins)")
