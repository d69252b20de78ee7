"""Issue 10, defect 16 and the capabilities: the verb reference in docs/pumpctl.md is generated from the parser
(stale -> this test fails), every --help ends with examples, and shell completion comes from the same parser and
works in a real bash."""
import os
import shutil
import subprocess
import sys

import pytest

from cli_helpers import REPO, run

GEN = os.path.join(REPO, "tools", "gen_pumpctl_doc.py")


def _verbs():
    from pumpctl.cli.examples import verbs
    from pumpctl.cli.main import build_parser

    return verbs(build_parser())


@pytest.mark.req("PUMPCTL-DOCS")
def test_verb_reference_in_docs_is_current():
    r = subprocess.run([sys.executable, GEN, "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.req("PUMPCTL-DOCS")
def test_doc_checker_detects_a_missing_verb(tmp_path, monkeypatch):
    """The checker can fail: a doc with one verb's section removed is reported stale."""
    sys.path.insert(0, os.path.join(REPO, "tools"))
    import gen_pumpctl_doc as g

    with open(g.DOC) as f:
        text = f.read()
    broken = text.replace("### pumpctl refill\n", "### pumpctl refil\n", 1)
    assert broken != text and g.render(broken) != broken and g.render(text) == text


@pytest.mark.req("PUMPCTL-DOCS")
def test_docs_mention_every_verb_and_the_tty_override():
    with open(os.path.join(REPO, "docs", "pumpctl.md")) as f:
        doc = f.read()
    assert [v for v in _verbs() if "### pumpctl %s\n" % v not in doc] == []
    assert "PUMPCTL_ASSUME_TTY" in doc


@pytest.mark.req("PUMPCTL-HELP")
def test_every_help_ends_with_examples():
    missing = [v for v, sp in _verbs().items() if "examples:\n  pumpctl " not in sp.format_help()]
    assert missing == []


@pytest.mark.req("PUMPCTL-COMPLETION")
@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_completes_verbs_options_and_choices():
    script = run(["completion", "bash"])
    assert script.rc == 0

    def complete(words):
        line = "pumpctl " + words
        cw = line.split(" ")
        prog = script.out + '\nCOMP_WORDS=(%s); COMP_CWORD=%d; _pumpctl; printf "%%s\\n" "${COMPREPLY[@]}"\n' % (
            " ".join("'%s'" % w for w in cw), len(cw) - 1)
        r = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return set(r.stdout.split())

    assert {"refill", "resume"} <= complete("re")
    assert complete("refill --dr") == {"--dry-run"}
    assert complete("alarms cl") == {"clear"}
    assert complete("profile --indication sp") == {"spinal"}
    assert "socket://" in complete("status --port ")


def test_zsh_completion_is_generated():
    r = run(["completion", "zsh"])
    assert r.rc == 0 and r.out.startswith("#compdef pumpctl") and "withdrawal-restore" in r.out
