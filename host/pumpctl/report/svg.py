"""Inline SVG line charts for the session report: no plotting library, no network, prints crisply.

Coordinates are floats for drawing only; the values plotted are the firmware's own curves
(cli/plot.py) and every figure a clinician reads is printed in the tables next to the chart.
"""
from html import escape

W, H = 680, 230           # viewBox units; the chart scales to the page width
L, R, T, B = 58, 40, 14, 40  # margins for the axes' labels


def _fmt(v):
    return ("%.2f" % v).rstrip("0").rstrip(".")


def chart(series, x_range, y_range, x_ticks, y_ticks, y_label, bands=(), hlines=(), vlines=(), points=(), title=""):
    """series: [(points [(x, y)], colour, label)]; ticks: [(value, text)]; bands: [(x0, x1, colour, label)];
    hlines: [(y, colour, label)]; vlines: [(x, colour, label)]; points: [(x, y, colour, label)]."""
    x0, x1 = x_range
    y0, y1 = y_range
    pw, ph = W - L - R, H - T - B

    def X(x):
        return L + (x - x0) * pw / ((x1 - x0) or 1)

    def Y(y):
        return T + ph - (y - y0) * ph / ((y1 - y0) or 1)

    o = ['<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">'
         % (W, H, escape(title))]
    for a, b, col, _lab in bands:
        o.append('<rect x="%s" y="%d" width="%s" height="%d" fill="%s" opacity="0.22"/>'
                 % (_fmt(X(a)), T, _fmt(X(b) - X(a)), ph, col))
    for v, text in y_ticks:
        o.append('<line x1="%d" x2="%d" y1="%s" y2="%s" class="grid"/>' % (L, L + pw, _fmt(Y(v)), _fmt(Y(v))))
        o.append('<text x="%d" y="%s" class="tick" text-anchor="end">%s</text>' % (L - 6, _fmt(Y(v) + 4), escape(text)))
    for v, text in x_ticks:
        o.append('<line x1="%s" x2="%s" y1="%d" y2="%d" class="grid"/>' % (_fmt(X(v)), _fmt(X(v)), T, T + ph))
        o.append('<text x="%s" y="%d" class="tick" text-anchor="middle">%s</text>'
                 % (_fmt(X(v)), T + ph + 16, escape(text)))
    o.append('<rect x="%d" y="%d" width="%d" height="%d" class="frame"/>' % (L, T, pw, ph))
    o.append('<text x="14" y="%s" class="axis" transform="rotate(-90 14 %s)" text-anchor="middle">%s</text>'
             % (_fmt(T + ph / 2), _fmt(T + ph / 2), escape(y_label)))
    for y, col, _lab in hlines:
        o.append('<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s" stroke-dasharray="6 4" stroke-width="1.4"/>'
                 % (L, L + pw, _fmt(Y(y)), _fmt(Y(y)), col))
    for x, col, _lab in vlines:
        o.append('<line x1="%s" x2="%s" y1="%d" y2="%d" stroke="%s" stroke-width="1.6"/>'
                 % (_fmt(X(x)), _fmt(X(x)), T, T + ph, col))
    for pts, col, _lab in series:
        d = " ".join("%s,%s" % (_fmt(X(x)), _fmt(Y(y))) for x, y in pts)
        o.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2.2" stroke-linejoin="round"/>'
                 % (d, col))
    for x, y, col, _lab in points:
        o.append('<circle cx="%s" cy="%s" r="4" fill="%s"/>' % (_fmt(X(x)), _fmt(Y(y)), col))
    o.append("</svg>")
    legend = [(c, lab, "line") for _p, c, lab in series] + [(c, lab, "band") for _a, _b, c, lab in bands[:1]] + \
        [(c, lab, "dash") for _y, c, lab in hlines] + [(c, lab, "line") for _x, c, lab in vlines]
    items = "".join('<span class="key"><i class="%s" style="border-color:%s;background:%s"></i>%s</span>'
                    % (kind, c, c if kind == "band" else "transparent", escape(lab)) for c, lab, kind in legend if lab)
    return "".join(o) + '<div class="legend">%s</div>' % items


def nice_top(v):
    """A round axis maximum >= v (1, 2, 2.5, 5 x 10^n)."""
    if v <= 0:
        return 1
    m = 1
    while m * 10 <= v:
        m *= 10
    for k in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if k * m >= v:
            return k * m
    return 10 * m
