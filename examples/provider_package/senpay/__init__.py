"""SenPay for asxh_pay: an adapter, its sandbox and the plugin that registers both."""
