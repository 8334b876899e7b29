"""Sandboxes: stateful fake providers with fault injection, in-process or served."""

from asxh_pay.sandbox.base import (
    FaultPlan,
    Operation,
    PaymentState,
    SandboxClock,
    SandboxPayment,
    SandboxProvider,
)

__all__ = ["FaultPlan", "Operation", "PaymentState", "SandboxClock", "SandboxPayment", "SandboxProvider"]
