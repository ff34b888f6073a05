"""Builds the compiled scoring kernel (``moderation._kernel``); everything else is in pyproject.toml.

The extension is optional: where it cannot be compiled the package installs without
it and scores with the numpy reference path, to the same results.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

kernel = Extension("moderation._kernel", ["moderation/_kernel.pyx"], optional=True,
                   # float results must match numpy's bit for bit: no fused multiply-add, no fast math
                   extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math"])

setup(ext_modules=cythonize([kernel], compiler_directives={"language_level": "3"}))
