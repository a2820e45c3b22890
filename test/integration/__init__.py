"""Integration tests: run against the dev environment (devenv).

Each test class derives from ``test.integration.env.IntegrationTest``, whose
nose2 layer brings the environment up once per test run.
"""
