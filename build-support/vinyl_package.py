# Pants BUILD-file macros (loaded through [GLOBAL].build_file_prelude_globs): the targets every
# distribution under packages/ has, so the BUILD files stay one line each and the globs pick up
# new modules and test files without new BUILD files.
#
# Pants takes a target's source root from the folder of its BUILD file, so a package's sources
# are declared by packages/<dist>/src/BUILD (source root packages/<dist>/src), and its tests,
# files and wheel by packages/<dist>/BUILD.


def vinyl_package_sources(**kwargs):
    """Declare the importable code of one distribution: every module under this src/ folder."""
    python_sources(name="src", sources=["**/*.py", "!**/backend_shim.py"], **kwargs)
    # py.typed and any other non-Python file the wheel ships.
    resources(name="data", sources=["**/*", "!**/*.py", "!**/*.pyc", "!BUILD"])


def vinyl_package(name, test_overrides=None, **kwargs):
    """Declare the tests, files and wheel of the distribution `name` in this folder.

    `test_overrides` is python_tests' `overrides`: extra dependencies of single test files.
    """
    python_test_utils(
        name="test_utils",
        sources=["tests/**/*.py", "!tests/**/test_*.py"],
    )
    # The package's test files run in batches, several files in one pytest process ([test]
    # batch_size): each process creates its test databases and migrates them once, and
    # Pants sets up its sandbox once, instead of once per file. Only one package's files
    # share a process: their conftest.py and module names are the package's own.
    python_tests(
        name="tests",
        sources=["tests/**/test_*.py"],
        overrides=test_overrides or {},
        batch_compatibility_tag=name,
    )
    # The package's tree as plain files, for tests that build or rewrite it
    # (tests/packaging, tools/release.py, tools/unasync.py).
    files(
        name="files",
        sources=[
            "pyproject.toml",
            "README.md",
            "CHANGELOG.md",
            "src/**/*",
            "tests/**/*",
            "!**/BUILD",
            "!**/backend_shim.py",
            "!**/__pycache__/**",
        ],
    )
    resource(name="pyproject", source="pyproject.toml")
    resource(name="readme", source="README.md")
    resource(name="changelog", source="CHANGELOG.md")
    python_distribution(
        name="dist",
        dependencies=[
            "./src:src@resolve=django61",
            "./src:data",
            ":pyproject",
            ":readme",
            ":changelog",
        ],
        provides=python_artifact(name=name),
        # Build with the PEP 517 backend the package's own pyproject.toml declares, so the
        # wheel Pants builds is the wheel `pip wheel packages/<name>` builds.
        generate_setup=False,
        sdist=True,
        wheel=True,
        **kwargs,
    )
