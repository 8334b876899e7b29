"""asxh_pay: cashless payment of Vietnam's social benefits (ASXH).

One payout interface over pluggable provider adapters (banks via ISO 20022,
the postal service, mobile-money wallets), with a durable ledger that pays
each beneficiary at most once per programme and pay period.
"""

__version__ = "0.1.0"
