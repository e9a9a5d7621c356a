"""Puente: a trilingual assistant for STUST trainees and examinees, with an escalation desk."""

__version__ = "0.1.0"
