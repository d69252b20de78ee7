"""The clinical side: the drug library, prescriptions (TOML) and the dosing assistants."""
