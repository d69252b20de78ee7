"""argparse value types shared by the verbs: strict, with the reason in the message."""
import argparse


def positive_seconds(text):
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of seconds" % text) from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError("%r: give a number of seconds above 0, e.g. 2 or 0.5" % text)
    return v


def count(lo):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None
        if v < lo:
            raise argparse.ArgumentTypeError("%d: must be %d or more" % (v, lo))
        return v

    parse.__name__ = "count"
    return parse
