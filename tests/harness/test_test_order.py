"""Target ids run in the order pytest collects them from their files, not in the dataset list's order."""

from __future__ import annotations

from swefarm.harness.test_order import collection_order

SOURCE = """import unittest


def test_b():
    pass


class ModPathTest(unittest.TestCase):
    def test_load_packages(self):
        pass

    def test_import_symlink(self):
        pass


class TestPlain:
    def test_z(self):
        pass

    def test_a(self):
        pass


def test_a():
    pass
"""


def test_ids_follow_definitions_testcase_methods_by_name_and_params_keep_their_order():
    ids = ["t.py::ModPathTest::test_load_packages", "t.py::test_a", "t.py::TestPlain::test_a",
           "o.py::test_x", "t.py::test_b[2]", "t.py::ModPathTest::test_import_symlink", "t.py::test_b[1]",
           "t.py::TestPlain::test_z", "t.py::ModPathTest::test_inherited"]  # fmt: skip
    ordered = collection_order(ids, {"t.py": SOURCE}.get, files=["t.py"])
    assert ordered == [
        "t.py::test_b[2]", "t.py::test_b[1]",  # parametrised: as given
        "t.py::ModPathTest::test_inherited",  # not in the class body: at its class
        "t.py::ModPathTest::test_import_symlink", "t.py::ModPathTest::test_load_packages",  # unittest sorts
        "t.py::TestPlain::test_z", "t.py::TestPlain::test_a",  # a plain class: as defined
        "t.py::test_a", "o.py::test_x",  # then the next file
    ]  # fmt: skip


def test_unreadable_files_keep_the_given_order():
    ids = ["a.py::test_2", "a.py::test_1", "b.py::test_0"]
    assert collection_order(ids, lambda path: None) == ids
    assert collection_order(ids, {"a.py": "def test_1(:\n"}.get) == ids  # not Python: as given
