"""The example's Django app: two models with a plain manager and a vinyl one."""
