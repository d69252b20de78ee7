"""The emulator: a pump on a pty and TCP, and the runtimes it drives (CPython, MicroPython)."""
