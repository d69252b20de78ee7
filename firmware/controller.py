"""The pump controller: pure, hardware-free; fed time and commands, returns replies/events.

Time only moves forward through `advance(t_s)`, which handles every scheduled happening
(bolus end, low reservoir, empty, ERI, EOS) at its exact computed time, in order, so the
state after advancing is the same however the interval is partitioned.
"""
from compat import const
from protocol import PumpError
import pumpmodel as pm
import schedule
import endoflife as eol
from delivery import Ledger
from alarms import Alarms, CATALOGUE as ALARMS
from fsm import Machine, ROWS, INITIAL
from store import StateStore
from eventlog import EventLog, CODES as LOG
from auth import Keyring

CHECKPOINT_S = const(900)  # persist delivered strokes at least every 15 min of delivery
# Scheduled happenings, in the order they are handled when due at the same second: the ERI
# is announced before an end of service it falls together with (issue 8, defect 6).
EVENT_ORDER = ("override_end", "low_reservoir", "reservoir_empty", "eri", "eos")


class Controller:
    def __init__(self, hal, model_id=20, serial="SIM00001", build="test"):
        self.hal = hal
        self.model_id = model_id
        self.model = pm.model(model_id)
        self.stroke_nl = self.model["stroke_nl"]
        self.serial = serial
        self.build = build
        self.store = StateStore(hal.flash)
        self.log = EventLog(hal.flash)
        self.ledger = Ledger()
        self.alarms = Alarms()
        self.fsm = Machine(ROWS, INITIAL, self)
        self.pushed = []              # (ev, data, t_s) waiting for the link
        self.t_s = 0                  # pump time processed so far
        self.clock_offset_s = 0       # pump time = hal.monotonic_s() + offset
        self.clock_set = False
        self.last_sync_t_s = None     # pump time of the last host time sync
        self.programme = None  # type: dict | None  # normalised programme
        self.plan = None
        self.initial_programme_t_s = None
        self.last_increase_t_s = None
        self.conc_ug_ml = 500
        self.fill_nl = 0
        self.refill_t_s = None
        self.strokes_fill = 0         # strokes since the last refill
        self.strokes_total = 0
        self.comms = 0
        self.drain_nah = 0            # test-build fault injection: extra drain
        self.implant_t_s = None
        self.eri_t_s = None
        self.settings = {"low_res_nl": pm.LOW_RES_DEFAULT_NL, "catheter_nl": pm.CATHETER_DEFAULT_NL,
                         "pb_dose_ng": 0, "pb_duration_min": 10, "pb_lockout_min": 180, "pb_max_24h": 0}
        self.profile = {}
        self.keyring = Keyring(dev_serial=serial if build == "test" else None)
        self.patient_boluses = []     # t_s of accepted patient boluses in the last 24 h
        self.bolus_doses = []         # [t_s, dose_ng] of clinician and patient boluses, last 24 h
        self.dose_history = []        # [t_s, daily_ng] of programme commits, last 30 days (restore)
        self.bolus_kind = None
        self.staged = None            # (kind, payload, hash) - volatile by design
        self._events = {}             # kind -> t_s of the next scheduled happening
        self._last_save_t = 0
        self._dirty = False           # a log entry, alarm or transition not yet on flash
        self._now = 0                 # time used by FSM actions
        self._trigger = None          # the trigger being fired (actions log what caused them)
        self.role = None              # role of the command being handled (log fields)
        self._resume_after_boot = False
        self.reboot_pending = False   # set by sim_reset: answer, then reboot on the next tick

    # --- clock -----------------------------------------------------------------------
    def now_s(self):
        t = self.hal.monotonic_s() + self.clock_offset_s
        return t if t > self.t_s else self.t_s

    # --- derived quantities ------------------------------------------------------------
    def reservoir_nl(self, t_s=None):
        v = self.fill_nl - self.ledger.volume_nl(self.t_s if t_s is None else t_s)
        return v if v > 0 else 0

    def daily_ng(self):
        if self.plan is None:
            return 0
        totals = self.plan.day_totals_ng()
        return sum(t for _, t in totals) // len(totals)

    def strokes_per_day(self):
        return pm.flow_nl_day(self.daily_ng(), self.conc_ug_ml) // self.stroke_nl

    def battery_remaining_nah(self, t_s):
        return eol.remaining_nah(self, t_s)

    # --- commands --------------------------------------------------------------------------
    def command(self, cmd, args, role):
        """Entry point for the link: advance to now, run the handler, persist."""
        import dispatch
        handler = dispatch.handlers().get(cmd)
        if handler is None:
            raise PumpError("E_UNKNOWN_CMD", cmd)
        if self.reboot_pending:
            raise PumpError("E_STATE", "rebooting after a factory reset")
        t = self.now_s()
        self.advance(t)
        self.comms += 1
        self.role = role
        try:
            dispatch.check_args(cmd, args or {})   # the schema, before any handler (issue 8, defect 5)
            res = handler(self, args or {}, t)
        except PumpError:
            # A refusal that was logged (bolus_refused, fill_rejected, ...) is persisted
            # before the error reply goes out, like any other log entry.
            if self._dirty and not self.reboot_pending:
                self.save()
            raise
        if cmd not in dispatch.READ_ONLY and not self.reboot_pending:
            self.save()
        return res

    # --- FSM guards and actions (names used by fsm.ROWS) ----------------------------------
    def has_programme(self):
        return self.programme is not None and self._resume_after_boot

    def bolus_running(self):
        # A bridge runs while infusing (refill_commit); any other override is a bolus.
        return (self.has_programme() and self.bolus_kind not in (None, "bridge")
                and self.ledger.next_override_end(self._now) is not None)

    def can_deliver(self):
        return (self.programme is not None and not self.alarms.has_critical()
                and self.reservoir_nl(self._now) > 0 and "eos" not in self.alarms.active)

    def no_critical_alarm(self):
        return not self.alarms.has_critical()

    def start_delivery(self):
        self.ledger.rebase(self._now, plan=self.plan)
        # Anything programmed but not delivered while stopped is written off: resuming
        # never starts with a catch-up burst (labeling: overdose is the other hazard).
        due = self.ledger.volume_nl(self._now) // self.stroke_nl
        if due > self.strokes_fill:
            self.strokes_fill = due
        self._log("resume")
        if not self.ledger.overrides:   # a bolus or bridge that ended while the pump was down
            self.bolus_kind = None

    def restart_delivery(self):
        self.ledger.rebase(self._now, plan=self.plan)

    def stop_delivery(self):
        running = self.ledger.plan is not None or self.ledger.overrides
        self.ledger.rebase(self._now, plan=None, keep_plan=False)
        self.ledger.overrides = []
        self.bolus_kind = None
        if running:   # one "stop" per stop of delivery (not again when EOS follows a critical alarm)
            self._log("stop")

    def start_bolus(self):
        pass

    def end_bolus(self):
        # Drug the bolus gave (its overrides up to now), as volume: label ng * 1000 / (mcg/mL).
        ng_s = 0
        for t0, t1, rate, _ in self.ledger.overrides:
            ng_s += rate * max(0, min(t1, self._now) - t0)
        self.ledger.clear_overrides(self._now)
        self._log("bolus_end", ng_s * 1000 // (pm.DAY_S * self.conc_ug_ml),
                  1 if self._trigger == "bolus_cancel" else 0)
        self._push("bolus_finished", {"kind": self.bolus_kind or "bolus"})
        self.bolus_kind = None

    def apply_refill(self):
        pass

    def fire(self, trigger, t_s):
        self._now = t_s
        self._trigger = trigger
        if not self.fsm.fire(trigger):
            raise PumpError("E_STATE", "'%s' not allowed in state %s" % (trigger, self.fsm.state))
        self._dirty = True
        self.reschedule(t_s)

    # --- events, alarms, log -------------------------------------------------------------
    def _log(self, name, a=0, b=0):
        try:
            self.log.append(self._now, LOG[name], a, b)
            self._dirty = True
        except PumpError:
            self.raise_alarm("memory", self._now, log=False)

    def _push(self, ev, data):
        self.pushed.append((ev, data, self._now))

    def raise_alarm(self, name, t_s, log=True):
        if not self.alarms.raise_(name, t_s):
            return
        self._now = t_s
        self._dirty = True            # latched: on flash before the tick or reply returns
        if log:
            self._log("alarm_raised", ALARMS[name][0])
        self.hal.buzzer(self.alarms.pattern())
        self.hal.led("alarm")
        self._push("alarm_raised", {"name": name, "class": ALARMS[name][1]})
        if self.alarms.has_critical() and self.fsm.state in ("infusing", "bolus", "stopped"):
            self.fire("critical_alarm", t_s)

    def reschedule(self, t_s):
        """Recompute when each scheduled happening falls (forecasts from the exact schedule)."""
        ev = {}
        end = self.ledger.next_override_end(t_s)
        if end is not None:
            ev["override_end"] = end
        if self.ledger.plan is not None or self.ledger.overrides:
            # Forecast even while the alarm is latched (the next date after a refill matters);
            # raising an already-active alarm is a no-op.
            ev["low_reservoir"] = self.ledger.first_t_reaching(self.fill_nl - self.settings["low_res_nl"], t_s)
            ev["reservoir_empty"] = self.ledger.first_t_reaching(self.fill_nl, t_s)
        if self.implant_t_s is not None and "eos" not in self.alarms.active:
            # ERI always 90 days before EOS, whatever ends service (endoflife.py).
            eri = self.eri_t_s
            if eri is None:
                eri = ev["eri"] = eol.eri_due_t_s(self, t_s)
            ev["eos"] = eol.eos_t_s(self, t_s, eri)
        self._events = {}
        for k in ev:
            if ev[k] is not None:
                self._events[k] = ev[k]

    def next_event(self):
        best_k, best_t = None, None
        ev = self._events
        for k in EVENT_ORDER:   # fixed order on ties (dict order differs between runtimes)
            t = ev.get(k)
            if t is not None and (best_t is None or t < best_t):
                best_k, best_t = k, t
        return best_k, best_t

    def _handle(self, kind, t_s):
        self._now = t_s
        if kind == "override_end":
            if self.fsm.state == "bolus":
                self.fire("bolus_end", t_s)
            else:
                self.ledger.clear_overrides(t_s)
                if self.bolus_kind:
                    self._push("bolus_finished", {"kind": self.bolus_kind})
                self.bolus_kind = None
                self.reschedule(t_s)
        elif kind == "eri":
            self.eri_t_s = t_s
            self._log("eri")
            self.raise_alarm("eri", t_s)
            self.reschedule(t_s)
        elif kind == "eos":
            self._log("eos")
            self.raise_alarm("eos", t_s)
            if self.fsm.state != "end_of_life":
                self.fire("eos", t_s)
            self._events.pop("eos", None)
        else:  # low_reservoir / reservoir_empty
            self._events.pop(kind, None)
            self.raise_alarm(kind, t_s)

    # --- time ----------------------------------------------------------------------------
    def _deliver_to(self, t_s):
        due = self.ledger.volume_nl(t_s) // self.stroke_nl
        cap = self.fill_nl // self.stroke_nl
        if due > cap:
            due = cap
        k = due - self.strokes_fill
        if k > 0 and self.fsm.state in ("infusing", "bolus"):
            done = self.hal.motor_strokes(k)
            # Strokes that did not complete are written off, never re-issued: after a
            # stall the motor stays still, and the reservoir estimate errs low.
            self.strokes_fill += k
            self.strokes_total += done
            if done < k:
                self._now = t_s
                self._log("stall", k, done)
                self.raise_alarm("motor_stall", t_s)

    def advance(self, t_s):
        """Process everything up to pump time t_s, in time order."""
        if t_s < self.t_s:
            t_s = self.t_s
        while True:
            kind, t_ev = self.next_event()
            if t_ev is None or t_ev > t_s:
                break
            if t_ev < self.t_s:
                t_ev = self.t_s
            self._deliver_to(t_ev)
            self.t_s = t_ev
            self._handle(kind, t_ev)
        self._deliver_to(t_s)
        self.t_s = t_s
        pat = self.alarms.tone_due(t_s)
        if pat is not None:
            self.hal.buzzer(pat)
        # Persist before announcing (issue 8, defect 1): anything this advance logged, latched
        # or changed state for is saved before the tick returns; else checkpoint strokes.
        if self._dirty or (t_s - self._last_save_t >= CHECKPOINT_S and self.ledger.plan is not None):
            self.save()

    def next_due_s(self):
        """Pump time of the next stroke, scheduled happening or alarm tone."""
        _, t = self.next_event()
        nxt = self.ledger.first_t_reaching((self.strokes_fill + 1) * self.stroke_nl, self.t_s) \
            if self.ledger.plan is not None or self.ledger.overrides else None
        for c in (nxt, self.alarms.next_due_s(), self._last_save_t + CHECKPOINT_S if nxt else None):
            if c is not None and (t is None or c < t):
                t = c
        return t

    # --- persistence ----------------------------------------------------------------------
    PERSIST = ("clock_offset_s", "clock_set", "last_sync_t_s", "programme", "initial_programme_t_s",
               "last_increase_t_s",
               "conc_ug_ml", "fill_nl", "refill_t_s", "strokes_fill", "strokes_total", "comms", "drain_nah",
               "implant_t_s", "eri_t_s", "settings", "profile", "keyring", "patient_boluses", "bolus_doses", "dose_history", "bolus_kind")

    def snapshot(self):
        d = {"t_s": self.t_s, "state": self.fsm.state, "ledger": self.ledger.to_dict(),
             "alarms": self.alarms.to_dict()}
        for k in self.PERSIST:
            d[k] = getattr(self, k)
        d["keyring"] = self.keyring.to_dict()
        # The state save is the commit point of every logged change: boot discards log
        # entries newer than this seq (a cut rolled their change back; issue 8, defect 3).
        d["log_seq"] = self.log.last_seq
        return d

    def save(self):
        self._last_save_t = self.t_s
        self._dirty = False
        try:
            self.store.save(self.snapshot())
        except PumpError:
            self.raise_alarm("memory", self.t_s)

    def boot(self):
        """Self-test and restore. After an unclean reset the reservoir estimate errs low."""
        self._resume_after_boot = False
        try:
            d = self.store.load()
        except OSError:
            d = None
        corrupt = d is None and (self.hal.flash.read("state.a") is not None
                                 or self.hal.flash.read("state.b") is not None)
        mono = self.hal.monotonic_s()
        rtc = self.hal.rtc_s()
        # Log entries newer than the committed state describe changes a cut rolled back.
        discard_failed = d is not None and "log_seq" in d and self.log.discard_after(d["log_seq"]) < 0
        if d is not None:
            for k in self.PERSIST:
                if k in d and k != "keyring":
                    setattr(self, k, d[k])
            self.keyring = Keyring.from_dict(d.get("keyring"), self.keyring.dev_serial)
            self.alarms.load(d["alarms"])
            if self.programme is not None:
                self.plan = schedule.Plan(self.programme)
            self.ledger.load(d["ledger"], self.plan)
            self._resume_after_boot = d["ledger"]["running"] or d["state"] == "bolus"
            # Without a trusted RTC assume a whole checkpoint interval elapsed (and was
            # delivered): the estimate errs low and no dose is ever delivered twice.
            t_boot = d["t_s"] + CHECKPOINT_S
            if rtc is not None and rtc >= d["t_s"]:
                t_boot = rtc
            self.t_s = d["t_s"]
            self._now = t_boot
            assumed = self.ledger.volume_nl(t_boot) // self.stroke_nl
            cap = self.fill_nl // self.stroke_nl
            assumed = cap if assumed > cap else assumed
            extra = assumed - self.strokes_fill if assumed > self.strokes_fill else 0
            self.strokes_total += extra
            self.strokes_fill += extra
            # (time of the last saved state, volume assumed delivered since: eventlog.ARGS)
            self._log("reset_unclean", d["t_s"], extra * self.stroke_nl)
            if discard_failed:   # the log may hold entries the state does not: say so
                self.raise_alarm("memory", t_boot)
        else:
            t_boot = rtc if rtc is not None else 0
            self._now = t_boot
            self.implant_t_s = t_boot   # the battery model starts with the pump's first boot
            self._log("boot")
        self.clock_offset_s = t_boot - mono
        self.t_s = t_boot
        self._now = t_boot
        if "eos" in self.alarms.active:
            self.fire("eos", t_boot)
        elif corrupt or self.alarms.has_critical():
            if corrupt:
                self.alarms.raise_("memory_critical", t_boot)
            self.fire("self_test_fail", t_boot)
        else:
            self.fire("self_test_pass", t_boot)
        self.hal.led("alarm" if self.alarms.active else "ok")
        self._push("boot", {"state": self.fsm.state, "unclean": d is not None})
        self.save()

