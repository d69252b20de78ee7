"""Board pin maps as data. One module per wiring; `main.py` picks one, `hal_pico.PicoHal`
reads only the names defined in `pico.py`. A different wiring is a copy of that file."""
