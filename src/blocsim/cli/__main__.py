"""Allow ``python -m blocsim.cli``."""

from blocsim.cli.main import app

app(prog_name="blocsim")
