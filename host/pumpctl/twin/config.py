"""The twin's bench: wiring and mechanism, as data the plant reads (board/plant.py).

Written from the bench wiring in docs/board.md, NOT imported from firmware/boards/pico.py: the
plant must not take its physics from the code under test. tests/host/test_twin.py checks that
the two tables agree, so a wiring change on one side only is caught.
"""
WIRING = {
    "step": 2, "dir": 3, "enable": 4, "stall": 5,      # GP2..GP5 to the stepper driver
    "buzzer": 15, "led": 25,                             # GP15 PWM buzzer, on-board LED (GP25)
    "vsys_adc_channel": 3,                               # VSYS/3 on ADC3 (GPIO29)
    "enable_active": 0,                                  # A4988/DRV8825 /ENABLE is active low
    "dir_forward": 1,
    "stall_active": 0,                                   # open-drain nFAULT, pulled up
}
# One pump stroke = one turn of a 1.8 deg motor at full step: 200 steps; 250 nL per stroke
# (the mechanism's nominal displacement).
MECHANISM = {"steps_per_stroke": 200, "stroke_nl": 250, "error_systematic_ppm": 0, "error_random_ppm": 0,
             "seed": 1}
# A fresh cell: above battery.py's CELL_FULL_MV (3200). At exactly 3200 mV the Pico's 12-bit VSYS/3
# reading comes back as 3197 mV (quantisation), the pump then reads 0.5 % of charge as gone and raises
# ERI early: a real-board effect the twin shows (docs/board.md).
BATTERY_MV = 3300
RESERVOIR_NL = 0          # the pump leaves the factory empty; refills add drug
PICO_BLOCKS = 352         # rp2 Pico: 1408 KiB filesystem = 352 x 4 KiB blocks
PICO_HEAP_BYTES = 194560  # ~190 KB of heap on a Pico (issue 9); passed as -X heapsize=<n>w: scaled to 64-bit words

# Alarm tones as heard (docs: hal_pico TONES; IEC 60601-1-8 two-tone critical): the plant's PWM
# records are grouped at silences >= TONE_GAP_MS and named by what was heard, not by the firmware.
TONE_GAP_MS = 1000
