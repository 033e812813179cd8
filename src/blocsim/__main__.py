"""Allow ``python -m blocsim``."""

from blocsim.cli.main import app

app(prog_name="blocsim")
