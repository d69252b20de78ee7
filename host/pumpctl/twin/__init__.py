"""The board twin (issue 9): the flashed Pico image (`make firmware` output) running unchanged on
native MicroPython against an independent pump plant. launcher.py (host side) starts it;
board/ holds what runs inside MicroPython (simulated machine/time/select, littlefs block device,
plant, boot)."""
