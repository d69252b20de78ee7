"""Strict RFC 8259 check of a frame's JSON bytes, run before json.loads on both runtimes.

Issue 8, defect 4: MicroPython's json.loads accepts text CPython refuses (`{"x",1}`, `00012`,
`840 97`, `"id"::7`, trailing commas, raw control characters, bad escapes, ...), so the same
frame was executed by one runtime and refused by the other. This check decides alone which
bytes are a frame; json.loads then only ever sees text both runtimes read the same way.

Accepted: RFC 8259 JSON (whitespace: space, tab, CR, LF) with these documented restrictions:
- numbers are integers only (no fraction, no exponent; the protocol has no floats) of at most
  MAX_NUMBER_CHARS characters (CPython refuses ints over 4300 digits, MicroPython does not);
- \\u escapes of surrogates only as a high+low pair (a lone one is not a character); UTF-8
  must be well formed (Unicode table 3-7: no overlong forms, no encoded surrogates). Note:
  MicroPython keeps an escaped pair as two surrogate characters where CPython joins them
  into one; canonical_json writes both back as the same pair (so MACs agree), and every
  text argument refuses characters outside U+0020..U+FFFF (argspec), so no handler sees
  the difference;
- nesting at most `max_depth` brackets, checked as the bytes arrive (no recursion at all);
- duplicate object keys are refused: `scan()` counts the members written, and the
  caller compares with the members json.loads kept (protocol.decode_line).
Iterative, one pass, O(n) in the line length (<= protocol.MAX_LINE).
"""

MAX_NUMBER_CHARS = 20   # -2**63 has 20 characters; pump values are far smaller

_VALUE, _AFTER, _KEY, _COLON, _KEY_OR_END, _VALUE_OR_END = 0, 1, 2, 3, 4, 5
_WS = b" \t\r\n"
_ESC = b'"\\/bfnrt'
_HEXD = b"0123456789abcdefABCDEF"


def _string(b, i, n):
    """b[i] is the opening quote; index after the closing quote, or a str saying what is wrong."""
    # Fast path (most strings): printable ASCII, no escape; min/max run in C on both runtimes.
    j = b.find(b'"', i + 1)
    if j > i:
        seg = b[i + 1:j]
        if not seg or (b"\\" not in seg and min(seg) >= 0x20 and max(seg) < 0x80):
            return j + 1
    i += 1
    while i < n:
        c = b[i]
        if c == 34:  # "
            return i + 1
        if c == 92:  # backslash
            if i + 1 >= n:
                break
            e = b[i + 1]
            if e == 117:  # u
                h = b[i + 2:i + 6]
                if len(h) != 4:
                    return "short \\u escape"
                for d in h:
                    if d not in _HEXD:
                        return "bad \\u escape"
                v = int(h.decode(), 16)
                if 0xDC00 <= v <= 0xDFFF:
                    return "lone surrogate escape"
                if 0xD800 <= v <= 0xDBFF:
                    # only as a pair: "\\uD8xx\\uDCxx" (a character above U+FFFF)
                    h = b[i + 6:i + 12]
                    if len(h) != 6 or h[0] != 92 or h[1] != 117:
                        return "lone surrogate escape"
                    for d in h[2:]:
                        if d not in _HEXD:
                            return "bad \\u escape"
                    if not 0xDC00 <= int(h[2:].decode(), 16) <= 0xDFFF:
                        return "lone surrogate escape"
                    i += 6
                i += 6
            elif e in _ESC:
                i += 2
            else:
                return "bad escape \\%s" % chr(e) if 32 < e < 127 else "bad escape"
        elif c < 0x20:
            return "raw control character in a string"
        elif c < 0x80:
            i += 1
        else:
            # Well-formed UTF-8 up to U+FFFF (Unicode 15, table 3-7), no surrogates.
            if 0xC2 <= c <= 0xDF:
                k, lo, hi = 1, 0x80, 0xBF
            elif c == 0xE0:
                k, lo, hi = 2, 0xA0, 0xBF
            elif c == 0xED:
                k, lo, hi = 2, 0x80, 0x9F
            elif 0xE1 <= c <= 0xEF:
                k, lo, hi = 2, 0x80, 0xBF
            elif c == 0xF0:
                k, lo, hi = 3, 0x90, 0xBF
            elif 0xF1 <= c <= 0xF3:
                k, lo, hi = 3, 0x80, 0xBF
            elif c == 0xF4:
                k, lo, hi = 3, 0x80, 0x8F
            else:
                return "bad UTF-8"
            if i + k >= n or not lo <= b[i + 1] <= hi:
                return "bad UTF-8"
            for j in range(i + 2, i + k + 1):
                if not 0x80 <= b[j] <= 0xBF:
                    return "bad UTF-8"
            i += k + 1
    return "unterminated string"


def _number(b, i, n):
    j = i
    if b[j] == 45:  # -
        j += 1
    if j >= n or not 48 <= b[j] <= 57:
        return "bad number"
    if b[j] == 48:
        j += 1
        if j < n and 48 <= b[j] <= 57:
            return "leading zero"
    else:
        while j < n and 48 <= b[j] <= 57:
            j += 1
    if j < n and b[j] in b".eE":
        return "not an integer (no floats)"
    if j - i > MAX_NUMBER_CHARS:
        return "number longer than %d characters" % MAX_NUMBER_CHARS
    return j


def scan(b, max_depth):
    """Object members written in bytes `b` (all objects together) if `b` is one acceptable
    JSON value, else a short reason (str) naming what is wrong and where."""
    n = len(b)
    stack = bytearray(max_depth)   # open brackets (MicroPython's bytearray has no pop)
    depth = 0
    state = _VALUE
    count = 0
    i = 0
    while True:
        while i < n and b[i] in _WS:
            i += 1
        if i >= n:
            break
        c = b[i]
        if state == _AFTER:
            if not depth:
                return "data after the value"
            top = stack[depth - 1]
            if c == 44:  # ,
                state = _KEY if top == 123 else _VALUE
                i += 1
            elif (c == 125 and top == 123) or (c == 93 and top == 91):
                depth -= 1
                i += 1
            else:
                return "expected , or a closing bracket at byte %d" % i
        elif state == _KEY or state == _KEY_OR_END:
            if c == 34:
                r = _string(b, i, n)
                if type(r) is str:
                    return r
                i = r
                count += 1
                state = _COLON
            elif c == 125 and state == _KEY_OR_END:
                depth -= 1
                i += 1
                state = _AFTER
            else:
                return "expected a string key at byte %d" % i
        elif state == _COLON:
            if c != 58:
                return "expected : at byte %d" % i
            i += 1
            state = _VALUE
        else:  # a value (or, right after "[", the closing bracket)
            if c == 93 and state == _VALUE_OR_END:
                depth -= 1
                i += 1
                state = _AFTER
                continue
            if c == 123 or c == 91:
                if depth >= max_depth:
                    return "nesting deeper than %d" % max_depth
                stack[depth] = c
                depth += 1
                i += 1
                state = _KEY_OR_END if c == 123 else _VALUE_OR_END
                continue
            if c == 34:
                r = _string(b, i, n)
            elif c == 45 or 48 <= c <= 57:
                r = _number(b, i, n)
            elif b[i:i + 4] == b"true" or b[i:i + 4] == b"null":
                r = i + 4
            elif b[i:i + 5] == b"false":
                r = i + 5
            else:
                return "not a JSON value at byte %d" % i
            if type(r) is str:
                return r
            i = r
            state = _AFTER
    if depth or state != _AFTER:
        return "incomplete JSON"
    return count


def count_members(obj):
    """Members of every object in a parsed value (iterative; depth already bounded)."""
    total = 0
    todo = [obj]
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            total += len(v)
            for k in v:
                todo.append(v[k])
        elif isinstance(v, list):
            for x in v:
                todo.append(x)
    return total
