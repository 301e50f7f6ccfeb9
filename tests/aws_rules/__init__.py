"""AWS behaviour that moto does not model faithfully, encoded from AWS's documentation for tests."""
