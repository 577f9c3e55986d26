"""The core every function shares: the event contract, settings, clients, errors and one
data-access module per table. It imports nothing from the HTTP routes, processors or devtools."""
