"""PDF from the report's HTML with headless Chromium (--print-to-pdf), when Chromium is installed.

Chromium is found as $PUMPCTL_CHROMIUM, else `chromium`, `chromium-browser`, `google-chrome` on PATH.
It runs with a fresh profile directory, no network services and no sandbox (containers and CI
run as root); it only ever opens the local report file.
"""
import os
import shutil
import subprocess
import tempfile

from pumpctl.cli.errors import Refused

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--no-default-browser-check", "--mute-audio"]
TIMEOUT_S = 90


def find_chromium():
    env = os.environ.get("PUMPCTL_CHROMIUM")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    for n in NAMES:
        p = shutil.which(n)
        if p:
            return p
    return None


def need_chromium():
    exe = find_chromium()
    if exe is None:
        raise Refused("PDF output needs Chromium, which is not installed here",
                      "install it (Debian/Ubuntu: sudo apt-get install chromium) or set PUMPCTL_CHROMIUM to the "
                      "browser binary; or print the HTML report from any browser")
    return exe


def run(args, timeout_s=TIMEOUT_S):
    """Run Chromium headless with the report flags and a throw-away profile; returns CompletedProcess."""
    exe = need_chromium()
    with tempfile.TemporaryDirectory(prefix="pumpctl-chromium-") as prof:
        cmd = [exe] + FLAGS + ["--user-data-dir=%s" % prof] + list(args)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Refused("Chromium did not finish within %d s" % timeout_s,
                          "retry; if it hangs again, print the HTML report from a browser") from None


def html_to_pdf(html_path, pdf_path):
    url = "file://" + os.path.abspath(html_path)
    r = run(["--no-pdf-header-footer", "--print-to-pdf=%s" % os.path.abspath(pdf_path), url])
    if r.returncode != 0 or not os.path.isfile(pdf_path) or os.path.getsize(pdf_path) == 0:
        raise Refused("Chromium could not print %s to PDF (exit %d): %s" % (html_path, r.returncode,
                                                                            (r.stderr or "").strip()[-300:]),
                      "check that %s is writable; or print the HTML report from a browser" % pdf_path)
    return pdf_path
