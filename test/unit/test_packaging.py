"""What ``pip install .`` puts into an operator's site-packages: the product and nothing else.

The dev environment (with its fault-injecting proxy), the benchmark and the tests live in the
checkout only. The wheel is built offline, from what the test venv already has.
"""
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRODUCT = 's3_sync'
CHECKOUT_ONLY = ('devenv', 'bench', 'test', 'tools')
BUILD_TIMEOUT = 300


def build_wheel(workdir):
    """Path of a wheel of the checkout, built in ``workdir``."""
    # From a copy: setuptools builds inside the source tree (build/lib) and a wheel takes
    # whatever an earlier build left there, so only a clean copy shows what setup.cfg selects.
    src = os.path.join(workdir, 'src')
    shutil.copytree(REPO_ROOT, src, ignore=shutil.ignore_patterns(
        '.git', '.venv', 'build', 'dist', '*.egg-info', '__pycache__', '*.pyc'))
    out = os.path.join(workdir, 'wheels')
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
         '--no-index', '-q', '-w', out, src],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=env, timeout=BUILD_TIMEOUT)
    if proc.returncode:
        raise AssertionError('pip wheel failed (%d):\n%s' % (
            proc.returncode, proc.stdout.decode('utf-8', 'replace')))
    wheels = [name for name in os.listdir(out) if name.endswith('.whl')]
    if len(wheels) != 1:
        raise AssertionError('expected one wheel in %s, found %r' % (out, wheels))
    return os.path.join(out, wheels[0])


def product_modules():
    """Paths (relative to the repo root, '/'-separated) of every module of the product."""
    paths = []
    for root, dirs, files in os.walk(os.path.join(REPO_ROOT, PRODUCT)):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in files:
            if name.endswith('.py'):
                rel = os.path.relpath(os.path.join(root, name), REPO_ROOT)
                paths.append(rel.replace(os.sep, '/'))
    return sorted(paths)


class TestWheel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        workdir = tempfile.mkdtemp(prefix='s3sync-wheel-')
        try:
            with zipfile.ZipFile(build_wheel(workdir)) as wheel:
                cls.names = wheel.namelist()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def test_wheel_contains_only_the_product(self):
        top = {name.split('/')[0] for name in self.names}
        dist_info = {t for t in top if t.endswith('.dist-info')}
        self.assertEqual(len(dist_info), 1, sorted(top))
        self.assertEqual(top - dist_info, {PRODUCT})

    def test_wheel_holds_every_module_of_the_product(self):
        missing = sorted(set(product_modules()) - set(self.names))
        self.assertEqual(missing, [])


class TestProductImports(unittest.TestCase):
    def test_product_imports_nothing_that_stays_in_the_checkout(self):
        offenders = []
        for rel in product_modules():
            with open(os.path.join(REPO_ROOT, rel), 'rb') as f:
                tree = ast.parse(f.read(), rel)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    modules = [node.module]
                else:
                    continue
                offenders += ['%s:%d %s' % (rel, node.lineno, module) for module in modules
                              if module.split('.')[0] in CHECKOUT_ONLY]
        self.assertEqual(offenders, [])


if __name__ == '__main__':
    unittest.main()
