"""Load tests (`triggers load`, `make load`): locust in a subprocess, the thresholds judged here."""
