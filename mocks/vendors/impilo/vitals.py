"""Clinically plausible readings: one person's usual values, and a day's reading drawn around them.

A patient's `Baseline` is drawn once from a source keyed by the patient (so the seed, the simulator and a
restart agree), and each reading varies around it with a slow few-week rhythm and small noise: a blood
pressure series looks like one person's, not like noise. Ranges are adult ones (AHA blood pressure
categories, fasting and post-meal glucose, SpO2 94-100 %, body temperature in Fahrenheit). Pure functions
of a `random.Random`; nothing here reads the store.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

# The reading type an item class produces (seed catalogue `itemClass` -> READING_TYPES key).
KIND_OF_ITEM_CLASS = {
    "bloodPressure": "bloodPressure", "weight": "weight", "bloodOxygen": "bloodOxygen",
    "bloodGlucose": "bloodGlucose", "temperature": "temperature", "peakFlow": "peakFlow",
    "sleepMat": "sleepMatDuration",
}  # fmt: skip
# Units the server adds, where the vendor documents the unit's one value.
UNITS: dict[str, dict[str, str]] = {
    "bloodPressure": {"systolicUnit": "mmhg", "diastolicUnit": "mmhg"},
    "bloodGlucose": {"glucoseUnit": "mgdl"},
    "weight": {"weightUnit": "lbs"},
}
TIME_ZONES = (-18000, -21600, -25200, -28800)  # US Eastern .. Pacific standard offsets, in seconds


@dataclass(frozen=True)
class Baseline:
    """One person's usual values."""

    systolic: float
    diastolic: float
    heart_rate: float
    glucose: float
    weight: float
    spo2: float
    temperature: float
    peak_flow: float
    hrv: float
    sleep_minutes: float
    time_zone: int


def source(seed: int, key: str) -> random.Random:
    """A random source of its own for one key, fixed by the app's seed."""
    return random.Random(f"{seed}:{key}")


def baseline(rng: random.Random) -> Baseline:
    systolic = rng.uniform(112, 152)  # normal .. stage 2 hypertension
    return Baseline(
        systolic=systolic,
        diastolic=systolic * rng.uniform(0.58, 0.66),
        heart_rate=rng.uniform(60, 84),
        glucose=rng.uniform(88, 135),  # fasting: normal .. diabetic
        weight=rng.uniform(125, 250),
        spo2=rng.uniform(95.5, 98.5),
        temperature=rng.uniform(97.6, 98.8),
        peak_flow=rng.uniform(330, 560),
        hrv=rng.uniform(25, 65),
        sleep_minutes=rng.uniform(360, 480),
        time_zone=rng.choice(TIME_ZONES),
    )


def values(kind: str, base: Baseline, rng: random.Random, day: float, morning: bool = True) -> dict[str, Any]:
    """The measured values of one `kind` reading on `day` (days since any fixed start): the person's
    baseline, a slow rhythm of a few weeks and a little noise, within plausible bounds."""
    rhythm = math.sin(2 * math.pi * day / 23)
    heart_rate = round(_clamp(base.heart_rate + 3 * rhythm + rng.gauss(0, 4), 45, 130))
    if kind == "bloodPressure":
        systolic = _clamp(base.systolic + 5 * rhythm + (4 if morning else 0) + rng.gauss(0, 5), 90, 200)
        diastolic = _clamp(base.diastolic + 0.4 * (systolic - base.systolic) + rng.gauss(0, 3), 55, 120)
        return {"systolic": round(systolic), "diastolic": round(diastolic), "heartRate": heart_rate,
                "heartRateUnit": "bpm"}  # fmt: skip
    if kind == "bloodGlucose":
        after = not morning
        glucose = base.glucose + (38 if after else 0) + 6 * rhythm + rng.gauss(0, 12 if after else 7)
        return {"glucose": round(_clamp(glucose, 60, 320)), "beforeMeal": not after, "afterMeal": after}
    if kind == "weight":
        return {"weight": round(base.weight + 0.02 * day + 0.8 * rhythm + rng.gauss(0, 0.5), 1)}
    if kind == "bloodOxygen":
        return {"bloodOxygen": round(_clamp(base.spo2 + rng.gauss(0, 0.8), 90, 100)), "heartRate": heart_rate,
                "heartRateUnit": "bpm"}  # fmt: skip
    if kind == "temperature":
        return {"temperature": round(_clamp(base.temperature + rng.gauss(0, 0.25), 96.5, 100.4), 1),
                "temperatureUnit": "fahrenheit"}  # fmt: skip
    if kind == "heartRate":
        return {"heartRate": heart_rate}
    if kind == "heartRateVariability":
        return {"heartRateVariability": round(_clamp(base.hrv + 4 * rhythm + rng.gauss(0, 5), 8, 120), 1),
                "heartRate": heart_rate, "heartRateVariabilityDuration": 300000,
                "heartRateVariabilityAlgorithmType": "sdnn"}  # fmt: skip
    if kind == "peakFlow":
        flow = base.peak_flow * (1 + 0.05 * rhythm + rng.gauss(0, 0.04))
        return {"peakExpiratoryFlow": round(flow), "forcedExpiratoryVolume": round(flow * 0.0075, 2)}
    minutes = round(_clamp(base.sleep_minutes + 20 * rhythm + rng.gauss(0, 30), 180, 660))
    sleep = {"duration": f"PT{minutes // 60}H{minutes % 60}M", "heartRate": round(base.heart_rate - 8),
             "respiration": rng.randint(12, 17), "bodyTurnOver": rng.randint(6, 24)}  # fmt: skip
    if kind == "sleepMatDuration":
        deep, rem = round(minutes * rng.uniform(0.13, 0.23)), round(minutes * rng.uniform(0.18, 0.25))
        return {**sleep, "deepSleep": deep, "rem": rem, "lightSleep": minutes - deep - rem}
    return sleep  # sleepMatActivity: bedTime/getUpTime are times, added by the caller


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
