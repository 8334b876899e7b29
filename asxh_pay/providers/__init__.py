"""Provider adapters: one module per provider, all on :mod:`asxh_pay.providers.base`."""
