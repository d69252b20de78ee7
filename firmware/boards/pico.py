"""Raspberry Pi Pico (RP2040) bench wiring: pin map and driver timing, data only.

Another wiring = a copy of this module with other numbers, selected in main.py.
Pin numbers are RP2040 GPIO numbers ("GPn" on the Pico pinout); "LED" is the board
LED name MicroPython's rp2 port accepts on both the Pico (GP25) and the Pico W.
Wiring table and bring-up checklist: docs/board.md.
"""
from compat import const

NAME = "rpi-pico"

# --- stepper driver (A4988 / DRV8825 class) ------------------------------------------
STEP_PIN = const(2)          # GP2 -> driver STEP (a step on each rising edge)
DIR_PIN = const(3)           # GP3 -> driver DIR
ENABLE_PIN = const(4)        # GP4 -> driver /ENABLE (active low on A4988 and DRV8825)
ENABLE_ACTIVE = const(0)     # level that enables the driver outputs
DIR_FORWARD = const(1)       # DIR level that advances the piston (dispensing direction)

# One pump stroke (pumpmodel.STROKE_NL = 250 nL) is one full turn of a 1.8 deg motor:
# 200 full steps (driver MS1..MS3 strapped for full-step mode). Mechanism-specific.
STEPS_PER_STROKE = const(200)
# A4988 datasheet: STEP high and low >= 1 us; DIR/ENABLE setup 200 ns. DRV8825: 1.9 us.
STEP_HIGH_US = const(4)
STEP_PERIOD_US = const(1000)  # 1 kHz step rate -> 200 ms per stroke
ENABLE_SETTLE_US = const(2000)  # DRV8825 wake-up from sleep needs 1.7 ms; A4988 1 ms

# --- stall sense -----------------------------------------------------------------------
# Open-drain "fault/stall" line (DRV8825 nFAULT, or an end-of-stroke/encoder comparator
# on A4988 boards), pulled up; sampled after every step. Active level = stroke failed.
STALL_PIN = const(5)         # GP5 <- stall / nFAULT
STALL_ACTIVE = const(0)      # low = stalled / fault
STALL_PULL_UP = True

# --- annunciators -------------------------------------------------------------------------
BUZZER_PIN = const(15)       # GP15 -> PWM -> transistor -> piezo/magnetic buzzer
BUZZER_DUTY_U16 = const(32768)  # 50 % duty: loudest square wave
LED_PIN = "LED"              # on-board LED (GP25 on the Pico)

# --- battery -------------------------------------------------------------------------------
# The Pico measures VSYS through its on-board 200k/100k divider on GPIO29 = ADC3
# (Raspberry Pi Pico datasheet, "Powering Pico": VSYS/3 on ADC3). The cell feeds VSYS.
VSYS_ADC = const(29)
VSYS_DIVIDER = const(3)
ADC_VREF_MV = const(3300)    # ADC reference = 3V3 rail
ADC_SAMPLES = const(8)       # averaged per reading

# --- safe mode -----------------------------------------------------------------------------
# Jumper this pin to GND and reset: main.py does not start the pump and leaves the REPL
# on USB (needed for `make flash` once the pump firmware owns the serial line).
SAFE_MODE_PIN = const(22)    # GP22, pulled up; low at reset = stay in the REPL

# --- host link -------------------------------------------------------------------------------
# "usb": the protocol runs on the USB-CDC serial (sys.stdin/sys.stdout). The REPL is detached.
LINK = "usb"
LOOP_PERIOD_MS = const(100)  # control tick (docs/design.md: board calls tick every 100 ms)
WDT_TIMEOUT_MS = const(8000)  # RP2040 watchdog max is ~8.3 s (RP2040 datasheet 4.7)
RX_MAX_PER_LOOP = const(512)  # bytes read per loop iteration at most (and never past one newline)
# Collect once this much was allocated since the last collect (gc.threshold): a 15-min state save
# allocates ~7 KB, so garbage stays well under the ~190 KB heap and allocations do not fail on
# fragmentation (issue 9: a reply allocation failed on a full, fragmented heap on the board twin).
GC_THRESHOLD_BYTES = const(16384)
