"""Key store for `pumpctl provision` / `pumpctl login`: per-pump, per-role HMAC keys.

File: ``$PUMPCTL_KEYS`` if set, else ``~/.config/pumpctl/keys.toml``. One table per pump
serial, one hex key per role::

    ["EMU00001"]
    clinician = "5f0c...64 hex digits"
    patient = "..."

The file holds secrets: it is written with mode 0600 (directory 0700) and a file that
group or others can read is refused, like ssh refuses a readable private key.
Test builds derive the service key (``auth.dev_service_key``); it is never stored.
"""
import os
import re
import stat
import tomllib

from pumpctl.link.client import PumpClientError

ENV = "PUMPCTL_KEYS"
_HEX = re.compile(r"^[0-9a-fA-F]{32,128}$")
_SERIAL = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class KeyStoreError(PumpClientError):
    pass


def default_path():
    env = os.environ.get(ENV)
    if env:
        return env
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "pumpctl", "keys.toml")


def check_key_hex(text):
    """Normalise a key given as hex (16..64 bytes); raise KeyStoreError naming the fix."""
    text = (text or "").strip()
    if not _HEX.match(text) or len(text) % 2:
        raise KeyStoreError("a key must be 32 to 128 hex digits (16 to 64 bytes), got %d characters" % len(text),
                            "pass the key as hex, e.g. the output of: python3 -c 'import secrets; "
                            "print(secrets.token_hex(32))'")
    return text.lower()


class KeyStore:
    def __init__(self, path=None):
        self.path = path or default_path()
        self.data = {}
        self._load()

    def _load(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            # checked first: the mode test below would advise `chmod 600` on a directory such as /tmp
            raise KeyStoreError("key store %s is a directory, not a file" % self.path,
                                "give a file: --keys %s (or unset PUMPCTL_KEYS for the default "
                                "~/.config/pumpctl/keys.toml)" % os.path.join(self.path, "keys.toml"))
        if st.st_mode & 0o077:
            raise KeyStoreError("key file %s is readable by other users (mode %o)" % (self.path, st.st_mode & 0o777),
                                "chmod 600 %s" % self.path)
        try:
            with open(self.path, "rb") as f:
                raw = tomllib.load(f)
        except (tomllib.TOMLDecodeError, OSError) as e:
            raise KeyStoreError("cannot read key file %s: %s" % (self.path, e),
                                "fix or remove the file (keys can be provisioned again)") from e
        for serial, roles in raw.items():
            if isinstance(roles, dict):
                self.data[serial] = {r: check_key_hex(k) for r, k in roles.items() if isinstance(k, str)}

    def get(self, serial, role):
        return self.data.get(serial, {}).get(role)

    def roles(self, serial):
        return sorted(self.data.get(serial, {}))

    def set(self, serial, role, key_hex):
        if not _SERIAL.match(serial):
            raise KeyStoreError("serial %r has characters a key file cannot hold" % serial, "")
        self.data.setdefault(serial, {})[role] = check_key_hex(key_hex)

    def save(self):
        d = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(d, mode=0o700, exist_ok=True)
        lines = ["# pumpctl keys: per pump serial, per role (HMAC-SHA256). Secret: keep mode 0600.", ""]
        for serial in sorted(self.data):
            lines.append('["%s"]' % serial)
            for role in sorted(self.data[serial]):
                lines.append('%s = "%s"' % (role, self.data[serial][role]))
            lines.append("")
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, "\n".join(lines).encode())
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
