"""`pumpctl completion bash|zsh`: a shell completion script generated from the parser itself (verbs, their
options and choices), so it cannot drift. Ports complete from /dev/tty{ACM,USB}* and the URL schemes."""
import argparse

from pumpctl.cli.examples import verbs

PORT_WORDS = "socket:// rfc2217:// loop:// spy://"


def _opts(p):
    out, choices = [], {}
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            continue
        for o in a.option_strings:
            out.append(o)
            if a.choices:
                choices[o] = [str(c) for c in a.choices]
        if not a.option_strings and a.choices and not isinstance(a.choices, dict):
            choices[""] = choices.get("", []) + [str(c) for c in a.choices]
    return out, choices


def model(parser):
    """{verb: {"options": [...], "choices": {option or "" (positional): [...]}, "sub": [...]}} plus "" for globals."""
    top, _ = _opts(parser)
    m = {"": {"options": top, "choices": {}, "sub": []}}
    for name, sp in verbs(parser).items():
        opts, ch = _opts(sp)
        sub = list(verbs(sp))
        for sname, ssp in verbs(sp).items():
            so, sc = _opts(ssp)
            opts = opts + [o for o in so if o not in opts]
            ch.update(sc)
        m[name] = {"options": sorted(set(opts)), "choices": ch, "sub": sub}
    return m


def bash(parser):
    m = model(parser)
    verbs_ = " ".join(k for k in m if k)
    cases = []
    for v, d in m.items():
        if not v:
            continue
        words = " ".join(d["options"] + d["sub"] + d["choices"].get("", []))
        opt_cases = "".join('            %s) COMPREPLY=($(compgen -W "%s" -- "$cur")); return;;\n'
                            % (o, " ".join(c)) for o, c in sorted(d["choices"].items()) if o)
        cases.append('        %s)\n            case "$prev" in\n%s            esac\n'
                     '            COMPREPLY=($(compgen -W "%s" -- "$cur"));;\n' % (v, opt_cases, words))
    return """# bash completion for pumpctl (generated: pumpctl completion bash)
_pumpctl() {
    local cur prev verb i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [ "$prev" = "--port" ]; then
        COMPREPLY=($(compgen -W "$(ls /dev/ttyACM* /dev/ttyUSB* 2>/dev/null) %s ${PUMPCTL_PORT}" -- "$cur"))
        return
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -*) ;;
            *) verb="${COMP_WORDS[i]}"; break;;
        esac
    done
    if [ -z "$verb" ]; then
        COMPREPLY=($(compgen -W "%s %s" -- "$cur"))
        return
    fi
    case "$verb" in
%s    esac
}
complete -o default -F _pumpctl pumpctl
""" % (PORT_WORDS, verbs_, " ".join(m[""]["options"]), "".join(cases))


def zsh(parser):
    m = model(parser)
    lines = ["#compdef pumpctl", "# zsh completion for pumpctl (generated: pumpctl completion zsh)",
             "_pumpctl() {", "  local -a verbs", "  verbs=(%s)" % " ".join(k for k in m if k),
             "  if [[ $words[CURRENT-1] == --port ]]; then",
             "    compadd -- /dev/ttyACM*(N) /dev/ttyUSB*(N) %s" % PORT_WORDS, "    return", "  fi",
             "  if (( CURRENT == 2 )); then", "    compadd -- $verbs %s" % " ".join(m[""]["options"]), "    return",
             "  fi", "  case $words[2] in"]
    for v, d in m.items():
        if v:
            lines.append("    %s) compadd -- %s;;" % (v, " ".join(d["options"] + d["sub"] + d["choices"].get("", []))))
    lines += ["  esac", "}", 'compdef _pumpctl pumpctl', ""]
    return "\n".join(lines)


def cmd_completion(ctx):
    p = ctx.parser  # the parser main() built (no import of cli.main: keeps the rooms cycle-free)
    ctx.out.write(bash(p) if ctx.args.shell == "bash" else zsh(p))
    return 0


def add_verbs(verb):
    sp = verb("completion", cmd_completion, "print a shell completion script (verbs, options, ports)", port=False)
    sp.add_argument("shell", choices=("bash", "zsh"))
