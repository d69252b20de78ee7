"""Examples shown at the end of every `pumpctl VERB --help` (and in docs/pumpctl.md, generated from the parser).

A verb registered elsewhere gets its examples here, or sets its own epilog starting "examples:".
"""
import argparse

EXAMPLES = {
    None: ["pumpctl ports", "pumpctl --port socket://127.0.0.1:7700 status",
           "PUMPCTL_PORT=/dev/ttyACM0 pumpctl programme examples/night_ramp.toml",
           "pumpctl completion bash > ~/.local/share/bash-completion/completions/pumpctl"],
    "ports": ["pumpctl ports", "pumpctl ports --json"],
    "emulate": ["pumpctl emulate --speed 60", "pumpctl emulate --no-pty --port 7700 --state /tmp/pump",
                "pumpctl emulate --runtime micropython --build clinical"],
    "diagram": ["pumpctl diagram -o states.mmd"],
    "info": ["pumpctl info", "pumpctl info --json"],
    "status": ["pumpctl status", "pumpctl status --json | jq .reservoir_nl"],
    "time": ["pumpctl time", "pumpctl time sync --utc-offset +01:00"],
    "settings": ["pumpctl settings", "pumpctl settings --low-reservoir-ml 2.5",
                 "pumpctl settings --utc-offset=-05:00 --yes"],
    "profile": ["pumpctl profile", "pumpctl profile --indication spinal --age-group adult --phase titration"],
    "login": ["pumpctl login --role clinician", "pumpctl login --role service --key HEX"],
    "provision": ["pumpctl provision", "pumpctl provision --roles clinician,patient,service"],
    "sim": ["pumpctl sim warp 30d", "pumpctl sim fault motor_stall --count 3"],
    "programme": ["pumpctl programme examples/night_ramp.toml", "pumpctl programme rx.toml --dry-run",
                  "pumpctl programme rx.toml --yes --json"],
    "refill": ["pumpctl refill --withdrawn-ml 11.9 --added-ml 20", "pumpctl refill --withdrawn-ml 0 --added-ml 20 "
               "--conc 2000 --dry-run", "pumpctl refill --withdrawn-ml 2 --added-ml 0 --empty-reservoir"],
    "bolus": ["pumpctl bolus --dose-mcg 50 --minutes 30", "pumpctl bolus --prime", "pumpctl bolus --cancel"],
    "stop": ["pumpctl stop"],
    "resume": ["pumpctl resume"],
    "alarms": ["pumpctl alarms", "pumpctl alarms clear low_reservoir", "pumpctl alarms silence --minutes 30"],
    "log": ["pumpctl log --last 20", "pumpctl log --csv > pump-log.csv", "pumpctl log --first 100 --json"],
    "plot": ["pumpctl plot -o pump.png"],
    "report": ["pumpctl report -o visit.html", "pumpctl report -o visit.html --pdf visit.pdf --paper a4",
               "pumpctl report --since 4h --json"],
    "completion": ["pumpctl completion bash > ~/.local/share/bash-completion/completions/pumpctl",
                   "pumpctl completion zsh > ~/.zfunc/_pumpctl"],
    "screening": ["pumpctl screening --result 50:neg --result 75:pos:10"],
    "initial-dose": ["pumpctl initial-dose --screening-dose 75 --effect-hours 10"],
    "night-flex": ["pumpctl night-flex --base 500", "pumpctl night-flex --base 500 --increase-pct 15 --effect 21:00"],
    "refill-plan": ["pumpctl refill-plan --prescription examples/night_ramp.toml --reservoir-ml 18"],
    "concentration": ["pumpctl concentration --daily 100 --interval-days 60"],
    "dilution": ["pumpctl dilution --target 1000 --volume-ml 20"],
    "taper": ["pumpctl taper --daily 400 --indication spinal --days 21"],
    "druglib": ["pumpctl druglib", "pumpctl druglib --indication spinal --json"],
    "withdrawal-restore": ["pumpctl withdrawal-restore --previous 600 --current 100 --indication spinal"],
}


def epilog(verb):
    lines = EXAMPLES.get(verb)
    if not lines:
        return None
    return "examples:\n" + "\n".join("  " + x for x in lines)


def verbs(parser):
    """{name: subparser} of pumpctl's verbs, in registration order."""
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def attach(parser):
    """Put the examples into every verb's --help (keeps an epilog a verb already has)."""
    # keep the parser's own epilog (main names the installed docs/pumpctl.md via docpath)
    parser.epilog = epilog(None) + ("\n\n" + parser.epilog if parser.epilog else "")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for name, sp in verbs(parser).items():
        ex = epilog(name)
        if ex and not (sp.epilog or "").startswith("examples:"):
            sp.epilog = ex + ("\n\n" + sp.epilog if sp.epilog else "")
            sp.formatter_class = argparse.RawDescriptionHelpFormatter
