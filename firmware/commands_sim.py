"""Simulation command handlers (sim_warp, sim_fault, sim_reset): test builds only.

`make firmware KIND=clinical` leaves this module out of the image (with hal_sim), so a clinical
pump does not carry the code that warps its clock, injects faults or erases it; the link refuses
the commands before dispatch on a clinical build either way (E_TEST_BUILD_ONLY). Left out, it
also keeps the clinical image within the 64 KiB budget (issue 9; docs/design.md, RAM)."""
from argspec import given
from protocol import PumpError


def sim_warp(ctl, args, t):
    secs = args["seconds"]   # argspec: required, 1..MAX_WARP_S
    ctl.clock_offset_s += secs
    ctl.advance(t + secs)
    if hasattr(ctl.hal, "set_rtc_s"):   # the RTC lives through the warped time too (issue 8, defect 10)
        ctl.hal.set_rtc_s(ctl.t_s)
    return {"t_s": ctl.t_s, "state": ctl.fsm.state, "alarms": sorted(ctl.alarms.active),
            "reservoir_nl": ctl.reservoir_nl()}


def sim_fault(ctl, args, t):
    f = args["fault"]   # argspec: required, one of SIM_FAULTS; every count below is range-checked there
    if f == "battery_drain":
        nah = args.get("nah")
        if nah is None:     # the one field the schema cannot require: only this fault needs it
            raise PumpError("E_BAD_ARGS", "nah: missing; battery_drain needs the charge to drain (nAh)")
        ctl.drain_nah += nah
        ctl.reschedule(t)
    elif f == "flash_fail":
        ctl.hal.flash.fail_writes = given("sim_fault", args, "writes")
    elif f == "power_loss":
        # Tear the state write we are about to do: the pump dies mid-write (PowerLoss
        # propagates to the runner, which reboots the firmware on the same flash).
        ctl.hal.flash.tear_next_write_after = given("sim_fault", args, "after_bytes")
        ctl.save()
    elif f == "serial_noise":
        ctl.hal.inject(f, given("sim_fault", args, "ppm"))
    else:
        ctl.hal.inject(f, given("sim_fault", args, "count"))
    return {"fault": f}


def sim_reset(ctl, args, t):
    """Factory reset (test builds; the link refuses it on clinical ones): erase the persisted
    state, the event log and the keys, answer, then reboot: the runtime raises PowerLoss on its
    next tick and the runner (emulator supervisor, board main.py) boots the firmware again on
    the erased flash; its first pushed event is `boot` (docs/hil.md, "Factory reset")."""
    hal = ctl.hal
    if hasattr(hal, "set_rtc_s"):   # the pump clock goes on from the RTC after the reboot
        hal.set_rtc_s(t)
    for role in ctl.keyring.roles():
        ctl.keyring.remove(role)
    ctl.store.erase()
    flash = hal.flash
    flash.remove(ctl.log.name)
    if hasattr(flash, "names"):     # anything else the firmware keeps on flash
        for name in flash.names():
            # except auth's boot number and lockouts: a monotonic security counter survives a
            # factory reset, or challenges (and recorded dev-key logins) would repeat (issue 8)
            if name[:5] != "auth.":
                flash.remove(name)
    ctl.reboot_pending = True       # nothing may write flash again before the reboot
    return {"rebooting": True}
