"""Published reference values (with sources and tolerances) that the tests reproduce."""
