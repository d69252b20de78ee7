"""pumpctl verbs that read (and manage alarms): alarms, log, plot."""
import csv
import os

from pumpctl import fwpath

from pumpctl.cli import render
from pumpctl.cli.argtypes import count

fwpath.ensure()
from eventlog import ARGS as LOG_ARGS  # noqa: E402  (firmware module: meaning of a/b per code)
from argspec import LOG_PAGE  # noqa: E402  (entries per log_read reply)

LOG_FIELDS = ["seq", "t_s", "time", "event", "a", "b", "data"]


def cmd_alarms(ctx):
    act = ctx.args.action
    _check_alarm_names(act, ctx.args.names)
    s = ctx.session()
    if act == "list":
        res = s.request("alarms_list")
        ctx.emit(res, lambda: _alarm_table(ctx, res))
        return 0
    if act == "clear":
        s.ensure_role("clinician")
        res = s.request("alarms_clear", {"names": ctx.args.names} if ctx.args.names else {})
        ctx.emit(res, lambda: ctx.out.write("cleared: %s; kept (cause persists): %s; state %s\n" % (
            ", ".join(res["cleared"]) or "none", ", ".join(res["kept"]) or "none", res["state"])))
        return 0
    if act == "silence":
        s.ensure_role("clinician", "patient")
        res = s.request("alarms_silence", {"duration_min": ctx.args.minutes})
        ctx.emit(res, lambda: ctx.out.write("alarm tones silenced until %s UTC (alarms stay active)\n" % (
            render.local(res["silenced_until_t_s"]))))
        return 0
    s.ensure_role("clinician")
    res = s.request("alarms_test")
    ctx.emit(res, lambda: ctx.out.write("sounded the alarm tones: %s\n" % ", ".join(res["tones"])))
    return 0


def _check_alarm_names(act, names):
    """Names checked against the pump's own schema (argspec.ALARM_NAMES) before connecting: a typo used to
    clear nothing and exit 0."""
    from pumpctl.cli.errors import UsageError

    fwpath.ensure()
    from argspec import ALARM_NAMES

    if names and act != "clear":
        raise UsageError("alarm names go with 'alarms clear' only, not %r" % act, "pumpctl alarms clear NAME ...")
    bad = [n for n in names or () if n not in ALARM_NAMES]
    if bad:
        import difflib

        hint = difflib.get_close_matches(bad[0], ALARM_NAMES, 1)
        raise UsageError("unknown alarm %s%s" % (", ".join(repr(b) for b in bad),
                                                 " (did you mean %r?)" % hint[0] if hint else ""),
                         "alarm names: %s (pumpctl alarms lists the active ones)" % ", ".join(ALARM_NAMES))


def _alarm_table(ctx, res):
    rows = []
    for a in res["alarms"]:
        if isinstance(a, dict):
            rows.append([a.get("name", "?"), a.get("class", ""), render.local(a.get("raised_t_s")), a.get("id", "")])
        else:
            rows.append([str(a), "", "", ""])
    if not rows:
        ctx.out.write("no active alarms\n")
        return
    render.table(rows, ["alarm", "class", "raised (UTC)", "id"], ctx.out)


def _entry(e):
    seq, t_s, name, a, b = e
    names = LOG_ARGS.get(name, ())
    data = {}
    for k, v in zip(names, (a, b)):
        data[k] = v
    return {"seq": seq, "t_s": t_s, "time": render.iso(t_s), "event": name, "a": a, "b": b, "data": data}


def download_log(s, first=None, last_n=None, progress=None):
    """All entries (or the last `last_n`, or from seq `first`) via log_read pages."""
    head = s.request("log_read", {"first_seq": 0x3FFFFFFF, "max_n": 1})
    lo, hi = head.get("first_seq", 0), head.get("last_seq", 0)
    if hi == 0:
        return [], head
    start = lo
    if first is not None:
        start = max(lo, first)
    if last_n is not None:
        start = max(start, hi - last_n + 1)
    total = hi - start + 1
    out = []
    seq = start
    while seq <= hi:
        page = s.request("log_read", {"first_seq": seq, "max_n": LOG_PAGE})
        entries = page.get("entries", [])
        if not entries:
            break
        out.extend(entries)
        seq = entries[-1][0] + 1
        if progress:
            progress(min(len(out), total), total)
    return out, head


class Progress:
    """A text progress bar on stderr: [#####.....] 120/1000 entries."""

    def __init__(self, stream, width=30):
        self.stream = stream
        self.width = width
        self.shown = False

    def __call__(self, done, total):
        n = self.width * done // total if total else self.width
        self.stream.write("\r[%s%s] %d/%d entries" % ("#" * n, "." * (self.width - n), done, total))
        self.stream.flush()
        self.shown = True

    def end(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def cmd_log(ctx):
    a = ctx.args
    s = ctx.session()
    s.ensure_role("clinician", "service")
    show = a.progress or (hasattr(ctx.err, "isatty") and ctx.err.isatty())
    bar = Progress(ctx.err) if show and not a.quiet else None
    try:
        raw, head = download_log(s, a.first, a.last, bar)
    finally:
        if bar:
            bar.end()
    entries = [_entry(e) for e in raw]
    if ctx.json:
        render.dump_json({"serial": s.serial, "first_seq": head.get("first_seq"), "last_seq": head.get("last_seq"),
                          "entries": entries}, ctx.out)
    elif a.csv:
        w = csv.writer(ctx.out, lineterminator="\n")
        w.writerow(LOG_FIELDS[:-1] + ["a_name", "b_name"])
        for e in entries:
            names = list(LOG_ARGS.get(e["event"], ())) + ["", ""]
            w.writerow([e["seq"], e["t_s"], e["time"], e["event"], e["a"], e["b"], names[0], names[1]])
    else:
        rows = [[e["seq"], render.local(e["t_s"], 0, True), e["event"],
                 ", ".join("%s=%s" % kv for kv in e["data"].items()) or ("%s, %s" % (e["a"], e["b"]))]
                for e in entries]
        render.table(rows, ["seq", "time (UTC)", "event", "data"], ctx.out)
    return 0


def cmd_plot(ctx):
    from pumpctl.cli import plot

    plot.need_matplotlib()  # before talking to the pump
    out = ctx.args.output
    d = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(d):
        from pumpctl.cli.errors import UsageError

        raise UsageError("cannot write %s: directory %s does not exist" % (out, d),
                         "create it (mkdir -p %s) or choose another -o FILE.png" % d)
    s = ctx.session()
    prog = s.request("programme_get")
    st = s.request("status")
    sett = s.request("settings_get")
    if not prog.get("programme"):
        from pumpctl.cli.errors import Refused

        raise Refused("pump %s has no programme to plot" % s.serial, "programme it first: pumpctl programme FILE")
    try:
        info = plot.render_png(out, prog, st, sett, title="pump %s" % s.serial)
    except OSError as e:
        from pumpctl.cli.errors import UsageError

        raise UsageError("cannot write %s: %s" % (out, e.strerror or e), "choose a writable -o FILE.png") from None
    info["serial"] = s.serial
    ctx.emit(info, lambda: ctx.out.write("wrote %s\n" % ctx.args.output))
    return 0


def add_verbs(verb):
    sp = verb("alarms", cmd_alarms, "list, clear, silence or test alarms", json=True)
    sp.add_argument("action", choices=("list", "clear", "silence", "test"), nargs="?", default="list")
    sp.add_argument("names", nargs="*", help="with clear: alarm names (default all)")
    sp.add_argument("--minutes", type=int, default=60, help="with silence: 1..1440 (default 60)")
    sp = verb("log", cmd_log, "download the pump's event log (table, --csv, --json)", json=True)
    sp.add_argument("--csv", action="store_true", help="CSV on stdout")
    sp.add_argument("--first", type=count(0), metavar="SEQ", help="from this sequence number")
    sp.add_argument("--last", type=count(1), metavar="N", help="only the last N entries (N >= 1)")
    sp.add_argument("--progress", action="store_true", help="progress bar on stderr even if not a terminal")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp = verb("plot", cmd_plot, "PNG: programmed rate over 24 h and reservoir forecast", json=True)
    sp.add_argument("-o", "--output", default="pump.png", help="PNG file (default pump.png)")
